"""An approver's decision on one revision, enforced from the request's frozen policy.

Order of checks, each refusal an audited denial unless it is bad input:
1. the request row is locked (SELECT … FOR UPDATE on PostgreSQL; SQLite transactions are
   serialised already), so two approvers clicking at once are decided one after the other;
2. denials: the request is not pending; the revision is stale; the requester deciding on
   their own request (only approving, only under a break-glass policy, and only as a member
   of an approver group); the user is in none of the approver groups; a second vote on the
   same revision;
3. bad input (ApprovalInputError, nothing written): a missing reason where one is required,
   the re-stated reference of a high-assurance approval, a break-glass reason, unknown
   checklist items — so a caller may try without them first and ask only when told;
4. denials that depend on the votes: no approver group left under distinct_groups; the
   approval that would complete the sign-off while the checklist is unconfirmed.
A denial writes only its audit event; the caller commits it like any other outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from sqlmodel import Session, col, select

from blocks.text import escape
from models.approval import (
    APPROVE,
    APPROVED,
    CANCELLED,
    CHANGES_REQUESTED,
    DECISIONS,
    EXPIRED,
    PENDING,
    REJECT,
    REJECTED,
    REQUEST_CHANGES,
    ApprovalRequest,
    ApprovalVote,
    ChecklistConfirmation,
)
from services.inputs import control_character
from services.playbook.snapshot import ApprovalPolicy
from services.rows import insert_unless_exists
from services.wallclock import local_time

from . import record
from .errors import ApprovalInputError, UnknownRequest
from .limits import REASON_MAX
from .policy import GroupMembers, approver_users, groups_of, policy_of
from .refs import normalize_ref
from .views import policy_data, policy_line, request_view

PAST = {APPROVE: "approved", REJECT: "rejected", REQUEST_CHANGES: "requested changes on"}
OUTCOME_OF_STATUS = {APPROVED: "approved", REJECTED: "rejected", CHANGES_REQUESTED: "changes_requested"}


@dataclass(frozen=True)
class Decision:
    """What became of a click. `outcome` is one of:

    recorded (the vote counts, the request is still pending) · approved · rejected ·
    changes_requested (this vote moved the request there) · denied (nothing recorded but the
    audit event; `message` says why) — and for resubmit/cancel: resubmitted · cancelled.
    """

    outcome: str
    message: str
    request: ApprovalRequest
    missing_checklist: tuple[str, ...] = ()
    code: str | None = None  # for a denial: a stable name of the rule that refused it
    vote: ApprovalVote | None = None


def mention(user: str) -> str:
    return f"<@{user}>"


def mentions(users: Sequence[str]) -> str:
    names = [mention(u) for u in users]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def when(moment: datetime, tz: tzinfo) -> str:
    """`moment` on the playbook's wall clock (`tz`)."""
    return local_time(moment, tz)


def lock(session: Session, request_id: int) -> ApprovalRequest:
    """The request, its row locked until the transaction ends; fresh from the database."""
    request = session.get(ApprovalRequest, request_id, with_for_update=True, populate_existing=True)
    if request is None:
        raise UnknownRequest(request_id)
    return request


def get(session: Session, request_id: int) -> ApprovalRequest | None:
    """The request, or None (no lock: for reading and rendering)."""
    return session.get(ApprovalRequest, request_id)


def get_request(session: Session, request_id: int) -> ApprovalRequest:
    """The request, or UnknownRequest (an ApprovalInputError with field "request_id")."""
    request = get(session, request_id)
    if request is None:
        raise UnknownRequest(request_id)
    return request


def deny(session: Session, request: ApprovalRequest, *, user: str, now: datetime, code: str,
         message: str, attempted: str, missing: Sequence[str] = (), **extra: object) -> Decision:
    record.log(session, request, now=now, actor=user, action="approval.denied", attempted=attempted,
               code=code, reason=message, missing_checklist=list(missing), **extra)
    return Decision("denied", message, request, tuple(missing), code)


def current_votes(session: Session, request: ApprovalRequest) -> list[ApprovalVote]:
    return list(session.exec(
        select(ApprovalVote)
        .where(ApprovalVote.request_id == request.id, ApprovalVote.revision == request.revision,
               col(ApprovalVote.dismissed).is_(False))
        .order_by(col(ApprovalVote.id))
    ).all())


