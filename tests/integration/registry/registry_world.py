"""A small playbook and helpers shared by the registry service tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, func, select

import escalation
from bot.clock import ManualClock
from bot.timer_runner import TimerRunner
from models.approval import ApprovalRequest
from models.audit import AuditEvent
from models.outbox import OutboxMessage
from models.registry import RecordChange, UseCase, UseCaseVendor, Vendor
from models.timer import Timer
from services import approvals, registry
from services.playbook import load_playbook_text

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
DAY = timedelta(days=1)
OWNER = "U0OWN"
HELPER = "U0HELP"  # a contributor
STRANGER = "U0NOBODY"
GOV = "U0GOV"  # a documentation approver
ADMIN = "U0ADMIN"
GOVERNORS = frozenset({ADMIN, GOV})
ASSIGNEE = "U0ASSIGN"
REVIEWER = "U0VREV"
GOVERNANCE = "C0GOV"

PLAYBOOK_YAML = """
version: 1
timezone: {timezone}
admins: [U0ADMIN]
groups:
  reviewers: {{members: [U0REV1, U0REV2, U0REV3]}}
  doc-approvers: {{members: [U0GOV]}}
  legal-ug: {{usergroup: S0LEGAL}}
channels: {{governance: C0GOV, approvals: C0APPROVE}}
approvals:
  code: {{approvers: [reviewers], required: 1}}
  pair: {{approvers: [reviewers], required: 2}}
  counsel: {{approvers: [legal-ug], required: 1}}
escalation:
  severities:
    sev3: {{policy: low}}
  policies:
    low:
      steps:
        - {{notify: "channel:governance"}}
documentation:
  usecase_revisit: 90d
  usecase_revisit_by_risk: {{high: 30d, minimal: 365d}}
  vendor_revisit: 180d
  vendor_revisit_by_risk: {{high: 60d}}
  stale_grace: 10d
  due_soon: 5d
  renudge_after: 2d
  snooze: 3d
  max_snoozes: 2
  approvers: [doc-approvers]
"""

LOADED = load_playbook_text(PLAYBOOK_YAML.format(timezone="UTC"))
PB = LOADED.playbook
BERLIN_PB = load_playbook_text(PLAYBOOK_YAML.format(timezone="Europe/Berlin")).playbook
MEMBERS = {name: list(g.members) for name, g in PB.groups.items() if g.members}


def who(user: str) -> registry.Authority:
    return registry.Authority(user, GOVERNORS)


def usecase_fields(**over: Any) -> dict[str, Any]:
    return {"title": "Support bot", "description": "Answers customer tickets", "owner": OWNER,
            "audience": "external", "purpose": "Faster first answers", "risk_tier": "limited",
            "models": "OpenAI / gpt-4o / 2024-08-06 / vendor cloud", **over}


def vendor_fields(**over: Any) -> dict[str, Any]:
    return {"name": "OpenAI", "provides": "LLM API", "trains_on_our_data": "no", "deployment": "cloud",
            "injection_tested": "passed", "risk_level": "medium", "review_status": "not_started",
            "assignee": ASSIGNEE, "reviewer": REVIEWER, **over}


def new_usecase(db, *, by: str = OWNER, now: datetime = T0, playbook=PB, **over: Any) -> int:
    with db.session() as s:
        return registry.create(s, "usecase", usecase_fields(**over), authority=who(by), now=now,
                               playbook=playbook).id


def new_vendor(db, *, by: str = ASSIGNEE, now: datetime = T0, playbook=PB, **over: Any) -> int:
    with db.session() as s:
        return registry.create(s, "vendor", vendor_fields(**over), authority=who(by), now=now,
                               playbook=playbook).id


def edit(db, kind: str, record_id: int, raw: dict[str, Any], *, by: str, now: datetime = T0, playbook=PB):
    with db.session() as s:
        return registry.edit(s, kind, record_id, raw, authority=who(by), now=now, playbook=playbook)


def review(db, kind: str, record_id: int, *, by: str, now: datetime, **extra: Any):
    with db.session() as s:
        return registry.mark_reviewed(s, kind, record_id, authority=who(by), now=now, playbook=PB, **extra)


def snooze(db, kind: str, record_id: int, *, user: str, now: datetime, tag: str | None = None):
    with db.session() as s:
        if tag is None:
            tag = registry.get(s, kind, record_id).next_review_at.isoformat()
        return registry.snooze(s, kind, record_id, tag=tag, user=user, now=now, playbook=PB)


def record(db, kind: str, record_id: int):
    with db.session() as s:
        return registry.get(s, kind, record_id)


def linked(db) -> list[tuple[int, int]]:
    with db.session() as s:
        return sorted(s.exec(select(UseCaseVendor.use_case_id, UseCaseVendor.vendor_id)).all())


def changes(db, kind: str, record_id: int) -> list[tuple[str, Any, Any, str]]:
    """(field, old, new, by) of the record's history, oldest first."""
    with db.session() as s:
        return [(c.field, c.old, c.new, c.by) for c in reversed(registry.history(s, kind, record_id))]


