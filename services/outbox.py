"""The outbox: Web API calls owed to Slack, written in the state change's transaction.

Delivery is somebody else's job (bot/dispatcher.py). This module only knows rows:
enqueue, claim the due ones with a compare-and-set, and record each outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from models.outbox import FAILED, PENDING, SENDING, SENT, OutboxMessage
from services import audit
from services.rows import insert_unless_exists

SYSTEM_ACTOR = "countersign"
FAILED_ACTION = "outbox.failed"
ENTITY = "outbox_message"

_DIRTY = "outbox_enqueued"


def enqueue(
    session: Session,
    *,
    key: str,
    method: str,
    payload: dict[str, Any],
    now: datetime,
    channel: str | None = None,
    template: str | None = None,
    thread_of: str | None = None,
    update_of: str | None = None,
) -> OutboxMessage:
    """Owe Slack one call. `key` is unique: the same logical message is never owed twice.

    Services pass a `template` name and plain data as `payload`; the dispatcher renders it.
    `thread_of` posts into the thread of an earlier outbox message; `update_of`
    rewrites an earlier one in place (chat.update of its recorded ts).
    """
    owe(session, key=key, method=method, payload=payload, now=now, channel=channel, template=template,
        thread_of=thread_of, update_of=update_of)
    return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()


def owe(
    session: Session,
    *,
    key: str,
    method: str,
    payload: dict[str, Any],
    now: datetime,
    channel: str | None = None,
    template: str | None = None,
    thread_of: str | None = None,
    update_of: str | None = None,
) -> bool:
    """`enqueue`, answering whether this call is the one that owed it (False: the key was
    owed already, perhaps by another process at the same moment)."""
    inserted = insert_unless_exists(session, OutboxMessage, {
        "key": key, "method": method, "channel": channel, "payload": payload,
        "template": template, "thread_of": thread_of, "update_of": update_of,
        "status": PENDING, "attempts": 0, "maybe_sent": False,
        "next_attempt_at": now, "created_at": now,
    }, unique=["key"])
    if inserted:
        session.info[_DIRTY] = True
    return inserted


def enqueued_in(session: Session) -> bool:
    """Whether this session's transaction owed Slack something (to wake the dispatcher)."""
    return bool(session.info.pop(_DIRTY, False))


def _claimable(now: datetime):  # noqa: ANN202
    earlier = aliased(OutboxMessage)
    parent = aliased(OutboxMessage)

    def parent_settled(column):  # noqa: ANN001, ANN202
        return or_(
            column.is_(None),
            exists().where(and_(parent.key == column, parent.status.in_([SENT, FAILED]))),
        )

    due = or_(
        and_(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now),
        # A lease that ran out means the process delivering it died mid-call.
        and_(OutboxMessage.status == SENDING, OutboxMessage.lease_until < now),
    )
    # Per-channel FIFO: a message waits for every earlier unsettled one to its channel.
    in_order = or_(
        OutboxMessage.channel.is_(None),
        ~exists().where(
            and_(
                earlier.channel == OutboxMessage.channel,
                earlier.id < OutboxMessage.id,
                earlier.status.in_([PENDING, SENDING]),
            )
        ),
    )
    return and_(
        due,
        in_order,
        parent_settled(OutboxMessage.thread_of),
        parent_settled(OutboxMessage.update_of),
    )


# What each deliverer takes: GitHub's calls never wait in a round behind Slack's paced posts.
SINKS = ("slack", "github")
GITHUB_PREFIX = "github."


def _of_sink(sink: str | None):  # noqa: ANN202
    if sink is None:
        return True
    github = col(OutboxMessage.method).startswith(GITHUB_PREFIX)
    return github if sink == "github" else ~github


