"""The parts of the incident view that do not need a database: protocol and buttons."""

from escalation.views import actions, chain_data, protocol
from models.incident import Incident
from services.playbook import escalation_chain, load_playbook_text

PB = load_playbook_text("""
version: 1
timezone: UTC
admins: [U0ADMIN]
channels: {governance: C0GOV}
escalation:
  severities:
    sev1: {policy: p, update_every: 30m}
    sev2: {policy: p}
  policies:
    p: {steps: [{notify: "user:U0BOSS", wait: 5m}, {notify: "channel:governance"}]}
""").playbook


def test_the_protocol_follows_the_cadence_and_the_category():
    items = protocol(escalation_chain(PB, "sev1"), "data_exposure")
    assert [i["id"] for i in items] == ["acknowledge", "contain", "assess", "privacy", "updates", "resolve"]
    assert items[4]["text"] == "Post a status update every 30m"
    assert [i["id"] for i in protocol(escalation_chain(PB, "sev2"), "other")] == [
        "acknowledge", "contain", "assess", "updates", "resolve"]


def test_the_buttons_follow_the_status():
    chain = escalation_chain(PB, "sev1")
    assert actions(Incident(status="open"), chain) == ["acknowledge", "post_update", "snooze_updates", "resolve",
                                                       "timeline"]
    assert actions(Incident(status="acknowledged"), escalation_chain(PB, "sev2")) == [
        "unacknowledge", "post_update", "resolve", "timeline"]
    assert actions(Incident(status="resolved"), chain) == ["reopen", "timeline"]


def test_the_chain_summary():
    assert chain_data(escalation_chain(PB, "sev1")) == {
        "policy": "p", "repeat": 0, "incident_channel": False,
        "steps": [{"target": "user:U0BOSS", "wait": "5m"}, {"target": "channel:governance", "wait": None}]}
