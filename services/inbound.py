"""Slack deliveries claimed while handled, so a retried request is taken once — and still
taken when the first delivery's listener failed or its process died.

A claim is a row: inserted as `started` with an owner and a lease (the unique key decides
between processes), settled `done` when the listener completed or `released` when it failed.
A redelivery of a done one is dropped; of a started one within its lease too (the first is
still working); past the lease, or once released, a compare-and-set hands it to the
redelivery. Settling checks the owner, so a worker that lost its lease changes nothing. A
process starting releases what a dead process of its host still held (release_orphans): the
lease only has to wait for processes nothing here can see.

Slack sends a request again only when it got no 2xx; a process that died after its ack and
before its listener's work was done leaves a request nobody will send again. So a claim keeps
the request's body until it is settled, and the bot replays what a dead holder left
(`abandoned`, bot/redelivery.py). A listener's state change settles its claim done in the same
transaction (bot/db.py's before-commit hook, handlers/middleware.py), so a replay after that
commit finds it done and nothing happens twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.inbound import DONE, RELEASED, STARTED, InboundDelivery

# Longer than a listener takes, even with the Web API's in-call retries; shorter than the
# minute before Slack's second retry of an event, so a delivery whose process died is
# taken by that retry.
LEASE = timedelta(seconds=45)
RETENTION = timedelta(days=2)
KEY_MAX = 128


def claim(session: Session, *, key: str, owner: str, now: datetime,
          lease: timedelta = LEASE, body: str | None = None,
          content_type: str | None = None) -> bool:
    """True when this delivery is ours to handle; False when it is another's or done.
    `body` and `content_type` are the request as it came, kept for a replay."""
    key = key[:KEY_MAX]
    try:
        with session.begin_nested():
            session.add(InboundDelivery(key=key, received_at=now, status=STARTED, owner=owner,
                                        lease_until=now + lease, body=body or None,
                                        content_type=(content_type or "")[:100] or None))
        return True
    except IntegrityError:
        pass
    taken = session.exec(
        update(InboundDelivery)
        .where(col(InboundDelivery.key) == key)
        .where(or_(col(InboundDelivery.status) == RELEASED,
                   (col(InboundDelivery.status) == STARTED)
                   & (col(InboundDelivery.lease_until) <= now)))
        .values(status=STARTED, owner=owner, lease_until=now + lease)
    )
    return taken.rowcount == 1


def settle(session: Session, *, key: str, owner: str, completed: bool) -> bool:
    """Done (completed) or released (failed), if our claim still stands — or True when we
    settled it done already, in the transaction of the listener's state change. A failed
    listener's delivery waits for Slack's retry; it is not ours to replay, so the body goes."""
    result = session.exec(
        update(InboundDelivery)
        .where(col(InboundDelivery.key) == key[:KEY_MAX])
        .where(col(InboundDelivery.owner) == owner)
        .where(col(InboundDelivery.status) == STARTED)
        .values(status=DONE if completed else RELEASED, lease_until=None, body=None,
                content_type=None)
    )
    if result.rowcount == 1:
        return True
    return session.exec(select(InboundDelivery.status).where(
        col(InboundDelivery.key) == key[:KEY_MAX], col(InboundDelivery.owner) == owner)).first() == DONE


def abandoned(session: Session, *, now: datetime, limit: int = 20,
              alive: Callable[[str], bool] = lambda _owner: False,
              ) -> list[tuple[str, str, str | None]]:
    """(key, body, content type) of the requests a dead holder left unfinished, oldest first:
    released by a starting process (release_orphans) or started past their lease, with the
    body still kept (a listener that failed dropped it). However late: the person had their
    ack and counts on it (a vote, an incident), even once the response_url that would tell
    them has expired; RETENTION bounds it."""
    rows = session.exec(
        select(InboundDelivery.key, InboundDelivery.body, InboundDelivery.content_type,
               InboundDelivery.status, InboundDelivery.owner)
        .where(col(InboundDelivery.body).is_not(None))
        .where(or_(col(InboundDelivery.status) == RELEASED,
                   (col(InboundDelivery.status) == STARTED)
                   & (col(InboundDelivery.lease_until) <= now)))
        .order_by(col(InboundDelivery.received_at), col(InboundDelivery.key))
        .limit(limit * 4)
    ).all()
    # A lease is measured on the injected clock, which can jump (a drill, a host's clock set
    # forward): a claim whose holder is seen running is still being handled, however old.
    return [(key, body, content_type) for key, body, content_type, status, owner in rows
            if status == RELEASED or owner is None or not alive(owner)][:limit]


def release_orphans(session: Session, *, host: str, gone: Callable[[str], bool]) -> int:
    """Release what processes of `host` left started when they died (`gone(owner)`), so a
    redelivery after a restart is handled at once rather than once the lease has run out."""
    owners = session.exec(
        select(InboundDelivery.owner).distinct()
        .where(col(InboundDelivery.status) == STARTED)
        .where(col(InboundDelivery.owner).startswith(f"{host}:"))
    ).all()
    dead = [o for o in owners if o is not None and gone(o)]
    if not dead:
        return 0
    result = session.exec(
        update(InboundDelivery)
        .where(col(InboundDelivery.status) == STARTED)
        .where(col(InboundDelivery.owner).in_(dead))
        .values(status=RELEASED, lease_until=None)
    )
    return result.rowcount


def forget_body(session: Session, *, key: str) -> None:
    """Keep no copy of this request (nothing will replay it)."""
    session.exec(update(InboundDelivery).where(col(InboundDelivery.key) == key[:KEY_MAX])
                 .values(body=None, content_type=None))


def forget_older_than(session: Session, *, cutoff: datetime) -> int:
    result = session.exec(delete(InboundDelivery).where(col(InboundDelivery.received_at) < cutoff))
    return result.rowcount
