"""What an approval's durable timers do when they fire (registered with TimerRunner).

Each handler runs in the transaction that marks its timer done, locks the request, and does
nothing when the request has moved on (decided, resubmitted, cancelled): a stale timer is
harmless. Timer refs are the request id; payloads carry the revision they were set for and,
for reminders, the approvers resolved when the revision was opened (a timer cannot ask Slack
for a user group's members).

Reminders back off: the n-th reminder is followed by the next one remind_after × 2**n later
(24h, then 48h, then 96h …), never at or after the expiry, and none once the request is
no longer pending.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, select

from models.approval import EXPIRED, OPEN_STATUSES, PENDING, ApprovalVote
from models.timer import Timer

from . import record
from .decisions import lock
from .errors import UnknownRequest
from .policy import approver_users, policy_of
from .views import request_view

log = logging.getLogger(__name__)


def _request_for(session: Session, timer: Timer):
    try:
        request = lock(session, int(timer.ref))
    except (UnknownRequest, ValueError):
        log.warning("timer %s for unknown approval request %r", timer.kind, timer.ref)
        return None
    revision = (timer.payload or {}).get("revision")
    if revision is not None and revision != request.revision:
        return None  # set for an earlier revision
    return request


def fire_expiry(session: Session, timer: Timer, now: datetime) -> None:
    request = _request_for(session, timer)
    if request is None or request.status not in OPEN_STATUSES:
        return
    previous_status = request.status
    request.status = EXPIRED
    request.decided_at = now
    record.touch(request, now)
    record.cancel_timers(session, request)
    session.add(request)
    session.flush()
    record.log(session, request, now=now, actor=record.SYSTEM_ACTOR, action="approval.expired",
               previous_status=previous_status, expires_at=request.expires_at.isoformat() if request.expires_at else None)
    view = request_view(session, request)
    final = {"event": EXPIRED, "actor": None, "last_vote": None, "note": None}
    record.update_message(session, request, view, suffix="expired:update", now=now)
    record.thread_reply(session, request, view, suffix="expired:final", template=record.T_FINAL,
                        extras=final, now=now)
    record.direct(session, request, view, suffix="expired:outcome", template=record.T_OUTCOME_DM,
                  user=request.requester, extras=final, now=now)


def fire_reminder(session: Session, timer: Timer, now: datetime) -> None:
    request = _request_for(session, timer)
    if request is None or request.status != PENDING:
        return
    policy = policy_of(request)
    approvers = (timer.payload or {}).get("approvers")
    if approvers is None:
        approvers = approver_users(policy, None)
    voted = set(session.exec(
        select(ApprovalVote.user).where(ApprovalVote.request_id == request.id,
                                        ApprovalVote.revision == request.revision)
    ).all())
    due = [u for u in approvers if u not in voted and u != request.requester]
    request.reminders_sent += 1
    number = request.reminders_sent
    record.touch(request, now)
    session.add(request)
    session.flush()
    record.log(session, request, now=now, actor=record.SYSTEM_ACTOR, action="approval.reminded",
               number=number, users=due)
    view = request_view(session, request)
    for user in due:
        record.direct(session, request, view, suffix=f"r{request.revision}:remind{number}:{user}",
                      template=record.T_REMINDER, user=user,
                      extras={"event": "reminder", "reminder_number": number}, now=now)
    if policy.remind_after is None:
        return
    next_at = now + policy.remind_after * (2 ** number)
    if request.expires_at is None or next_at < request.expires_at:
        record.schedule(session, kind=record.REMIND, request=request, due_at=next_at, now=now,
                        payload={"revision": request.revision, "approvers": list(approvers)})


TIMER_HANDLERS = {record.REMIND: fire_reminder, record.EXPIRE: fire_expiry}
