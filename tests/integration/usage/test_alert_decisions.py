"""Acknowledge and Open incident on a usage alert: compare-and-set, each click audited, the
alert's message updated through the outbox, and an incident prefilled with the evidence."""

from __future__ import annotations

from datetime import timedelta

import yaml
from sqlmodel import select

from models.outbox import OutboxMessage
from services.playbook import load_playbook_text
from tests.integration.usage.usage_world import (
    BASE,
    LATER,
    T0,
    acknowledge,
    alerts,
    audit_rows,
    event,
    incidents,
    observe,
    open_incident,
    outbox_rows,
    playbook,
    use_case,
    watch,
)



def raised(db, pb=None):  # noqa: ANN001, ANN201
    pb = pb or playbook("undocumented_model")
    observe(db, event(request_model="gpt-5-turbo", input_tokens=3),
            event(request_model="gpt-5-turbo", started_at=T0 + timedelta(minutes=2), user="U0BOB",
                  service="copy-writer"))
    watch(db, pb)
    [alert] = alerts(db)
    return pb, alert


def test_acknowledge_once_then_told_who_was_first(db) -> None:  # noqa: ANN001
    pb, alert = raised(db)
    first = acknowledge(db, pb, alert.id, "U0BOB")
    assert first.outcome == "acknowledged"
    again = acknowledge(db, pb, alert.id, "U0CAROL", now=LATER + timedelta(minutes=1))
    assert again.outcome == "already"
    assert again.message == "<@U0BOB> already acknowledged this alert at 2026-12-01 10:05 CET."
    [stored] = alerts(db)
    assert (stored.status, stored.decided_by, stored.decided_at) == ("acknowledged", "U0BOB", LATER)
    assert [(a.action, a.actor) for a in audit_rows(db)] == [
        ("usage.alert_raised", "countersign"), ("usage.alert_acknowledged", "U0BOB"),
        ("usage.alert_already_decided", "U0CAROL")]
    assert audit_rows(db)[-1].payload == {"attempted": "acknowledge", "status": "acknowledged",
                                          "decided_by": "U0BOB"}
    post, update = outbox_rows(db)
    assert (post.method, update.method) == ("chat.postMessage", "chat.update")
    assert update.update_of == post.key == f"usage_alert:{alert.id}"
    assert update.payload["status"] == "acknowledged" and update.payload["decided_by"] == "U0BOB"


def test_open_incident_opens_exactly_one_prefilled_with_the_evidence(db) -> None:  # noqa: ANN001
    pb, alert = raised(db)
    acknowledge(db, pb, alert.id, "U0BOB")  # an acknowledged alert can still become an incident
    opened = open_incident(db, pb, alert.id, "U0CAROL")
    assert opened.outcome == "incident"
    assert "severity sev3" in opened.message and "least severe" in opened.message
    again = open_incident(db, pb, alert.id, "U0DAVE")
    assert again.outcome == "already" and again.incident_id == opened.incident_id
    assert again.message.startswith(f"<@U0CAROL> already opened AI incident #{opened.incident_id}")
    assert acknowledge(db, pb, alert.id, "U0DAVE").outcome == "already"

    [incident] = incidents(db)
    assert (incident.id, incident.severity, incident.reporter, incident.category) == (
        opened.incident_id, "sev3", "U0CAROL", "other")
    assert incident.title == "AI usage: gpt-5-turbo (openai) was used, but no approved use case documents it."
    lines = incident.description.splitlines()
    assert lines[0] == (f"Raised by Countersign's AI usage watch: rule undocumented_model, day 2026-12-01, "
                        f"usage alert #{alert.id}.")
    assert "Who: services copy-writer, support-bot; people U0ALICE, U0BOB" in lines
    assert "Models: gpt-5-turbo (providers: openai)" in lines
    assert "Use cases: UC-1" in lines
    assert "Calls: 2, first seen 2026-12-01 10:00 CET, last seen 2026-12-01 10:02 CET" in lines
    assert incident.affected == "UC-1"

    [stored] = alerts(db)
    assert (stored.status, stored.decided_by, stored.incident_id) == ("incident", "U0CAROL", incident.id)
    opened_events = [a for a in audit_rows(db) if a.action == "usage.alert_incident_opened"]
    assert [(a.actor, a.payload["incident_id"], a.payload["severity"]) for a in opened_events] == [
        ("U0CAROL", incident.id, "sev3")]
    updates = [m for m in outbox_rows(db) if m.method == "chat.update"]
    assert [m.key for m in updates] == [f"usage_alert:{alert.id}:acknowledged", f"usage_alert:{alert.id}:incident"]
    assert updates[-1].payload["incident_id"] == incident.id
    # The incident itself went the way /ai-incident's do: announced, its chain started.
    with db.session() as s:
        announced = s.exec(select(OutboxMessage).where(OutboxMessage.key == f"incident:{incident.id}:announce")).one()
    assert announced.channel == "C0GOV"


def test_personal_data_opens_a_data_exposure_incident(db) -> None:  # noqa: ANN001
    observe(db, event(use_case="UC-404", input_text="mail sam@example.org"))
    pb = playbook("unapproved_use_case")
    watch(db, pb)
    [alert] = alerts(db)
    open_incident(db, pb, alert.id, "U0BOB")
    assert incidents(db)[0].category == "other"  # only personal data is a data exposure

    # personal_data needs a registry record saying none; its category is data exposure.
    uc = use_case(db, privacy="")
    observe(db, event(use_case=f"UC-{uc}", input_text="mail sam@example.org"))
    watch(db, playbook("personal_data"))
    leak = alerts(db, "personal_data")[0]
    open_incident(db, pb, leak.id, "U0BOB")
    assert incidents(db)[-1].category == "data_exposure"
    assert incidents(db)[-1].affected == f"UC-{uc}"
    assert "Details: redactions: email 1" in incidents(db)[-1].description


def test_unknown_alerts_and_playbooks_without_severities_are_refused_and_audited(db) -> None:  # noqa: ANN001
    pb, alert = raised(db)
    assert acknowledge(db, pb, 999, "U0BOB").outcome == "unknown"
    bare = load_playbook_text(yaml.safe_dump({k: v for k, v in BASE.items() if k != "escalation"}))
    refused = open_incident(db, bare, alert.id, "U0BOB")
    assert refused.outcome == "refused" and "no incident severities" in refused.message
    assert alerts(db)[0].status == "open" and incidents(db) == []
    assert [(a.action, a.entity_id) for a in audit_rows(db)][1:] == [("usage.alert_refused", str(alert.id))]
