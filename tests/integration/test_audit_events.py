"""The audit events of failures and refusals that have no other record: an outbox message given
up on, a digest subscription, a playbook group nobody can resolve, a record or request refused
before it exists — each written with its change, once, and saying what happened without
repeating what a message said. (tests/reliability/test_audit_coverage.py walks every surface
through the bot; these pin the services' side of it.)"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.clock import ManualClock
from bot.dispatcher import DispatchPolicy, Dispatcher
from bot.settings import Settings
from bot.slack import web_client
from models.audit import AuditEvent
from models.outbox import FAILED, OutboxMessage
from services import approvals, outbox, playbook_changes, registry
from services.playbook import load_playbook_text
from services.registry import digest
from tests.harness.fake_slack import FakeSlack, Fault
from tests.harness.paths import require_shared_file

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
PLAYBOOK = load_playbook_text("""
version: 1
timezone: Europe/Berlin
admins: [U0ADMIN]
groups:
  reviewers: {members: [U0REV]}
channels: {governance: C0GOV}
off_limits:
  - {id: covert-profiling, text: "No AI inference of protected attributes about customers."}
approvals:
  code: {approvers: [reviewers], required: 1}
  documented: {approvers: [reviewers], required: 1, require_documented_use_case: true}
""")


def events(db, action: str | None = None) -> list[AuditEvent]:
    with db.session() as s:
        query = select(AuditEvent).order_by(col(AuditEvent.id))
        if action is not None:
            query = query.where(AuditEvent.action == action)
        return list(s.exec(query).all())


def owe(db, key: str, *, channel: str = "C0GOV", template: str | None = None, payload: dict | None = None) -> None:
    with db.session() as s:
        outbox.enqueue(s, key=key, method="chat.postMessage", channel=channel, template=template,
                       payload=payload if payload is not None else {"text": f"the words of {key}"}, now=T0)


# --- the outbox giving up ---------------------------------------------------------------------------


def test_a_message_given_up_on_is_an_audit_event_in_the_same_transaction(db):
    owe(db, "approval:7:r1:post")
    with db.session() as s:
        [msg] = outbox.claim_due(s, now=T0, owner="w1", lease=LEASE)
    with db.session() as s:
        assert outbox.mark_failed(s, msg.id, owner="w1", now=T0, error="channel_not_found") is True
        [event] = [e for e in s.new if isinstance(e, AuditEvent)]  # not committed yet: one transaction
    [event] = events(db)
    assert (event.action, event.actor, event.entity_type, event.entity_id) == \
        ("outbox.failed", "countersign", "outbox_message", str(msg.id))
    assert event.payload == {"key": "approval:7:r1:post", "method": "chat.postMessage", "channel": "C0GOV",
                             "template": None, "attempts": 1, "error": "channel_not_found"}


def test_an_outcome_recorded_by_a_process_that_lost_its_claim_is_not_audited(db):
    owe(db, "k1")
    with db.session() as s:
        [msg] = outbox.claim_due(s, now=T0, owner="dead", lease=LEASE)
    with db.session() as s:
        outbox.claim_due(s, now=T0 + LEASE + timedelta(seconds=1), owner="w2", lease=LEASE)
    with db.session() as s:
        assert outbox.mark_failed(s, msg.id, owner="dead", now=T0, error="channel_not_found") is False
    assert events(db) == []


@pytest.fixture
def fake():
    fake = FakeSlack(spec_path=require_shared_file("slack_web_openapi_v2.json"))
    fake.start()
    yield fake
    fake.stop()
    assert fake.violations == []


def dispatcher(db, fake: FakeSlack, clock: ManualClock, **policy) -> Dispatcher:
    client = web_client(Settings(slack_bot_token="xoxb-test", slack_api_url=fake.base_url, slack_api_timeout=0.5),
                        in_call_retries=False)

    async def no_sleep(seconds: float) -> None:
        return None

    return Dispatcher(db, client, clock, owner="test", sleep=no_sleep,
                      policy=DispatchPolicy(**{"channel_interval": 0, "retry_base": 1, "retry_cap": 1, **policy}))


async def test_the_last_attempt_names_slacks_answer_and_how_many_tries(db, fake):
    clock = ManualClock(T0)
    fake.inject_always("chat.postMessage", Fault.server_error(503))
    d = dispatcher(db, fake, clock, max_attempts=3)
    owe(db, "k1")
    for _ in range(3):
        await d.run_once()
        clock.advance(timedelta(seconds=2))
    [event] = events(db, "outbox.failed")
    assert event.payload["attempts"] == 3
    assert event.payload["error"] == "gave up after 3 attempts: HTTP 503"
    assert event.at == T0 + timedelta(seconds=4)


async def test_a_template_that_cannot_render_is_audited_without_what_it_would_have_said(db, fake):
    secret = "Customer 4711's address is 1 Main St"

    def broken(data):
        raise ValueError(f"cannot render {data['text']}")

    d = dispatcher(db, fake, ManualClock(T0))
    d.templates = {"broken": broken}
    owe(db, "k1", template="broken", payload={"text": secret})
    await d.run_once()
    with db.session() as s:
        msg = s.exec(select(OutboxMessage).where(OutboxMessage.key == "k1")).one()
    assert msg.status == FAILED and secret in msg.last_error  # the operator's row keeps the detail
    [event] = events(db, "outbox.failed")
    assert event.payload["error"] == "template broken failed: ValueError"
    assert secret not in str(event.payload)


async def test_a_delivered_or_retried_message_is_not_an_audit_event(db, fake):
    clock = ManualClock(T0)
    fake.inject("chat.postMessage", Fault.server_error(503))
    d = dispatcher(db, fake, clock)
    owe(db, "k1")
    await d.run_once()
    clock.advance(timedelta(seconds=2))
    await d.run_once()
    with db.session() as s:
        assert s.exec(select(OutboxMessage.status)).one() == "sent"
    assert events(db) == []


# --- digest subscriptions -------------------------------------------------------------------------


def test_turning_the_personal_digest_on_or_off_is_audited_only_when_it_changes(db):
    with db.session() as s:
        assert digest.subscribe(s, user="U0A", on=True, now=T0) is True
        assert digest.subscribe(s, user="U0A", on=True, now=T0) is False
    with db.session() as s:
        assert digest.subscribe(s, user="U0A", on=False, now=T0) is True
        assert digest.subscribe(s, user="U0A", on=False, now=T0) is False
    assert [(e.action, e.actor, e.entity_type, e.entity_id, e.payload) for e in events(db)] == [
        ("digest.subscribed", "U0A", "digest", "user:U0A", {}),
        ("digest.unsubscribed", "U0A", "digest", "user:U0A", {}),
    ]


# --- groups nobody can resolve ----------------------------------------------------------------------


def test_an_unresolvable_group_is_audited_once_per_playbook_as_governance_is_told(db):
    for _ in range(2):  # a start, then a reload of the same playbook: told once
        with db.session() as s:
            playbook_changes.record_unresolved_groups(s, now=T0, playbook_hash="a" * 64,
                                                      problems={"legal": "user group S0LEGAL: no_such_subteam"},
                                                      governance_channel="C0GOV")
    with db.session() as s:
        playbook_changes.record_unresolved_groups(s, now=T0, playbook_hash="b" * 64,
                                                  problems={"legal": "user group S0LEGAL: no_such_subteam"},
                                                  governance_channel="C0GOV")
    found = [(e.action, e.actor, e.entity_type, e.entity_id, e.payload) for e in events(db)]
    assert found == [("playbook.group_unresolved", "countersign", "playbook", h * 12,
                      {"group": "legal", "error": "user group S0LEGAL: no_such_subteam"}) for h in "ab"]
    with db.session() as s:
        assert len(s.exec(select(OutboxMessage)).all()) == 2


# --- refusals before anything exists ---------------------------------------------------------------


def test_a_record_refused_before_it_exists_is_denied_on_new(db):
    with db.session() as s:
        registry.deny(s, "vendor", None, actor="U0OWN", attempted="create",
                      reason="The assignee cannot sign the review off", now=T0)
    [event] = events(db)
    assert (event.action, event.entity_type, event.entity_id) == ("vendor.denied", "vendor", "new")
    assert event.payload == {"ref": None, "attempted": "create", "reason": "The assignee cannot sign the review off"}


@pytest.mark.parametrize(("kind", "uses", "code"), [("code", ["covert-profiling"], "off_limits"),
                                                    ("documented", [], "use_case_required")])
def test_a_request_the_playbook_refuses_writes_nothing_and_its_refusal_is_recorded_apart(db, kind, uses, code):
    with pytest.raises(approvals.PolicyRefusal) as refused:
        with db.session() as s:
            approvals.open_request(s, playbook=PLAYBOOK, kind=kind, audience="internal", title="Profile buyers",
                                   reference="https://github.com/acme/app/pull/1", requester="U0DEV", now=T0,
                                   group_members={"reviewers": ["U0REV"]}, declared_uses=uses)
    assert refused.value.code == code
    assert events(db) == []
    with db.session() as s:
        approvals.refuse_opening(s, requester="U0DEV", now=T0, kind=kind, audience="internal",
                                 refusal=refused.value)
    [event] = events(db)
    assert (event.action, event.actor, event.entity_type, event.entity_id) == \
        ("approval.denied", "U0DEV", "approval_request", "new")
    assert event.payload == {"attempted": "request", "code": code, "reason": refused.value.message,
                             "kind": kind, "audience": "internal"}


def test_a_mistyped_request_is_not_a_refusal(db):
    with pytest.raises(approvals.ApprovalInputError) as mistyped:
        with db.session() as s:
            approvals.open_request(s, playbook=PLAYBOOK, kind="code", audience="internal", title="",
                                   reference="https://github.com/acme/app/pull/1", requester="U0DEV", now=T0,
                                   group_members={})
    assert not isinstance(mistyped.value, approvals.PolicyRefusal)
