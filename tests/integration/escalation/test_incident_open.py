"""Opening an incident: precise input errors before anything is written, then one transaction
with the incident, its audit event, the announcement, the summary or the channel, and timers."""

from datetime import timedelta

import pytest
from incident_world import (
    GOVERNANCE,
    INCIDENTS,
    PB,
    REPORTER,
    T0,
    audit_rows,
    incident,
    open_incident,
    outbox_rows,
    timer_rows,
)
from sqlmodel import func, select

import escalation
from models.audit import AuditEvent
from models.incident import Incident
from models.outbox import OutboxMessage
from models.timer import Timer


def counts(db):
    with db.session() as s:
        return [s.exec(select(func.count()).select_from(m)).one() for m in (Incident, AuditEvent, OutboxMessage, Timer)]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"severity": "sev9"}, "severity", "'sev9' is not a severity in the playbook; use one of: sev1, sev2, sev3, "
                                            "sev4, sev5."),
        ({"title": "  "}, "title", "The title is missing: say in a few words what went wrong."),
        ({"title": "x" * 151}, "title", "The title is 151 characters long; the limit is 150."),
        ({"description": "d" * 3001}, "description", "The description is 3001 characters long; the limit is 3000."),
        ({"category": "bias"}, "category", "'bias' is not a category; use one of: prompt_injection, data_exposure, "
                                           "harmful_output, model_outage, vendor_change, other."),
        ({"affected": "a" * 201}, "affected", "The affected use case or vendor is 201 characters long; the limit "
                                              "is 200."),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(db, fields, field, message):
    before = counts(db)
    args = {"severity": "sev1", "title": "Prompt injection", **fields}
    with db.session() as s, pytest.raises(escalation.IncidentInputError) as caught:
        escalation.open_incident(s, playbook=PB, reporter=REPORTER, now=T0, **args)
    assert (caught.value.field, caught.value.message) == (field, message)
    assert counts(db) == before


def test_every_bad_field_is_reported_at_once(db):
    with db.session() as s, pytest.raises(escalation.IncidentInputError) as caught:
        escalation.open_incident(s, playbook=PB, severity="nope", title="", reporter=REPORTER, now=T0,
                                 category="weird")
    assert set(caught.value.errors) == {"severity", "title", "category"}


def test_opening_without_a_dedicated_channel_posts_the_summary_in_the_incidents_channel(db):
    iid = open_incident(db, "sev2", category="prompt_injection", description="The bot revealed its system prompt.",
                        source_permalink="https://acme.slack.com/archives/C1/p1", affected="support-bot")
    inc = incident(db, iid)
    assert (inc.status, inc.severity, inc.category, inc.escalation_run, inc.channel, inc.channel_name) == (
        "open", "sev2", "prompt_injection", 1, None, None)
    assert inc.chain["policy"] == "critical" and inc.chain["update_every"] == "30m"
    assert inc.roster["rotations"].keys() == {"ai-primary", "ai-secondary"}
    assert inc.roster["groups"] == {"eng-leads": ["U0LEAD1", "U0LEAD2"]}
    assert inc.playbook_hash == PB.content_hash and inc.summary_key == f"incident:{iid}:summary"

    [opened] = audit_rows(db, iid)
    assert (opened.action, opened.actor, opened.payload["severity"], opened.payload["policy"]) == (
        "incident.opened", REPORTER, "sev2", "critical")
    rows = outbox_rows(db, iid)
    assert [(m.key, m.method, m.channel, m.template) for m in rows] == [
        (f"incident:{iid}:announce", "chat.postMessage", GOVERNANCE, "incident_announcement"),
        (f"incident:{iid}:summary", "chat.postMessage", INCIDENTS, "incident_summary"),
    ]
    summary = rows[1].payload
    assert summary["event"]["type"] == "opened"
    assert summary["protocol"][0]["id"] == "acknowledge"
    assert "evidence" in [item["id"] for item in summary["protocol"]]
    assert summary["chain"] == {"policy": "critical", "repeat": 1, "incident_channel": False, "steps": [
        {"target": "rotation:ai-primary", "wait": "5m"}, {"target": "rotation:ai-secondary", "wait": "10m"},
        {"target": "group:eng-leads", "wait": "15m"}]}
    assert summary["actions"] == ["acknowledge", "post_update", "snooze_updates", "resolve", "timeline"]

    timers = timer_rows(db, iid)
    assert [(t.kind, t.due_at, t.payload) for t in timers] == [
        ("incident.step", T0, {"run": 1, "round": 1, "step": 1}),
        ("incident.update_reminder", T0 + timedelta(minutes=30), {}),
    ]
    assert timers[0].ref == f"incident:{iid}:run:1"


def test_a_severity_with_an_incident_channel_asks_slack_for_one(db):
    iid = open_incident(db, "sev1", title="Prompt injection in support bot!")
    inc = incident(db, iid)
    assert inc.channel_name == "ai-inc-20260302-prompt-injection-in-support-bot"
    assert inc.summary_key is None  # posted once the channel exists
    create = outbox_rows(db, iid, method="conversations.create")
    assert [(m.key, m.payload) for m in create] == [
        (f"incident:{iid}:channel:1", {"name": "ai-inc-20260302-prompt-injection-in-support-bot", "is_private": False})]
    ready = timer_rows(db, iid, "incident.channel_ready")
    assert [(t.due_at, t.payload["attempt"]) for t in ready] == [(T0 + timedelta(seconds=2), 1)]
    assert [m.template for m in outbox_rows(db, iid, method="chat.postMessage")] == ["incident_announcement"]


def test_channel_names_are_deduplicated_and_dated_in_the_playbook_time_zone(db):
    from incident_world import PLAYBOOK_YAML

    from services.playbook import load_playbook_text

    tokyo = load_playbook_text(PLAYBOOK_YAML.replace("timezone: UTC", "timezone: Asia/Tokyo"))
    late = T0.replace(hour=20)  # 2026-03-03 05:00 in Tokyo
    names = [incident(db, open_incident(db, "sev1", now=late, playbook=tokyo, title="Data leak")).channel_name
             for _ in range(3)]
    assert names == ["ai-inc-20260303-data-leak", "ai-inc-20260303-data-leak-2", "ai-inc-20260303-data-leak-3"]
    other_day = incident(db, open_incident(db, "sev1", now=T0, title="Data leak")).channel_name
    assert other_day == "ai-inc-20260302-data-leak"


def test_a_long_title_makes_a_name_of_at_most_80_characters_even_with_a_suffix(db):
    title = "Customer PII (emails, phone numbers) was pasted into the vendor's prompt playground by the bot"
    first = incident(db, open_incident(db, "sev1", title=title)).channel_name
    second = incident(db, open_incident(db, "sev1", title=title)).channel_name
    assert len(first) <= 80 and len(second) <= 80
    assert first.startswith("ai-inc-20260302-customer-pii-emails-phone-numbers-was-pasted")
    assert second.endswith("-2") and second[:-2].rstrip("-") in first
