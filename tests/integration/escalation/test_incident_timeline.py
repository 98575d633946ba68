"""The timeline: every page, ack, un-ack, update, resolve and reopen, in order, from the audit log."""

from datetime import timedelta

import pytest
from incident_world import MINUTE, REPORTER, T0, ack, make_runner, open_incident, sweep_until

import escalation
from bot.clock import ManualClock


def test_the_timeline_tells_the_whole_story_in_order(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev2")
    sweep_until(runner, clock, T0 + 6 * MINUTE)
    ack(db, iid, "U0SEC1", now=clock.now())  # +6
    ack(db, iid, "U0STRANGER", now=clock.now())  # told "already": not an event
    clock.advance(MINUTE)
    with db.session() as s:
        escalation.post_update(s, incident_id=iid, user="U0SEC1", now=clock.now(), text="Contained.")  # +7
    clock.advance(MINUTE)
    with db.session() as s:
        escalation.unacknowledge(s, incident_id=iid, user="U0SEC1", now=clock.now())  # +8, run 2 pages U0PRI1
    sweep_until(runner, clock, T0 + 9 * MINUTE)
    with db.session() as s:
        escalation.resolve(s, incident_id=iid, user="U0PRI1", now=clock.now(), summary="Filter deployed.")  # +9
    clock.advance(MINUTE)
    with db.session() as s:
        escalation.acknowledge(s, incident_id=iid, user="U0STRANGER", now=clock.now())  # refused: not shown
        escalation.reopen(s, incident_id=iid, user=REPORTER, now=clock.now(), reason="Seen again.")  # +10

    with db.session() as s:
        entries = escalation.timeline(s, iid)
    assert [(e["at"], e["action"], e["actor"], e["run"]) for e in entries] == [
        ((T0).isoformat(), "incident.opened", REPORTER, 1),
        ((T0).isoformat(), "incident.paged", None, 1),
        ((T0 + 5 * MINUTE).isoformat(), "incident.paged", None, 1),
        ((T0 + 6 * MINUTE).isoformat(), "incident.acknowledged", "U0SEC1", 1),
        ((T0 + 7 * MINUTE).isoformat(), "incident.update_posted", "U0SEC1", 1),
        ((T0 + 8 * MINUTE).isoformat(), "incident.unacknowledged", "U0SEC1", 2),
        ((T0 + 8 * MINUTE).isoformat(), "incident.paged", None, 2),
        ((T0 + 9 * MINUTE).isoformat(), "incident.resolved", "U0PRI1", 2),
        ((T0 + 10 * MINUTE).isoformat(), "incident.reopened", REPORTER, 3),
    ]
    texts = [e["text"] for e in entries]
    assert texts[1] == "Paged <@U0PRI1> — rotation:ai-primary, step 1 (round 1)"
    assert texts[3] == "<@U0SEC1> acknowledged"
    assert texts[4] == "<@U0SEC1> posted an update: Contained."
    assert texts[7] == "<@U0PRI1> resolved: Filter deployed."
    assert texts[8] == "<@U0REPORT> reopened: Seen again."
    assert entries[1]["details"]["user"] == "U0PRI1" and entries[1]["kind"] == "paged"


def test_the_timeline_of_an_unknown_incident_is_an_input_error(db):
    with db.session() as s, pytest.raises(escalation.UnknownIncident):
        escalation.timeline(s, 404)


def test_skips_and_reminders_are_on_the_timeline(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev4")  # the user group nobody resolved is skipped
    sweep_until(runner, clock, T0 + timedelta(minutes=10))
    with db.session() as s:
        kinds = [e["kind"] for e in escalation.timeline(s, iid)]
    assert kinds == ["opened", "step_skipped", "paged", "exhausted"]
