"""USAGE_RETENTION: raw usage events expire; what they added up to stays in usage_daily.

Only watched events go: an event the watcher has not counted yet would leave its day's
counters short. Each chunk is its own short transaction (SQLite's one writer is never held
for long), and says in the audit log how many events went and up to when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from models.usage import UsageEvent
from services import audit

CHUNK = 5000
SYSTEM_ACTOR = "countersign"


def forget_before(session: Session, *, cutoff: datetime, now: datetime, limit: int = CHUNK) -> int:
    """Delete up to `limit` watched events that started before `cutoff`; how many went."""
    ids = session.exec(
        select(UsageEvent.id).where(UsageEvent.started_at < cutoff,
                                    col(UsageEvent.watched_at).is_not(None))
        .order_by(UsageEvent.id).limit(limit)
    ).all()
    if not ids:
        return 0
    # RETURNING: another process may have deleted some of them meanwhile.
    gone = session.exec(delete(UsageEvent).where(col(UsageEvent.id).in_(ids))
                        .returning(UsageEvent.id)).all()
    if not gone:
        return 0
    audit.append(session, at=now, actor=SYSTEM_ACTOR, action="usage.expired",
                 entity_type="usage_event", entity_id=f"{min(gone)}-{max(gone)}",
                 payload={"events": len(gone), "started_before": cutoff.isoformat()})
    return len(gone)
