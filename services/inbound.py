"""First-seen record of Slack deliveries, so a retried request is taken once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.inbound import InboundDelivery


def first_delivery(session: Session, *, key: str, now: datetime) -> bool:
    """True the first time `key` is seen; the unique key decides races between processes."""
    session.add(InboundDelivery(key=key[:128], received_at=now))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return False
    return True


def forget_older_than(session: Session, *, cutoff: datetime) -> int:
    result = session.exec(delete(InboundDelivery).where(InboundDelivery.received_at < cutoff))
    return result.rowcount


RETENTION = timedelta(days=2)