def closed_message(session: Session, request: ApprovalRequest, tz: tzinfo = UTC) -> str:
    """Why nobody can decide any more, naming who decided."""
    votes = current_votes(session, request)
    by = {d: [v.user for v in votes if v.decision == d] for d in DECISIONS}
    if request.status == APPROVED:
        return f"This request was already approved by {mentions(by[APPROVE])}."
    if request.status == REJECTED:
        return f"This request was already rejected by {mentions(by[REJECT])}."
    if request.status == CHANGES_REQUESTED:
        return (f"{mentions(by[REQUEST_CHANGES])} requested changes; nobody can decide until "
                f"{mention(request.requester)} resubmits it.")
    if request.status == CANCELLED:
        return "This request was cancelled; there is nothing left to decide."
    if request.status == EXPIRED:
        expired = request.decided_at or request.updated_at
        return f"This request expired at {when(expired, tz)} without sign-off; it needs a new request."
    return f"This request is {request.status}."


def decide(
    session: Session,
    *,
    request_id: int,
    revision: int,
    user: str,
    decision: str,
    now: datetime,
    group_members: GroupMembers,
    governance_channel: str,
    reason: str | None = None,
    confirmations: Sequence[str] = (),
    restated_reference: str | None = None,
    break_glass_reason: str | None = None,
    tz: tzinfo = UTC,
) -> Decision:
    """Record `user`'s decision on `revision` of the request, or refuse it (see the module doc).
    `tz`: the playbook's time zone, for the times a refusal names.

    `group_members` resolves the snapshot's approver groups now (Slack user groups);
    `governance_channel` is told of a break-glass self-approval. `confirmations` are checklist
    item ids this approver confirms with an approval (ignored with reject/request_changes).
    """
    if decision not in DECISIONS:
        raise ApprovalInputError("decision", f"'{escape(decision, 100)}' is not a decision; use approve, reject "
                                             "or request_changes.")
    request = lock(session, request_id)
    policy = policy_of(request)

    def refuse(code: str, message: str, missing: Sequence[str] = ()) -> Decision:
        return deny(session, request, user=user, now=now, code=code, message=message,
                    attempted=decision, missing=missing, attempted_revision=revision)

    # 2. who may decide, and when
    refusal = _who_may_decide(session, request, policy, user=user, decision=decision, revision=revision,
                              group_members=group_members, tz=tz)
    if refusal is not None:
        return refuse(*refusal)
    groups = groups_of(policy, group_members, user)
    own = user == request.requester  # past the checks above only under a break-glass policy

    # 3. bad input: raises, nothing written
    reason_text, glass_text = _checked_input(request, policy, decision=decision, own=own, reason=reason,
                                             restated_reference=restated_reference,
                                             break_glass_reason=break_glass_reason, confirmations=confirmations)

    # 4. rules that depend on the votes so far
    approvals = [v for v in current_votes(session, request) if v.decision == APPROVE]
    group, reaches = groups[0], False
    if decision == APPROVE:
        if policy.distinct_groups:
            used = {v.group_name: v.user for v in approvals}
            free = [g for g in groups if g not in used]
            if not free:
                taken = ", ".join(f"{g} (approved by {mention(used[g])})" for g in groups)
                needed = [g for g in policy.approver_group_names if g not in used]
                rest = f"; the next approval must come from {' or '.join(needed)}" if needed else ""
                return refuse("group_used", f"Your group has already approved: {taken}. This request needs "
                                            f"approvals from distinct groups{rest}.")
            group = free[0]
        reaches = len(approvals) + 1 >= policy.required
        missing = _unconfirmed(session, request, policy, confirmations) if reaches else []
        if missing:
            return refuse("checklist_incomplete",
                          f"Yours would be the approval that completes the sign-off, but the checklist is not "
                          f"fully confirmed: {', '.join(missing)}. Confirm these items with your approval, or "
                          f"leave it to an approver who can.", missing)

    # the vote; the unique (request, revision, user) backs the check in step 2 against any race
    if not insert_unless_exists(session, ApprovalVote, {
        "request_id": request.id, "revision": request.revision, "user": user, "decision": decision,
        "group_name": group, "reason": reason_text or glass_text, "at": now, "dismissed": False,
        "break_glass": own,
    }, unique=["request_id", "revision", "user"]):
        return refuse("already_voted", f"You already voted on revision {request.revision} of this request.")
    vote = session.exec(
        select(ApprovalVote).where(ApprovalVote.request_id == request.id,
                                   ApprovalVote.revision == request.revision, ApprovalVote.user == user)
    ).one()
    confirmed_now: list[str] = []
    if decision == APPROVE:
        for item in dict.fromkeys(confirmations):
            if insert_unless_exists(session, ChecklistConfirmation, {
                "request_id": request.id, "revision": request.revision, "item": item, "user": user, "at": now,
            }, unique=["request_id", "revision", "item"]):
                confirmed_now.append(item)

    new_status = {REJECT: REJECTED, REQUEST_CHANGES: CHANGES_REQUESTED}.get(decision)
    if decision == APPROVE and reaches:
        new_status = APPROVED
    record.touch(request, now)
    if own:
        request.break_glass = True
    if new_status is not None:
        request.status = new_status
        request.decided_at = now
    session.add(request)
    session.flush()

    record.log(session, request, now=now, actor=user, action="approval.voted", vote_id=vote.id,
               decision=decision, group=group, reason=vote.reason, break_glass=own,
               confirmations=confirmed_now, approvals=len(approvals) + (decision == APPROVE),
               required=policy.required)
    view = request_view(session, request)
    suffix = f"v{vote.id}"
    record.update_message(session, request, view, suffix=f"{suffix}:update", now=now)
    last_vote = {"user": user, "decision": decision, "group": group, "reason": vote.reason,
                 "at": view["updated_at"], "break_glass": own, "confirmations": confirmed_now}
    record.thread_reply(session, request, view, suffix=f"{suffix}:notice", template=record.T_VOTE_NOTICE,
                        extras={"event": "vote", "actor": user, "last_vote": last_vote}, now=now)
    if own:
        _announce_break_glass(session, request, view, policy, user=user, reason=glass_text, vote_id=vote.id,
                              last_vote=last_vote, group_members=group_members,
                              governance_channel=governance_channel, now=now)

    if new_status is None:
        left = policy.required - view["approvals_count"]
        return Decision("recorded", f"Your approval of revision {request.revision} is recorded "
                                    f"({view['approvals_count']} of {policy.required}; {left} more needed).",
                        request, vote=vote)

    # a transition: stop the timers that no longer apply, announce it, tell the requester
    record.cancel_timers(session, request, expire=new_status != CHANGES_REQUESTED)
    record.log(session, request, now=now, actor=user, action=f"approval.{new_status}", vote_id=vote.id,
               reason=vote.reason, approvals=[v["user"] for v in view["votes"] if v["decision"] == APPROVE])
    final = {"event": new_status, "actor": user, "last_vote": last_vote, "note": None}
    record.thread_reply(session, request, view, suffix=f"{suffix}:final", template=record.T_FINAL,
                        extras=final, now=now)
    if not own:
        record.direct(session, request, view, suffix=f"{suffix}:outcome", template=record.T_OUTCOME_DM,
                      user=request.requester, extras=final, now=now)
    told = ("every approver and governance have been told it was break-glass" if own
            else f"{mention(request.requester)} has been told")
    messages = {
        APPROVED: f"Approved: yours was approval {view['approvals_count']} of {policy.required}; {told}.",
        REJECTED: f"Rejected; {told}, with your reason.",
        CHANGES_REQUESTED: f"Changes requested; {told} and can resubmit.",
    }
    return Decision(OUTCOME_OF_STATUS[new_status], messages[new_status], request, vote=vote)


