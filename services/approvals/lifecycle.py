"""The requester's side of a request: resubmitting a new revision, and cancelling.

Both return a `Decision` (outcome "resubmitted" / "cancelled", or "denied" with the reason)
rather than raising on refusal: a refusal is an audit event in the caller's transaction, and
an exception would roll it back. Bad input still raises ApprovalInputError, nothing written.

Resubmission is allowed from pending, changes_requested and approved — a new revision of the
artifact dismisses every approval of earlier revisions (GitHub's "dismiss stale approvals on
new pushes"), so an approved ref that changes is no longer approved until re-approved. A
rejected, cancelled or expired request is closed for good: a new request starts afresh.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from models.approval import (
    APPROVED,
    CANCELLED,
    CHANGES_REQUESTED,
    OPEN_STATUSES,
    PENDING,
    ApprovalRequest,
    ApprovalVote,
)
from services.inputs import check_text

from . import record
from .decisions import Decision, deny, lock, mention
from .errors import ApprovalInputError
from .limits import REASON_MAX, REFERENCE_MAX, SUMMARY_MAX
from .policy import GroupMembers, approver_users, policy_of, usergroups
from .refs import normalize_ref
from .views import request_view

RESUBMITTABLE = (PENDING, CHANGES_REQUESTED, APPROVED)


def resubmit(
    session: Session,
    *,
    request_id: int,
    user: str,
    now: datetime,
    group_members: GroupMembers | None = None,
    reference: str | None = None,
    summary: str | None = None,
    note: str | None = None,
) -> Decision:
    """A new revision: votes of earlier revisions are dismissed, approvers asked again.

    `reference`/`summary` replace the old ones when given; `note` says what changed (shown in
    the thread). `group_members` resolves whom to DM (default: the snapshot's static members).
    """
    request = lock(session, request_id)
    refusal = _resubmit_refusal(session, request, user=user, now=now)
    if refusal is not None:
        return refusal
    errors: dict[str, str] = {}
    new_reference = check_text(errors, "reference", "The reference", reference, REFERENCE_MAX,
                               required="give the PR URL, commit SHA, document URL or launch name") \
        if reference is not None else None
    new_summary = check_text(errors, "summary", "The summary", summary, SUMMARY_MAX) if summary is not None else None
    note_text = check_text(errors, "note", "The note", note, REASON_MAX)
    if errors:
        raise ApprovalInputError.collect(errors)

    policy = policy_of(request)
    previous_status, previous_revision = request.status, request.revision
    request.revision += 1
    if new_reference is not None:
        request.reference = new_reference
        request.ref_key = normalize_ref(new_reference)
    if summary is not None:
        request.summary = new_summary or ""
    request.status = PENDING
    request.decided_at = None
    request.reminders_sent = 0
    record.touch(request, now)
    dismissed = session.exec(
        update(ApprovalVote)
        .where(ApprovalVote.request_id == request.id, ApprovalVote.revision < request.revision,
               col(ApprovalVote.dismissed).is_(False))
        .values(dismissed=True)
    ).rowcount
    approvers = [u for u in approver_users(policy, group_members) if u != request.requester]
    record.cancel_timers(session, request)
    record.schedule_lifecycle(session, request, now=now, remind_after=policy.remind_after,
                              expire_after=policy.expire_after, approvers=approvers)
    session.add(request)
    session.flush()
    record.log(session, request, now=now, actor=user, action="approval.resubmitted",
               previous_revision=previous_revision, previous_status=previous_status, dismissed=dismissed,
               reference=request.reference, ref_key=request.ref_key, note=note_text)
    view = request_view(session, request)
    rev = f"r{request.revision}"
    record.update_message(session, request, view, suffix=f"{rev}:update", now=now)
    record.thread_reply(session, request, view, suffix=f"{rev}:notice", template=record.T_THREAD_NOTICE,
                        extras={"event": "resubmitted", "actor": user, "approvers_to_notify": approvers,
                                "usergroups_to_notify": usergroups(policy), "note": note_text}, now=now)
    for approver in approvers:
        record.direct(session, request, view, suffix=f"{rev}:dm:{approver}", template=record.T_DM,
                      user=approver, extras={"event": "resubmitted", "actor": user, "note": note_text}, now=now)
    dropped = f"; {dismissed} earlier vote{'s' if dismissed != 1 else ''} dismissed" if dismissed else ""
    return Decision("resubmitted", f"Resubmitted as revision {request.revision}{dropped}. "
                                   f"Approvers have been asked again.", request)


def may_resubmit(session: Session, *, request_id: int, user: str, now: datetime) -> Decision | None:
    """Before the resubmit form opens: the refusal its submission would get (audited like
    any denial, for the caller to commit), or None."""
    return _resubmit_refusal(session, lock(session, request_id), user=user, now=now)


def _resubmit_refusal(session: Session, request: ApprovalRequest, *, user: str, now: datetime) -> Decision | None:
    if user != request.requester:
        return deny(session, request, user=user, now=now, code="not_requester", attempted="resubmit",
                    message=f"Only the requester, {mention(request.requester)}, can resubmit this request.")
    if request.status not in RESUBMITTABLE:
        return deny(session, request, user=user, now=now, code="closed", attempted="resubmit",
                    message=f"This request is {request.status} and closed for good; open a new request instead.")
    return None


def cancel(
    session: Session,
    *,
    request_id: int,
    user: str,
    now: datetime,
    is_admin: bool = False,
    reason: str | None = None,
) -> Decision:
    """The requester (or a playbook admin) withdraws an open request."""
    request = lock(session, request_id)
    if user != request.requester and not is_admin:
        return deny(session, request, user=user, now=now, code="not_requester", attempted="cancel",
                    message=f"Only the requester, {mention(request.requester)}, or a Countersign admin "
                            f"can cancel this request.")
    if request.status not in OPEN_STATUSES:
        return deny(session, request, user=user, now=now, code="closed", attempted="cancel",
                    message=f"This request is already {request.status}; there is nothing to cancel.")
    errors: dict[str, str] = {}
    reason_text = check_text(errors, "reason", "The reason", reason, REASON_MAX)
    if errors:
        raise ApprovalInputError.collect(errors)
    previous_status = request.status
    request.status = CANCELLED
    request.decided_at = now
    record.touch(request, now)
    record.cancel_timers(session, request)
    session.add(request)
    session.flush()
    record.log(session, request, now=now, actor=user, action="approval.cancelled",
               previous_status=previous_status, reason=reason_text, by_admin=user != request.requester)
    view = request_view(session, request)
    final = {"event": CANCELLED, "actor": user, "last_vote": None, "note": reason_text}
    record.update_message(session, request, view, suffix="cancelled:update", now=now)
    record.thread_reply(session, request, view, suffix="cancelled:final", template=record.T_FINAL,
                        extras=final, now=now)
    if user != request.requester:
        record.direct(session, request, view, suffix="cancelled:outcome", template=record.T_OUTCOME_DM,
                      user=request.requester, extras=final, now=now)
    return Decision("cancelled", "Cancelled; the request can no longer be approved.", request)
