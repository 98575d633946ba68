"""How approval state changes write themselves down: audit events, outbox rows, timers.

Every outbox key starts `approval:{id}:` and names the event that owes the message (the
revision for opening/resubmitting, the vote id for a decision, the terminal status for a
cancel or an expiry), so each message is owed exactly once however often a caller retries.

Payloads are the request view plus these top-level extras, by template:
  approval_request        (the view only)
  approval_thread_notice  event ("opened"|"resubmitted"), actor, approvers_to_notify, usergroups_to_notify, note
  approval_dm             event ("opened"|"resubmitted"), actor, note, recipient
  approval_vote_notice    event "vote", actor, last_vote
  approval_final          event (the new status), actor (None for expiry), last_vote (None unless a vote), note
  approval_outcome_dm     as approval_final, plus recipient
  approval_break_glass    event "break_glass", actor, last_vote (reason = the break-glass reason), recipient (None in governance)
  approval_reminder       event "reminder", reminder_number, recipient
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from models.approval import ApprovalRequest
from models.timer import Timer
from services import audit, outbox, timers

ENTITY = "approval_request"
SYSTEM_ACTOR = "countersign"
REMIND = "approval.remind"
EXPIRE = "approval.expire"

# Outbox templates (rendered by blocks/ at send time).
T_REQUEST = "approval_request"
T_THREAD_NOTICE = "approval_thread_notice"
T_DM = "approval_dm"
T_VOTE_NOTICE = "approval_vote_notice"
T_FINAL = "approval_final"
T_OUTCOME_DM = "approval_outcome_dm"
T_BREAK_GLASS = "approval_break_glass"
T_REMINDER = "approval_reminder"


def key(request: ApprovalRequest, suffix: str) -> str:
    return f"approval:{request.id}:{suffix}"


def touch(request: ApprovalRequest, now: datetime) -> None:
    request.updated_at = now
    request.state_version += 1


def log(session: Session, request: ApprovalRequest, *, now: datetime, actor: str, action: str,
        **payload: Any) -> None:
    audit.append(session, at=now, actor=actor, action=action, entity_type=ENTITY,
                 entity_id=str(request.id), payload={"revision": request.revision, **payload})


def post(session: Session, request: ApprovalRequest, view: dict[str, Any], *, now: datetime) -> str:
    """The request's own channel message; its key is the message every later event updates."""
    message_key = key(request, f"r{request.revision}:post")
    outbox.enqueue(session, key=message_key, method="chat.postMessage", channel=request.channel,
                   template=T_REQUEST, payload=view, now=now)
    return message_key


def update_message(session: Session, request: ApprovalRequest, view: dict[str, Any], *,
                   suffix: str, now: datetime) -> None:
    """Every state change redraws the request message, and the check run of the pull request
    it is for (if any) follows in the same transaction."""
    from services.pull_requests import checks  # it builds on approvals: imported when used

    outbox.enqueue(session, key=key(request, suffix), method="chat.update", channel=request.channel,
                   template=T_REQUEST, payload=view, update_of=request.message_key, now=now)
    checks.request_changed(session, request, view, suffix=suffix, now=now)


def thread_reply(session: Session, request: ApprovalRequest, view: dict[str, Any], *, suffix: str,
                 template: str, extras: dict[str, Any], now: datetime) -> None:
    outbox.enqueue(session, key=key(request, suffix), method="chat.postMessage",
                   channel=request.channel, template=template, thread_of=request.message_key,
                   payload={**view, **extras}, now=now)


def to_channel(session: Session, request: ApprovalRequest, view: dict[str, Any], *, suffix: str,
               channel: str, template: str, extras: dict[str, Any], now: datetime) -> None:
    """A message about the request to another channel (governance), outside its thread."""
    outbox.enqueue(session, key=key(request, suffix), method="chat.postMessage", channel=channel,
                   template=template, payload={**view, **extras, "recipient": None}, now=now)


def direct(session: Session, request: ApprovalRequest, view: dict[str, Any], *, suffix: str,
           template: str, user: str, extras: dict[str, Any], now: datetime) -> None:
    """A DM: the channel is the user's ID (chat.postMessage opens the app's DM with them)."""
    outbox.enqueue(session, key=key(request, suffix), method="chat.postMessage", channel=user,
                   template=template, payload={**view, **extras, "recipient": user}, now=now)


def schedule(session: Session, *, kind: str, request: ApprovalRequest, due_at: datetime,
             now: datetime, payload: dict[str, Any]) -> Timer:
    """Schedule (kind, request) at `due_at`; a timer cancelled at that exact instant comes back
    (a resubmission within the same second as the opening)."""
    return timers.schedule_again(session, kind=kind, ref=str(request.id), due_at=due_at, now=now,
                                 payload=payload)


def schedule_lifecycle(session: Session, request: ApprovalRequest, *, now: datetime,
                       remind_after: timedelta | None, expire_after: timedelta | None,
                       approvers: list[str]) -> None:
    """The reminder and expiry timers of the request's current revision."""
    request.expires_at = now + expire_after if expire_after else None
    if remind_after and (request.expires_at is None or now + remind_after < request.expires_at):
        schedule(session, kind=REMIND, request=request, due_at=now + remind_after, now=now,
                 payload={"revision": request.revision, "approvers": approvers})
    if request.expires_at is not None:
        schedule(session, kind=EXPIRE, request=request, due_at=request.expires_at, now=now,
                 payload={"revision": request.revision})


def cancel_timers(session: Session, request: ApprovalRequest, *, remind: bool = True,
                  expire: bool = True) -> None:
    if remind:
        timers.cancel(session, kind=REMIND, ref=str(request.id))
    if expire:
        timers.cancel(session, kind=EXPIRE, ref=str(request.id))
