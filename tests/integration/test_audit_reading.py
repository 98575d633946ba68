"""Who may read which history of the audit log, per role, against a real database: entities
made through the services' own flows, their events sealed by the real sequencer, and every
refusal recorded as an `audit.denied` event of its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

import escalation
from bot.clock import ManualClock
from bot.timer_runner import TimerRunner
from models.audit import AuditEvent
from models.incident import IncidentPage
from services import approvals, registry
from services.audit_log import access, browse
from services.audit_log.query import AuditFilter
from services.playbook import load_playbook_text
from tests.harness.audit_sealing import seal_all

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday; the rotation below is on its first shift
ADMIN = "U0ADMIN"
REQUESTER = "U0DEV"
REVIEWER = "U0REV1"  # in the code reviewers group
LEGAL = "U0LEGAL1"  # in the Slack user group S0LEGAL
REPORTER = "U0REPORT"
PAGED = "U0PRI1"  # on call for ai-primary at T0
LATER = "U0PRI2"  # on the rotation, never paged
OWNER = "U0OWN"
HELPER = "U0HELP"
DOC_APPROVER = "U0GOV"
ASSIGNEE = "U0ASSIGN"
VENDOR_REVIEWER = "U0VREV"
STRANGER = "U0NOBODY"

LOADED = load_playbook_text("""
version: 1
timezone: UTC
admins: [U0ADMIN]
groups:
  reviewers: {members: [U0REV1, U0REV2]}
  legal-ug: {usergroup: S0LEGAL}
  doc-approvers: {members: [U0GOV]}
channels: {governance: C0GOV, approvals: C0APPROVE, incidents: C0INC}
approvals:
  code: {approvers: [reviewers], required: 1}
  counsel: {approvers: [legal-ug], required: 1}
escalation:
  severities:
    sev2: {policy: standard}
  policies:
    standard:
      steps:
        - {notify: "rotation:ai-primary", wait: 5m}
  rotations:
    ai-primary: {members: [U0PRI1, U0PRI2], handoff: "mon 09:00", shift: 1w, start: 2026-03-02}
documentation:
  approvers: [doc-approvers]