def audit_rows(db, kind: str | None = None, record_id: int | None = None) -> list[AuditEvent]:
    with db.session() as s:
        query = select(AuditEvent).order_by(col(AuditEvent.id))
        if kind is not None:
            query = query.where(AuditEvent.entity_type == kind)
        if record_id is not None:
            query = query.where(AuditEvent.entity_id == str(record_id))
        return list(s.exec(query).all())


def audit_actions(db, kind: str | None = None, record_id: int | None = None) -> list[str]:
    return [e.action for e in audit_rows(db, kind, record_id)]


def timer_rows(db, kind: str, record_id: int, status: str | None = None) -> list[Timer]:
    with db.session() as s:
        query = select(Timer).where(Timer.ref == f"{kind}:{record_id}").order_by(Timer.due_at, col(Timer.id))
        if status is not None:
            query = query.where(Timer.status == status)
        return list(s.exec(query).all())


def outbox_rows(db, template: str | None = None) -> list[OutboxMessage]:
    with db.session() as s:
        query = select(OutboxMessage).order_by(col(OutboxMessage.id))
        if template is not None:
            query = query.where(OutboxMessage.template == template)
        return list(s.exec(query).all())


def counts(db) -> dict[str, int]:
    with db.session() as s:
        return {m.__tablename__: s.exec(select(func.count()).select_from(m)).one()
                for m in (UseCase, Vendor, UseCaseVendor, RecordChange, AuditEvent, Timer, OutboxMessage)}


# --- time ------------------------------------------------------------------------------------


def make_runner(db, clock: ManualClock, owner: str = "test") -> TimerRunner:
    runner = TimerRunner(db, clock, owner=owner)
    for kind, handler in registry.TIMER_HANDLERS.items():
        runner.register(kind, handler)
    return runner


def run_at(runner: TimerRunner, clock: ManualClock, when: datetime) -> int:
    clock.set(when)
    fired = 0
    while (n := runner.sweep()):
        fired += n
    return fired


# --- the rest of the workspace the digest reads ----------------------------------------------


_PULLS = itertools.count(1)


def open_request(db, kind: str = "code", *, title: str, requester: str = "U0DEV", now: datetime = T0) -> int:
    with db.session() as s:
        return approvals.open_request(
            s, playbook=LOADED, kind=kind, audience="internal", title=title,
            reference=f"https://github.com/acme/app/pull/{next(_PULLS)}",
            requester=requester, now=now, group_members=MEMBERS, ai_tool="Copilot").id


def decide(db, request_id: int, user: str, decision: str = "approve", *, now: datetime = T0):
    with db.session() as s:
        revision = s.get(ApprovalRequest, request_id).revision
        return approvals.decide(s, request_id=request_id, revision=revision, user=user, decision=decision,
                                now=now, group_members=MEMBERS, governance_channel=GOVERNANCE)


def open_incident(db, *, now: datetime = T0, title: str = "Prompt injection in support bot") -> int:
    with db.session() as s:
        return escalation.open_incident(s, playbook=LOADED, severity="sev3", title=title,
                                        reporter="U0REPORT", now=now).id


def resolve_incident(db, incident_id: int, *, now: datetime) -> None:
    with db.session() as s:
        escalation.resolve(s, incident_id=incident_id, user="U0REPORT", now=now, summary="Patched the prompt")