def _who_may_decide(session: Session, request: ApprovalRequest, policy: ApprovalPolicy, *, user: str,
                    decision: str, revision: int, group_members: GroupMembers,
                    tz: tzinfo) -> tuple[str, str] | None:
    """(code, message) of the first rule refusing this user a say, or None."""
    if request.status != PENDING:
        return "not_pending", closed_message(session, request, tz)
    if revision != request.revision:
        return "stale_revision", (f"This request was resubmitted as revision {request.revision} after the revision "
                                  f"you decided on ({revision}); look at the current revision and decide again.")
    rule = policy_line({"policy": policy_data(policy)})
    if user == request.requester and decision != APPROVE:
        return "own_request", ("You can't reject or request changes on your own request; cancel it, or "
                               "resubmit a new revision.")
    if user == request.requester and policy.self_approval != "break_glass":
        return "self_approval", f"You can't approve your own request: {request.kind} sign-off needs someone else ({rule})."
    if not groups_of(policy, group_members, user):
        return "not_an_approver", (f"Only members of {' or '.join(policy.approver_group_names)} may decide on "
                                   f"this {request.kind} request ({rule}).")
    earlier = session.exec(
        select(ApprovalVote).where(ApprovalVote.request_id == request.id,
                                   ApprovalVote.revision == request.revision, ApprovalVote.user == user)
    ).first()
    if earlier is not None:
        return "already_voted", (f"You already {PAST[earlier.decision]} revision {request.revision} of this "
                                 f"request at {when(earlier.at, tz)}; one vote per person.")
    return None


