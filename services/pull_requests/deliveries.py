"""GitHub's webhook deliveries, kept from their acknowledgement until their work is done.

GitHub waits 10 seconds for an answer and never sends a delivery again by itself, so the
endpoint commits the delivery and answers; the clock works on it afterwards (reading the
pull request may need GitHub's API, which can be slow or down), retrying with back-off. The
delivery id (X-GitHub-Delivery) is the key: a manual redelivery finds it taken and does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from models.github import DONE, FAILED, PENDING, WORKING, GitHubDelivery
from services.rows import insert_unless_exists

ID_MAX = 64
# GitHub lets a person redeliver what it sent in the past three days; a week covers that.
RETENTION = timedelta(days=7)
_DIRTY = "github_delivery_recorded"


def record(session: Session, *, delivery_id: str, event: str, action: str | None, body: str,
           now: datetime) -> bool:
    """Keep a delivery to work on; False when it was taken before (a redelivery)."""
    taken = insert_unless_exists(session, GitHubDelivery, {
        "delivery_id": delivery_id[:ID_MAX], "event": event[:64], "action": (action or None) and action[:64],
        "received_at": now, "status": PENDING, "attempts": 0, "next_attempt_at": now, "body": body,
    }, unique=["delivery_id"])
    if taken:
        session.info[_DIRTY] = True
    return taken


def recorded_in(session: Session) -> bool:
    """Whether this transaction kept a new delivery (to wake the clock)."""
    return bool(session.info.pop(_DIRTY, False))


def claim_due(session: Session, *, now: datetime, owner: str, lease: timedelta,
              limit: int = 20) -> list[GitHubDelivery]:
    """Deliveries due to be worked on, oldest first, each taken by one caller (compare-and-set)."""
    due = or_((col(GitHubDelivery.status) == PENDING) & (col(GitHubDelivery.next_attempt_at) <= now),
              (col(GitHubDelivery.status) == WORKING) & (col(GitHubDelivery.lease_until) < now))
    ids = session.exec(select(GitHubDelivery.delivery_id).where(due)
                       .order_by(col(GitHubDelivery.received_at), col(GitHubDelivery.delivery_id))
                       .limit(limit)).all()
    if not ids:
        return []
    taken = session.exec(
        update(GitHubDelivery).where(col(GitHubDelivery.delivery_id).in_(ids)).where(due)
        .values(status=WORKING, claimed_by=owner, lease_until=now + lease,
                attempts=GitHubDelivery.attempts + 1)
        .returning(GitHubDelivery.delivery_id)).scalars().all()
    if not taken:
        return []
    return list(session.exec(select(GitHubDelivery).where(col(GitHubDelivery.delivery_id).in_(taken))
                             .order_by(col(GitHubDelivery.received_at), col(GitHubDelivery.delivery_id))
                             .execution_options(populate_existing=True)).all())


def release_orphans(session: Session, *, host: str, gone: Callable[[str], bool]) -> int:
    """Hand back what dead processes of `host` were working on, so a restart takes it at
    once rather than when its lease runs out."""
    owners = session.exec(select(GitHubDelivery.claimed_by).distinct()
                          .where(col(GitHubDelivery.status) == WORKING)
                          .where(col(GitHubDelivery.claimed_by).startswith(f"{host}:"))).all()
    dead = [o for o in owners if o is not None and gone(o)]
    if not dead:
        return 0
    return session.exec(update(GitHubDelivery).where(col(GitHubDelivery.status) == WORKING)
                        .where(col(GitHubDelivery.claimed_by).in_(dead))
                        .values(status=PENDING, lease_until=None)).rowcount


def _finish(session: Session, delivery_id: str, owner: str, **values: object) -> bool:
    result = session.exec(
        update(GitHubDelivery).where(col(GitHubDelivery.delivery_id) == delivery_id)
        .where(col(GitHubDelivery.status) == WORKING).where(col(GitHubDelivery.claimed_by) == owner)
        .values(lease_until=None, **values))
    return result.rowcount == 1


def done(session: Session, delivery_id: str, *, owner: str, outcome: str) -> bool:
    """Settled in the transaction of the work itself, so the work is never done twice."""
    return _finish(session, delivery_id, owner, status=DONE, body=None, outcome=outcome[:300],
                   last_error=None)


def retry(session: Session, delivery_id: str, *, owner: str, at: datetime, error: str) -> bool:
    return _finish(session, delivery_id, owner, status=PENDING, next_attempt_at=at, last_error=error[:500])


def failed(session: Session, delivery_id: str, *, owner: str, error: str) -> bool:
    return _finish(session, delivery_id, owner, status=FAILED, body=None, last_error=error[:500])


def forget_older_than(session: Session, *, cutoff: datetime) -> int:
    return session.exec(delete(GitHubDelivery).where(col(GitHubDelivery.received_at) < cutoff)
                        .where(col(GitHubDelivery.status).in_([DONE, FAILED]))).rowcount
