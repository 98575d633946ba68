"""Which sealed events a reader asked for: one filter shared by /ai-audit, the API and export."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlmodel import Session

from models.audit import AuditEvent
from services.audit_log.canonical import timestamp

ACTION_PATTERN = re.compile(r"^[a-z0-9_.]+(\.\*)?$|^\*$")
# What people type in `entity:request:42` → what the log calls the entity.
ENTITY_ALIASES = {"request": "approval_request", "incident": "incident", "usecase": "usecase",
                  "use_case": "usecase", "vendor": "vendor"}


class FilterError(ValueError):
    """A filter the reader wrote that means nothing; the message says what was expected."""


@dataclass(frozen=True)
class AuditFilter:
    since: datetime | None = None
    until: datetime | None = None
    after_seq: int | None = None
    before_seq: int | None = None
    actions: tuple[str, ...] = ()
    actor: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    entities: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def conditions(self) -> list[Any]:
        c: list[Any] = [AuditEvent.seq.is_not(None)]
        if self.since is not None:
            c.append(AuditEvent.at >= self.since)
        if self.until is not None:
            c.append(AuditEvent.at < self.until)
        if self.after_seq is not None:
            c.append(AuditEvent.seq > self.after_seq)
        if self.before_seq is not None:
            c.append(AuditEvent.seq < self.before_seq)
        if self.actions:
            c.append(or_(*(action_condition(a) for a in self.actions)))
        if self.actor is not None:
            c.append(AuditEvent.actor == self.actor)
        if self.entity_type is not None:
            c.append(AuditEvent.entity_type == self.entity_type)
        if self.entity_id is not None:
            c.append(AuditEvent.entity_id == self.entity_id)
        if self.entities:
            c.append(or_(*(and_(AuditEvent.entity_type == t, AuditEvent.entity_id == i)
                           for t, i in self.entities)))
        return c


def action_condition(pattern: str) -> Any:
    """`approval.*` is a prefix; anything else is the exact action name."""
    if not ACTION_PATTERN.match(pattern):
        raise FilterError(f"action `{pattern}` is not an action name or a prefix like approval.*")
    if pattern == "*":
        return AuditEvent.action.is_not(None)
    if pattern.endswith(".*"):
        prefix = pattern[:-1]
        return AuditEvent.action.startswith(prefix, autoescape=True)
    return AuditEvent.action == pattern


def parse_entity(text: str) -> tuple[str, str]:
    """`request:42` → ("approval_request", "42"); the raw log name works too."""
    kind, sep, ident = text.partition(":")
    if not sep or not kind or not ident:
        raise FilterError(f"entity `{text}` should look like request:42 or incident:7")
    return ENTITY_ALIASES.get(kind, kind), ident


_DURATION = re.compile(r"^(\d{1,5})([mhdw])$")
_UNIT = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, *, now: datetime) -> datetime:
    """`7d`, `12h`, `30m`, `2w` back from now, or an ISO date/time (UTC when it has no zone)."""
    if match := _DURATION.match(text):
        return now - timedelta(**{_UNIT[match.group(2)]: int(match.group(1))})
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise FilterError(f"`{text}` is not a duration like 7d or a date like 2026-11-01") from None
    return at if at.tzinfo else at.replace(tzinfo=now.tzinfo)


def statement(flt: AuditFilter, *, limit: int | None = None,
              descending: bool = False) -> Select:
    order = AuditEvent.seq.desc() if descending else AuditEvent.seq
    stmt = select(AuditEvent).where(*flt.conditions()).order_by(order)
    return stmt.limit(limit) if limit is not None else stmt


def page(session: Session, flt: AuditFilter, *, limit: int,
         descending: bool = False) -> list[AuditEvent]:
    return list(session.scalars(statement(flt, limit=limit, descending=descending)))


def event_record(event: AuditEvent) -> dict[str, Any]:
    """An event as readers outside get it (API, export, the audit log line): every field that
    was hashed, in the canonical spelling, and its seal."""
    return {
        "seq": event.seq, "id": event.id, "at": timestamp(event.at), "actor": event.actor,
        "action": event.action, "entity_type": event.entity_type, "entity_id": event.entity_id,
        "payload": event.payload, "request_id": event.request_id, "leaf_hash": event.leaf_hash,
    }


def stream(session: Session, flt: AuditFilter, *, chunk: int = 1000) -> Iterator[AuditEvent]:
    """Every matching event in seq order, read in keyset pages so memory stays bounded on any
    database (PostgreSQL and SQLite alike) and no long transaction holds a snapshot open."""
    after = flt.after_seq
    while True:
        batch = page(session, AuditFilter(**{**flt.__dict__, "after_seq": after}), limit=chunk)
        if not batch:
            return
        yield from batch
        after = batch[-1].seq
        session.expunge_all()
