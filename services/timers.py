"""Durable timers: a row with `due_at` and a status is the timer.

APScheduler only decides *when to look*; whoever looks claims due rows with a
compare-and-set, so a restart loses nothing and two processes never fire one twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from models.timer import CANCELLED, DONE, FIRING, PENDING, Timer
from services.rows import insert_unless_exists

_SCHEDULED = "timers_scheduled"


def schedule(
    session: Session,
    *,
    kind: str,
    ref: str,
    due_at: datetime,
    now: datetime,
    payload: dict[str, Any] | None = None,
) -> Timer:
    """Add a timer to the caller's transaction; (kind, ref, due_at) is unique."""
    inserted = insert_unless_exists(session, Timer, {
        "kind": kind, "ref": ref, "due_at": due_at, "payload": payload or {},
        "status": PENDING, "attempts": 0, "created_at": now,
    }, unique=["kind", "ref", "due_at"])
    if inserted:
        earliest = session.info.get(_SCHEDULED)
        session.info[_SCHEDULED] = due_at if earliest is None else min(earliest, due_at)
    return session.exec(
        select(Timer).where(Timer.kind == kind, Timer.ref == ref, Timer.due_at == due_at)
    ).one()


def schedule_again(
    session: Session,
    *,
    kind: str,
    ref: str,
    due_at: datetime,
    now: datetime,
    payload: dict[str, Any] | None = None,
) -> Timer:
    """`schedule`, except that a timer cancelled at that very (kind, ref, due_at) comes back
    pending with `payload`; one already fired stays fired. For callers that cancel and set
    timers again (a resubmission in the same second, a review date moved away and back)."""
    timer = schedule(session, kind=kind, ref=ref, due_at=due_at, now=now, payload=payload)
    if timer.status == CANCELLED:
        session.exec(
            update(Timer).where(col(Timer.id) == timer.id, Timer.status == CANCELLED)
            .values(status=PENDING, payload=payload or {}, lease_until=None, claimed_by=None)
        )
        session.refresh(timer)
    return timer


def scheduled_in(session: Session) -> datetime | None:
    """The earliest due time this transaction scheduled, so a worker can wake for it."""
    return session.info.pop(_SCHEDULED, None)


def cancel(session: Session, *, kind: str, ref: str) -> int:
    """Cancel every unfired timer of (kind, ref), including one a worker has claimed.

    A claimed timer's worker marks it done with a compare-and-set in the same
    transaction as its effect, so whichever commits second loses: a cancel that
    commits first means the effect never happens.
    """
    result = session.exec(
        update(Timer)
        .where(Timer.kind == kind, Timer.ref == ref, col(Timer.status).in_([PENDING, FIRING]))
        .values(status=CANCELLED)
    )
    return result.rowcount


def _due(now: datetime):
    return or_(
        and_(Timer.status == PENDING, Timer.due_at <= now),
        and_(Timer.status == FIRING, Timer.lease_until < now),
    )


def claim_due(
    session: Session, *, now: datetime, owner: str, lease: timedelta, limit: int = 100,
    kinds: list[str] | None = None,
) -> list[Timer]:
    query = select(Timer.id).where(_due(now)).order_by(Timer.due_at, Timer.id).limit(limit)
    if kinds is not None:
        query = query.where(col(Timer.kind).in_(kinds))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed: list[Timer] = []
    for timer_id in session.exec(query).all():
        result = session.exec(
            update(Timer)
            .where(col(Timer.id) == timer_id)
            .where(_due(now))
            .values(
                status=FIRING,
                lease_until=now + lease,
                claimed_by=owner,
                attempts=Timer.attempts + 1,
            )
        )
        if result.rowcount == 1:
            timer = session.get(Timer, timer_id, populate_existing=True)
            if timer is not None:
                claimed.append(timer)
    return claimed


def reclaim_orphans(session: Session, *, now: datetime) -> int:
    """On taking the clock's lead: a timer left `firing` never committed its effect."""
    result = session.exec(
        update(Timer).where(Timer.status == FIRING).values(status=PENDING, lease_until=None)
    )
    return result.rowcount


def complete(session: Session, timer_id: int, *, owner: str, now: datetime) -> bool:
    """Mark fired, only if our claim still stands (a cancel or a reclaim wins).

    Call it first in the transaction that performs the timer's effect, and roll
    the effect back when it returns False.
    """
    result = session.exec(
        update(Timer)
        .where(col(Timer.id) == timer_id, Timer.status == FIRING, Timer.claimed_by == owner)
        .values(status=DONE, fired_at=now, lease_until=None)
    )
    return result.rowcount == 1


def release(session: Session, timer_id: int, *, owner: str, retry_at: datetime, error: str) -> bool:
    """Give a claimed timer back after a failure so it fires again at `retry_at`."""
    result = session.exec(
        update(Timer)
        .where(col(Timer.id) == timer_id, Timer.status == FIRING, Timer.claimed_by == owner)
        .values(status=PENDING, due_at=retry_at, lease_until=None, last_error=error[:500])
    )
    return result.rowcount == 1


def next_due(session: Session) -> datetime | None:
    row = session.exec(
        select(Timer.due_at).where(Timer.status == PENDING).order_by(Timer.due_at).limit(1)
    ).first()
    return row
