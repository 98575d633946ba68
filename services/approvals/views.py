"""A request as plain JSON data: the one shape every outbox payload and listing carries.

`request_view` is what renderers get (blocks/ turns it into Block Kit at send time), so it
holds everything needed to draw the request message, a DM, a thread reply or an App Home
row, and nothing that is not JSON. `request_views` builds many with a fixed number of
queries (votes and confirmations for the whole page at once).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models.approval import (
    APPROVE,
    FINAL_STATUSES,
    ApprovalRequest,
    ApprovalVote,
    ChecklistConfirmation,
)
from models.registry import UseCase
from services.playbook.durations import format_duration
from services.playbook.snapshot import ApprovalPolicy

from .policy import policy_of


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def request_view(session: Session, request: ApprovalRequest) -> dict[str, Any]:
    return request_views(session, [request])[0]


def request_views(session: Session, requests: Sequence[ApprovalRequest]) -> list[dict[str, Any]]:
    if not requests:
        return []
    ids = [r.id for r in requests]
    votes: dict[int, list[ApprovalVote]] = defaultdict(list)
    for vote in session.exec(
        select(ApprovalVote).where(col(ApprovalVote.request_id).in_(ids)).order_by(col(ApprovalVote.id))
    ).all():
        votes[vote.request_id].append(vote)
    confirmed: dict[int, list[ChecklistConfirmation]] = defaultdict(list)
    for conf in session.exec(
        select(ChecklistConfirmation)
        .where(col(ChecklistConfirmation.request_id).in_(ids))
        .order_by(col(ChecklistConfirmation.id))
    ).all():
        confirmed[conf.request_id].append(conf)
    use_case_ids = {r.use_case_id for r in requests if r.use_case_id is not None}
    titles = dict(session.exec(select(UseCase.id, UseCase.title).where(col(UseCase.id).in_(use_case_ids))).all()) \
        if use_case_ids else {}
    return [_view(r, votes[r.id], confirmed[r.id], titles) for r in requests]  # type: ignore[index]


def _view(request: ApprovalRequest, votes: list[ApprovalVote],
          confirmations: list[ChecklistConfirmation], use_case_titles: dict[int, str]) -> dict[str, Any]:
    policy = policy_of(request)
    current = [v for v in votes if v.revision == request.revision and not v.dismissed]
    return {
        "id": request.id,
        "kind": request.kind,
        "audience": request.audience,
        "title": request.title,
        "reference": request.reference,
        "ai_tool": request.ai_tool,
        "summary": request.summary,
        "requester": request.requester,
        "origin_channel": request.origin_channel,
        "channel": request.channel,
        "status": request.status,
        "revision": request.revision,
        "created_at": iso(request.created_at),
        "updated_at": iso(request.updated_at),
        "decided_at": iso(request.decided_at),
        "expires_at": iso(request.expires_at),
        "break_glass": request.break_glass,
        "state_version": request.state_version,
        "policy": policy_data(policy),
        "votes": [
            {"user": v.user, "decision": v.decision, "group": v.group_name, "reason": v.reason,
             "at": iso(v.at), "break_glass": v.break_glass}
            for v in current
        ],
        "dismissed_count": sum(1 for v in votes if v.dismissed),
        "checklist_confirmed": [
            {"item": c.item, "user": c.user} for c in confirmations if c.revision == request.revision
        ],
        "approvals_count": sum(1 for v in current if v.decision == APPROVE),
        "final": request.status in FINAL_STATUSES,
        "playbook_hash": request.playbook_hash[:12],
        "playbook_version": request.playbook_version,
        "use_case": None if request.use_case_id is None else {
            "id": request.use_case_id, "ref": f"UC-{request.use_case_id}",
            "title": use_case_titles.get(request.use_case_id, ""), "warning": request.use_case_note},
    }


def policy_data(policy: ApprovalPolicy) -> dict[str, Any]:
    """The parts of a policy a person needs to see (the view's "policy")."""
    return {
        "required": policy.required,
        "distinct_groups": policy.distinct_groups,
        "approvers": list(policy.approver_group_names),  # group names
        "checklist": [{"id": item.id, "text": item.text or item.id} for item in policy.checklist],
        "high_assurance": policy.high_assurance,
        "self_approval": policy.self_approval,
        "remind_after": format_duration(policy.remind_after) if policy.remind_after else None,
        "expire_after": format_duration(policy.expire_after) if policy.expire_after else None,
    }


def policy_line(view: dict[str, Any]) -> str:
    """The rule in one line, e.g. "2 of eng-leads + legal, distinct groups"."""
    policy = view["policy"]
    line = f"{policy['required']} of {' + '.join(policy['approvers'])}"
    if policy["distinct_groups"]:
        line += ", distinct groups"
    if policy["high_assurance"]:
        line += ", high assurance"
    return line