""")
PB = LOADED.playbook
STATIC = {name: list(g.members) for name, g in PB.groups.items() if g.members}
RESOLVED = {**STATIC, "legal-ug": [LEGAL]}  # as the directory resolves the Slack user group


def reader(user: str, group_members=RESOLVED) -> access.Reader:
    governors = frozenset({*PB.admins, *RESOLVED["doc-approvers"]})
    return access.Reader(user=user, admins=frozenset(PB.admins), governors=governors, group_members=group_members)


@pytest.fixture
def world(db):
    """One request decided on, one waiting on a user group, one paged incident, one use case,
    one vendor — each made through its service, then sealed."""
    with db.session() as s:
        code = approvals.open_request(s, playbook=LOADED, kind="code", audience="internal",
                                      title="Refactor <!channel> retries", reference="https://github.com/acme/app/pull/1",
                                      requester=REQUESTER, now=T0, group_members=RESOLVED, ai_tool="Copilot").id
        counsel = approvals.open_request(s, playbook=LOADED, kind="counsel", audience="internal",
                                         title="Terms of use", reference="https://github.com/acme/app/pull/2",
                                         requester=REQUESTER, now=T0, group_members=RESOLVED).id
    with db.session() as s:
        decided = approvals.decide(s, request_id=code, revision=1, user="U0REV2", decision="approve",
                                   now=T0 + timedelta(minutes=1), group_members=RESOLVED, governance_channel="C0GOV")
        assert decided.outcome == "approved", decided.message
    with db.session() as s:
        incident = escalation.open_incident(s, playbook=LOADED, severity="sev2", title="Leak", reporter=REPORTER,
                                            now=T0).id
    clock = ManualClock(T0)
    runner = TimerRunner(db, clock, owner="test")
    for kind, handler in escalation.TIMER_HANDLERS.items():
        runner.register(kind, handler)
    while runner.sweep():
        pass
    with db.session() as s:
        assert [p.user for p in s.exec(select(IncidentPage)).all()] == [PAGED], "step 1 paged the primary"
    governor = registry.Authority(ADMIN, frozenset({ADMIN, DOC_APPROVER}))
    with db.session() as s:
        usecase = registry.create(s, "usecase", {
            "title": "Support bot", "description": "Answers tickets", "owner": OWNER, "contributors": [HELPER],
            "audience": "external", "purpose": "Faster answers", "risk_tier": "limited",
            "models": "OpenAI / gpt-4o / 2024-08-06 / vendor cloud"}, authority=governor, now=T0, playbook=PB).id
        vendor = registry.create(s, "vendor", {
            "name": "OpenAI", "provides": "LLM API", "trains_on_our_data": "no", "deployment": "cloud",
            "injection_tested": "passed", "risk_level": "medium", "review_status": "not_started",
            "assignee": ASSIGNEE, "reviewer": VENDOR_REVIEWER}, authority=governor, now=T0, playbook=PB).id
    assert seal_all(db, now=T0 + timedelta(minutes=5)) > 0
    return {"request": code, "counsel": counsel, "incident": incident, "usecase": usecase, "vendor": vendor}


def verdict(db, user: str, entity_type: str, entity_id: int, **kw) -> access.Verdict:
    with db.session() as s:
        return access.may_read(s, reader(user, **kw), entity_type, entity_id)


ALLOWED = [
    (ADMIN, "approval_request", "request", "admin"),
    (REQUESTER, "approval_request", "request", "requester"),
    (REVIEWER, "approval_request", "request", "approver"),
    ("U0REV2", "approval_request", "request", "voter"),
    (LEGAL, "approval_request", "counsel", "approver"),
    (ADMIN, "incident", "incident", "admin"),
    (REPORTER, "incident", "incident", "reporter"),
    (PAGED, "incident", "incident", "paged"),
    (ADMIN, "usecase", "usecase", "admin"),
    (OWNER, "usecase", "usecase", "owner"),
    (HELPER, "usecase", "usecase", "contributor"),
    (DOC_APPROVER, "usecase", "usecase", "approver"),
    (ADMIN, "vendor", "vendor", "admin"),
    (ASSIGNEE, "vendor", "vendor", "assignee"),
    (VENDOR_REVIEWER, "vendor", "vendor", "reviewer"),
    (DOC_APPROVER, "vendor", "vendor", "approver"),
]


@pytest.mark.parametrize("user, entity_type, key, role", ALLOWED,
                         ids=[f"{role}-{key}" for _, _, key, role in ALLOWED])
def test_each_role_reads_the_history_it_takes_part_in(db, world, user, entity_type, key, role):
    found = verdict(db, user, entity_type, world[key])
    assert (found.allowed, found.role, found.exists) == (True, role, True)


REFUSED = [
    (STRANGER, "approval_request", "request", "only its requester, the approvers of code requests (reviewers)"),
    (LEGAL, "approval_request", "request", "approvers of code requests"),  # an approver of another kind
    (REVIEWER, "approval_request", "counsel", "approvers of counsel requests (legal-ug)"),
    (STRANGER, "incident", "incident", "only whoever reported it, the people paged for it"),
    (LATER, "incident", "incident", "the people paged for it"),  # on the rotation, not paged
    (REQUESTER, "incident", "incident", "the people paged for it"),
    (STRANGER, "usecase", "usecase", "only its owner, its contributors, the documentation approvers"),
    (ASSIGNEE, "usecase", "usecase", "only its owner"),
    (STRANGER, "vendor", "vendor", "only its assignee, its reviewer, the documentation approvers"),
    (OWNER, "vendor", "vendor", "only its assignee"),
]


@pytest.mark.parametrize("user, entity_type, key, words", REFUSED,
                         ids=[f"{user}-{key}" for user, _, key, _ in REFUSED])
def test_everyone_else_is_refused_with_the_reason(db, world, user, entity_type, key, words):
    found = verdict(db, user, entity_type, world[key])
    assert (found.allowed, found.role, found.exists) == (False, None, True)
    assert words in found.reason and str(world[key]) in found.reason


def test_a_user_group_member_is_an_approver_only_as_the_directory_resolves_the_group(db, world):
    unresolved = {name: members for name, members in RESOLVED.items() if name != "legal-ug"}
    # Not resolved now: the frozen snapshot's static members count, and a user group has none.
    assert not verdict(db, LEGAL, "approval_request", world["counsel"], group_members=unresolved).allowed
    assert not verdict(db, LEGAL, "approval_request", world["counsel"],
                       group_members={**RESOLVED, "legal-ug": ["U0OTHER"]}).allowed


def test_someone_who_voted_keeps_reading_after_leaving_the_group(db, world):
    found = verdict(db, "U0REV2", "approval_request", world["request"],
                    group_members={**RESOLVED, "reviewers": [REVIEWER]})
    assert (found.allowed, found.role) == (True, "voter")


def test_an_entity_that_does_not_exist_is_said_so_to_everyone(db, world):
    for user in (ADMIN, STRANGER):
        found = verdict(db, user, "approval_request", 999)
        assert (found.allowed, found.exists, found.reason) == (False, False, "There is no request 999.")
    assert verdict(db, STRANGER, "usecase", 999).reason == "There is no usecase 999."


def test_the_history_shows_only_the_entitys_sealed_events_newest_first(db, world):
    with db.session() as s:
        page = browse.newest_first(s, AuditFilter(entity_type="approval_request", entity_id=str(world["request"])),
                                   limit=15)
    assert [e["action"] for e in page.events] == ["approval.approved", "approval.voted", "approval.requested"]
    assert [e["seq"] for e in page.events] == sorted((e["seq"] for e in page.events), reverse=True)
    assert page.events[-1]["payload"]["title"] == "Refactor <!channel> retries"  # stored as typed
    assert (page.newer, page.older) == (False, False)


def test_unsealed_events_are_not_shown(db, world):
    flt = AuditFilter(entity_type="usecase", entity_id=str(world["usecase"]))
    with db.session() as s:
        before = [e["seq"] for e in browse.newest_first(s, flt, limit=15).events]
        registry.retire(s, world["usecase"], authority=registry.Authority(OWNER, frozenset()), now=T0, playbook=PB)
    with db.session() as s:
        assert [e["seq"] for e in browse.newest_first(s, flt, limit=15).events] == before
    seal_all(db, now=T0 + timedelta(minutes=6))
    with db.session() as s:
        assert browse.newest_first(s, flt, limit=15).events[0]["action"] == "usecase.retired"


def test_a_refusal_is_recorded_in_a_transaction_of_its_own(db, world):
    request_id = world["request"]
    found = verdict(db, STRANGER, "approval_request", request_id)
    with db.session() as s:
        access.deny(s, reader=reader(STRANGER), now=T0 + timedelta(hours=1), asked=f"/ai-audit request {request_id}",
                    reason=found.reason, entity=("approval_request", str(request_id)))
    with db.session() as s:
        denied = s.exec(select(AuditEvent).where(AuditEvent.action == access.DENIED)).one()
    assert (denied.actor, denied.entity_type, denied.entity_id) == (STRANGER, "approval_request", str(request_id))
    assert denied.payload == {"asked": f"/ai-audit request {request_id}", "reason": found.reason}
    assert denied.seq is None  # sealed later, like every event
    seal_all(db, now=T0 + timedelta(hours=1))
    # The requester, reading their request's history, sees who tried to read it.
    with db.session() as s:
        page = browse.newest_first(s, AuditFilter(entity_type="approval_request", entity_id=str(request_id)),
                                   limit=15)
    assert page.events[0]["action"] == access.DENIED and page.events[0]["actor"] == STRANGER


def test_a_refused_listing_is_recorded_on_the_readers_own_record(db):
    with db.session() as s:
        access.deny(s, reader=reader(STRANGER), now=T0, asked="/ai-audit since:7d", reason=access.ADMINS_ONLY)
    with db.session() as s:
        denied = s.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
    assert (denied.action, denied.actor, denied.entity_type, denied.entity_id) == \
        (access.DENIED, STRANGER, "slack_user", STRANGER)
    assert denied.payload["asked"] == "/ai-audit since:7d"


def test_a_long_request_is_clipped_to_fit_the_log(db):
    with db.session() as s:
        access.deny(s, reader=reader(STRANGER), now=T0, asked="x" * 5000, reason="y" * 5000,
                    entity=("approval_request", "9" * 200))
    with db.session() as s:
        denied = s.exec(select(AuditEvent)).one()
    assert len(denied.payload["asked"]) == 200 and len(denied.payload["reason"]) == 300
    assert len(denied.entity_id) == 64