def _checked_input(request: ApprovalRequest, policy: ApprovalPolicy, *, decision: str, own: bool,
                   reason: str | None, restated_reference: str | None, break_glass_reason: str | None,
                   confirmations: Sequence[str]) -> tuple[str | None, str | None]:
    """The stripped reason and break-glass reason; ApprovalInputError naming every bad field."""
    errors: dict[str, str] = {}
    reason_text = (reason or "").strip() or None
    if reason_text is not None and len(reason_text) > REASON_MAX:
        errors["reason"] = f"The reason is {len(reason_text)} characters long; the limit is {REASON_MAX}."
    elif reason_text is not None and (problem := control_character("The reason", reason_text)):
        errors["reason"] = problem
    elif reason_text is None and decision == REJECT:
        errors["reason"] = "A rejection needs a reason: say what is wrong, so the requester can act on it."
    elif reason_text is None and decision == REQUEST_CHANGES:
        errors["reason"] = "Requesting changes needs a reason: say what has to change."
    elif reason_text is None and decision == APPROVE and policy.high_assurance:
        errors["reason"] = "A high-assurance approval needs a reason: say what you checked."
    if decision == APPROVE and policy.high_assurance:
        restated = (restated_reference or "").strip()
        if not restated:
            errors["restated_reference"] = ("This kind needs high assurance: type the reference you are "
                                            "approving, exactly as the request shows it.")
        elif normalize_ref(restated) != request.ref_key:
            errors["restated_reference"] = (f"'{escape(restated, 100)}' is not the reference of this request "
                                            f"({escape(request.reference)}); check you are approving the right "
                                            "artifact.")
    glass_text = (break_glass_reason or "").strip() or None
    if own and glass_text is None:
        errors["break_glass_reason"] = ("Approving your own request breaks glass: say why it cannot wait for "
                                        "another approver. Every approver and governance will be told.")
    elif own and glass_text is not None and len(glass_text) > REASON_MAX:
        errors["break_glass_reason"] = (f"The break-glass reason is {len(glass_text)} characters long; "
                                        f"the limit is {REASON_MAX}.")
    elif own and glass_text is not None and (problem := control_character("The break-glass reason", glass_text)):
        errors["break_glass_reason"] = problem
    items = [item.id for item in policy.checklist]
    unknown = [c for c in confirmations if c not in items]
    if unknown:
        listing = ", ".join(items) if items else "it has none"
        errors["confirmations"] = f"'{escape(unknown[0], 100)}' is not on this request's checklist ({listing})."
    if errors:
        raise ApprovalInputError.collect(errors)
    return reason_text, glass_text if own else None


def _unconfirmed(session: Session, request: ApprovalRequest, policy: ApprovalPolicy,
                 confirmations: Sequence[str]) -> list[str]:
    """Checklist items neither confirmed earlier on this revision nor by this click."""
    if not policy.checklist:
        return []
    done = set(session.exec(
        select(ChecklistConfirmation.item).where(ChecklistConfirmation.request_id == request.id,
                                                 ChecklistConfirmation.revision == request.revision)
    ).all())
    return [item.id for item in policy.checklist if item.id not in done and item.id not in confirmations]


def _announce_break_glass(session: Session, request: ApprovalRequest, view: dict, policy: ApprovalPolicy, *,
                          user: str, reason: str | None, vote_id: int | None, last_vote: dict,
                          group_members: GroupMembers, governance_channel: str, now: datetime) -> None:
    """A self-approval: audited on its own, told to governance and to every other approver."""
    others = [u for u in approver_users(policy, group_members) if u != user]
    record.log(session, request, now=now, actor=user, action="approval.break_glass", vote_id=vote_id,
               reason=reason, notified=[governance_channel, *others])
    extras = {"event": "break_glass", "actor": user, "last_vote": {**last_vote, "reason": reason}}
    record.to_channel(session, request, view, suffix=f"v{vote_id}:break-glass", channel=governance_channel,
                      template=record.T_BREAK_GLASS, extras=extras, now=now)
    for approver in others:
        record.direct(session, request, view, suffix=f"v{vote_id}:break-glass:{approver}",
                      template=record.T_BREAK_GLASS, user=approver, extras=extras, now=now)
