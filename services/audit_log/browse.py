"""Reading the sealed log a page at a time, newest first, for people (/ai-audit).

A page is keyed by seq, never by offset: events sealed while someone reads move no page, and
a page deep in the log costs an index range scan, not a count of everything before it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from models.audit import AuditEvent
from services.audit_log.query import AuditFilter, event_record, page

OLDER = "older"
NEWER = "newer"


@dataclass(frozen=True)
class Page:
    events: list[dict[str, Any]]  # event_record()s, newest first
    newer: bool  # sealed events matching the filter exist above the first shown
    older: bool  # … and below the last shown


def _any(session: Session, flt: AuditFilter) -> bool:
    return session.scalar(select(AuditEvent.id).where(*flt.conditions()).limit(1)) is not None


def newest_first(session: Session, flt: AuditFilter, *, limit: int, direction: str | None = None,
                 cursor: int | None = None) -> Page:
    """The page of sealed events matching `flt`: the newest (no cursor), those just older than
    seq `cursor` (OLDER) or just newer than it (NEWER)."""
    if direction == NEWER and cursor is not None:
        rows = list(reversed(page(session, replace(flt, after_seq=cursor), limit=limit)))
    else:
        before = cursor if direction == OLDER else None
        rows = page(session, replace(flt, before_seq=before), limit=limit, descending=True)
    if rows:
        top, bottom = rows[0].seq, rows[-1].seq
        newer = _any(session, replace(flt, after_seq=top))
        older = _any(session, replace(flt, before_seq=bottom))
    else:  # nothing on this side of the cursor (a purge, or an altered cursor)
        newer = direction == OLDER and cursor is not None and _any(session, replace(flt, after_seq=cursor - 1))
        older = direction == NEWER and cursor is not None and _any(session, replace(flt, before_seq=cursor + 1))
    return Page([event_record(e) for e in rows], newer=newer, older=older)
