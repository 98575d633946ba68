"""A small playbook and helpers shared by the approval service tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, func, select

from models.approval import ApprovalRequest, ApprovalVote, ChecklistConfirmation
from models.audit import AuditEvent
from models.outbox import OutboxMessage
from models.timer import Timer
from services import approvals
from services.playbook import load_playbook_text

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REQUESTER = "U0DEV"
GOVERNANCE = "C0GOV"
APPROVALS = "C0APPROVE"
PR = "https://github.com/acme/app/pull/42"

PLAYBOOK_YAML = """
version: 1
timezone: UTC
admins: [U0ADMIN]
groups:
  reviewers: {members: [U0REV1, U0REV2, U0REV3]}
  eng-leads: {members: [U0LEAD1, U0LEAD2, U0BOTH]}
  legal: {members: [U0LEGAL1, U0BOTH]}
  oncall: {members: [U0DEV, U0REV1]}
  legal-ug: {usergroup: S0LEGAL}
channels: {governance: C0GOV, approvals: C0APPROVE}
allowed_uses:
  - {id: coding-assistants, text: AI coding assistants from the approved list.}
off_limits:
  - {id: covert-profiling, text: "No AI inference of protected attributes about customers."}
approvals:
  code: {approvers: [reviewers], required: 1, remind_after: 1h, expire_after: 1d}
  pair: {approvers: [reviewers], required: 2}
  copy:
    internal: {approvers: [eng-leads], required: 1}
    external: {approvers: [eng-leads, legal], required: 2, distinct_groups: true}
  launch:
    approvers: [eng-leads, legal]
    required: 2
    checklist: [privacy-review, {id: security-review, text: Pen test done}]
  hotfix: {approvers: [oncall], required: 1, self_approval: break_glass, expire_after: 2h}
  model: {approvers: [reviewers], required: 1, high_assurance: true}
  counsel: {approvers: [legal-ug], required: 1}
"""

PB = load_playbook_text(PLAYBOOK_YAML)
MEMBERS: dict[str, list[str]] = {
    name: list(group.members) for name, group in PB.playbook.groups.items() if group.members
}


def open_request(db, kind: str = "code", *, audience: str = "internal", reference: str = PR,
                 requester: str = REQUESTER, now: datetime = T0, title: str = "Refactor billing retries",
                 members: dict[str, list[str]] | None = None, **extra: Any) -> int:
    with db.session() as s:
        request = approvals.open_request(
            s, playbook=PB, kind=kind, audience=audience, title=title, reference=reference,
            requester=requester, now=now, group_members=MEMBERS if members is None else members,
            ai_tool=extra.pop("ai_tool", "Copilot"), **extra)
        return request.id


def decide(db, request_id: int, user: str, decision: str = "approve", *, revision: int | None = None,
           now: datetime = T0, members: dict[str, list[str]] | None = None, **extra: Any):
    with db.session() as s:
        if revision is None:
            revision = s.get(ApprovalRequest, request_id).revision
        return approvals.decide(s, request_id=request_id, revision=revision, user=user, decision=decision,
                                now=now, group_members=MEMBERS if members is None else members,
                                governance_channel=GOVERNANCE, **extra)


def request(db, request_id: int) -> ApprovalRequest:
    with db.session() as s:
        return s.get(ApprovalRequest, request_id)


def view(db, request_id: int) -> dict[str, Any]:
    with db.session() as s:
        return approvals.request_view(s, s.get(ApprovalRequest, request_id))


def outbox_rows(db, request_id: int | None = None) -> list[OutboxMessage]:
    with db.session() as s:
        query = select(OutboxMessage).order_by(col(OutboxMessage.id))
        if request_id is not None:
            query = query.where(col(OutboxMessage.key).startswith(f"approval:{request_id}:"))
        return list(s.exec(query).all())


def audit_actions(db, request_id: int | None = None) -> list[str]:
    return [e.action for e in audit_rows(db, request_id)]


def audit_rows(db, request_id: int | None = None) -> list[AuditEvent]:
    with db.session() as s:
        query = select(AuditEvent).order_by(col(AuditEvent.id))
        if request_id is not None:
            query = query.where(AuditEvent.entity_type == "approval_request",
                                AuditEvent.entity_id == str(request_id))
        return list(s.exec(query).all())


def timer_rows(db, request_id: int) -> list[Timer]:
    with db.session() as s:
        return list(s.exec(select(Timer).where(Timer.ref == str(request_id)).order_by(col(Timer.id))).all())


def votes(db, request_id: int) -> list[ApprovalVote]:
    with db.session() as s:
        return list(s.exec(select(ApprovalVote).where(ApprovalVote.request_id == request_id)
                           .order_by(col(ApprovalVote.id))).all())


def counts(db) -> dict[str, int]:
    """How many rows each table the approval services write holds."""
    with db.session() as s:
        return {model.__tablename__: s.exec(select(func.count()).select_from(model)).one()
                for model in (ApprovalRequest, ApprovalVote, ChecklistConfirmation, AuditEvent,
                              OutboxMessage, Timer)}


def new_rows(db, before: dict[str, int]) -> dict[str, int]:
    after = counts(db)
    return {table: after[table] - before[table] for table in after if after[table] != before[table]}