def claim_due(
    session: Session, *, now: datetime, owner: str, lease: timedelta, limit: int = 50,
    sink: str | None = None,
) -> list[OutboxMessage]:
    """Take due messages for delivery (of one sink, or all). Each row is claimed by exactly
    one caller."""
    # Only a channel's oldest unsettled message can be next, so candidates are those heads
    # (one indexed pass) rather than every owed row, each checked against all before it:
    # with thousands owed to one busy channel that was seconds per round.
    claimable = _claimable(now)  # built once: it costs milliseconds of Python per build
    heads = (
        select(func.min(OutboxMessage.id))
        .where(col(OutboxMessage.status).in_([PENDING, SENDING]), col(OutboxMessage.channel).is_not(None))
        .group_by(OutboxMessage.channel)
    )
    query = (
        select(OutboxMessage.id)
        .where(or_(col(OutboxMessage.channel).is_(None), col(OutboxMessage.id).in_(heads)))
        .where(_of_sink(sink))
        .where(claimable)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=OutboxMessage)
    ids = session.exec(query).all()
    if not ids:
        return []
    # One compare-and-set for the round: each row is still taken only if it is claimable
    # when the UPDATE reaches it; fewer statements hold SQLite's write lock for less time.
    taken = session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids))
        .where(claimable)
        .values(
            status=SENDING,
            lease_until=now + lease,
            claimed_by=owner,
            attempt_started_at=now,
            attempts=OutboxMessage.attempts + 1,
            # Reclaiming a dead process's lease: its call may have reached Slack.
            maybe_sent=or_(OutboxMessage.maybe_sent, OutboxMessage.status == SENDING),
        )
        .returning(OutboxMessage.id)
    ).scalars().all()
    if not taken:
        return []
    return list(session.exec(
        select(OutboxMessage).where(col(OutboxMessage.id).in_(taken)).order_by(OutboxMessage.id)
        .execution_options(populate_existing=True)
    ).all())


def reclaim_orphans(session: Session, *, now: datetime) -> int:
    """Take back every in-flight message when this process becomes the only deliverer.

    Only the leader delivers, so on taking the lead anything still `sending` belonged to
    a process that died mid-call: due now, and checked for before being posted again.
    """
    result = session.exec(
        update(OutboxMessage)
        .where(OutboxMessage.status == SENDING)
        .values(status=PENDING, maybe_sent=True, next_attempt_at=now, lease_until=None)
    )
    return result.rowcount


def parent_result(session: Session, key: str | None) -> OutboxMessage | None:
    if key is None:
        return None
    return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first()


def _finish(session: Session, msg_id: int, owner: str, **values: Any) -> bool:
    """Record an outcome only if we still hold the claim (a reclaimed row is not ours)."""
    result = session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == msg_id)
        .where(OutboxMessage.status == SENDING)
        .where(OutboxMessage.claimed_by == owner)
        .values(lease_until=None, **values)
    )
    return result.rowcount == 1


def mark_sent(
    session: Session,
    msg_id: int,
    *,
    owner: str,
    now: datetime,
    channel: str | None,
    ts: str | None,
    result: dict[str, Any] | None = None,
) -> bool:
    return _finish(
        session, msg_id, owner, status=SENT, sent_at=now, result_channel=channel,
        result_ts=ts, result=result, last_error=None,
    )


def mark_retry(
    session: Session,
    msg_id: int,
    *,
    owner: str,
    at: datetime,
    error: str,
    maybe_sent: bool,
) -> bool:
    return _finish(
        session, msg_id, owner, status=PENDING, next_attempt_at=at,
        last_error=error[:500], maybe_sent=maybe_sent,
    )


def mark_failed(session: Session, msg_id: int, *, owner: str, now: datetime, error: str,
                audited_error: str | None = None) -> bool:
    """Give up on a message for good, and say so in the audit log in the same transaction:
    something the product owed someone never reached Slack. The event names the call, never
    its content (the message may quote what a person typed); `audited_error` is the error as
    the log may keep it, when `error` could hold more than Slack's answer."""
    if not _finish(session, msg_id, owner, status=FAILED, sent_at=now, last_error=error[:500]):
        return False
    msg = session.exec(select(OutboxMessage).where(col(OutboxMessage.id) == msg_id)
                       .execution_options(populate_existing=True)).one()
    audit.append(session, at=now, actor=SYSTEM_ACTOR, action=FAILED_ACTION, entity_type=ENTITY,
                 entity_id=str(msg_id),
                 payload={"key": msg.key, "method": msg.method, "channel": msg.channel,
                          "template": msg.template, "attempts": msg.attempts,
                          "error": (audited_error if audited_error is not None else error)[:500]})
    return True


def backoff(attempts: int, *, base: float, cap: float) -> timedelta:
    """Exponential back-off: base, 2·base, 4·base … capped."""
    return timedelta(seconds=min(cap, base * (2 ** max(0, attempts - 1))))


@dataclass(frozen=True)
class OutboxStats:
    pending: int
    sending: int
    sent: int
    failed: int


def stats(session: Session) -> OutboxStats:
    counts = dict(
        session.exec(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    return OutboxStats(
        pending=counts.get(PENDING, 0),
        sending=counts.get(SENDING, 0),
        sent=counts.get(SENT, 0),
        failed=counts.get(FAILED, 0),
    )
