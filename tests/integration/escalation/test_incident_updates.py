"""Status-update reminders: at the severity's cadence, skipped after an update, snoozable,
over once the incident is resolved."""

from datetime import timedelta

import pytest
from incident_world import (
    INCIDENTS,
    MINUTE,
    REPORTER,
    T0,
    audit_actions,
    incident,
    make_runner,
    open_incident,
    outbox_rows,
    sweep_until,
    timer_rows,
)

import escalation
from bot.clock import ManualClock


def reminder_times(db, iid):
    return [m.created_at for m in outbox_rows(db, iid, template="incident_update_reminder")]


def test_reminders_come_at_the_cadence_until_resolved_acknowledged_or_not(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev2")
    sweep_until(runner, clock, T0 + 40 * MINUTE)
    with db.session() as s:
        escalation.acknowledge(s, incident_id=iid, user="U0PRI1", now=clock.now())
    sweep_until(runner, clock, T0 + 95 * MINUTE)
    assert reminder_times(db, iid) == [T0 + 30 * MINUTE, T0 + 60 * MINUTE, T0 + 90 * MINUTE]
    [first] = outbox_rows(db, iid, template="incident_update_reminder")[:1]
    assert (first.channel, first.thread_of) == (INCIDENTS, f"incident:{iid}:summary")
    assert first.payload["event"]["type"] == "update_reminder"
    with db.session() as s:
        escalation.resolve(s, incident_id=iid, user="U0PRI1", now=clock.now(), summary="Done.")
    sweep_until(runner, clock, T0 + timedelta(hours=5), step=10 * MINUTE)
    assert len(reminder_times(db, iid)) == 3
    assert audit_actions(db, iid).count("incident.update_reminded") == 3


def test_a_reminder_is_skipped_when_an_update_was_posted_since_the_last_one(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev2")
    sweep_until(runner, clock, T0 + 40 * MINUTE)  # reminder 1 at +30
    with db.session() as s:
        outcome = escalation.post_update(s, incident_id=iid, user="U0PRI1", now=clock.now(),
                                         text="Injected prompt blocked; checking other tenants.")
    assert outcome.outcome == "posted"
    sweep_until(runner, clock, T0 + 125 * MINUTE)
    # +60 skipped (update at +40), +90 and +120 sent
    assert reminder_times(db, iid) == [T0 + 30 * MINUTE, T0 + 90 * MINUTE, T0 + 120 * MINUTE]
    [update] = outbox_rows(db, iid, template="incident_notice")
    assert (update.channel, update.thread_of, update.payload["event"]["text"]) == (
        INCIDENTS, f"incident:{iid}:summary", "Injected prompt blocked; checking other tenants.")
    assert incident(db, iid).last_update_at == T0 + 40 * MINUTE


def test_snoozing_moves_the_next_reminder_to_the_end_of_the_snooze(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev2")
    with db.session() as s:
        outcome = escalation.snooze_updates(s, incident_id=iid, user=REPORTER, minutes=60, now=T0 + 10 * MINUTE)
    assert (outcome.outcome, outcome.message) == ("snoozed", "Status-update reminders snoozed until 2026-03-02 11:10 UTC.")
    sweep_until(runner, clock, T0 + 105 * MINUTE)
    assert reminder_times(db, iid) == [T0 + 70 * MINUTE, T0 + 100 * MINUTE]
    assert [t.status for t in timer_rows(db, iid, "incident.update_reminder")][:2] == ["cancelled", "done"]


def test_a_snooze_ending_when_the_replaced_reminder_was_due_still_reminds(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev2")
    with db.session() as s:
        escalation.snooze_updates(s, incident_id=iid, user=REPORTER, minutes=30, now=T0)
    sweep_until(runner, clock, T0 + 35 * MINUTE)
    assert reminder_times(db, iid) == [T0 + 30 * MINUTE]


def test_only_the_latest_snooze_counts(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev2")
    with db.session() as s:
        escalation.snooze_updates(s, incident_id=iid, user=REPORTER, minutes=120, now=T0)
    with db.session() as s:
        escalation.snooze_updates(s, incident_id=iid, user="U0ADMIN", minutes=30, now=T0 + MINUTE, is_admin=True)
    sweep_until(runner, clock, T0 + 125 * MINUTE)
    assert reminder_times(db, iid) == [T0 + 31 * MINUTE, T0 + 61 * MINUTE, T0 + 91 * MINUTE, T0 + 121 * MINUTE]


def test_snooze_only_for_the_offered_durations_and_severities_with_reminders(db):
    iid = open_incident(db, "sev2")
    with db.session() as s, pytest.raises(escalation.IncidentInputError) as caught:
        escalation.snooze_updates(s, incident_id=iid, user="U0PRI1", minutes=45, now=T0)
    assert caught.value.message == "Snooze for 30, 60 or 120 minutes."
    quiet = open_incident(db, "sev3")
    with db.session() as s:
        outcome = escalation.snooze_updates(s, incident_id=quiet, user="U0PRI1", minutes=30, now=T0)
    assert (outcome.outcome, outcome.code) == ("denied", "no_reminders")


def test_only_responders_snooze_the_reminders_and_a_refusal_is_audited(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev2")
    with db.session() as s:
        outcome = escalation.snooze_updates(s, incident_id=iid, user="U0PRI1", minutes=30, now=T0)
    assert (outcome.outcome, outcome.code) == ("denied", "not_responder")  # not paged yet
    sweep_until(runner, clock, T0)
    with db.session() as s:
        outsider = escalation.snooze_updates(s, incident_id=iid, user="U0NOBODY", minutes=30, now=T0)
        paged = escalation.snooze_updates(s, incident_id=iid, user="U0PRI1", minutes=30, now=T0)
    assert (outsider.outcome, outsider.code, paged.outcome) == ("denied", "not_responder", "snoozed")
    assert audit_actions(db, iid).count("incident.denied") == 2
    assert reminder_times(db, iid) == []
    sweep_until(runner, clock, T0 + 35 * MINUTE)
    assert reminder_times(db, iid) == [T0 + 30 * MINUTE]


def test_updates_need_text_and_an_unresolved_incident(db):
    iid = open_incident(db, "sev2")
    with db.session() as s, pytest.raises(escalation.IncidentInputError) as caught:
        escalation.post_update(s, incident_id=iid, user="U0PRI1", now=T0, text="")
    assert caught.value.field == "text"
    with db.session() as s:
        escalation.resolve(s, incident_id=iid, user="U0REPORT", now=T0, summary="Nothing after all.")
    with db.session() as s:
        outcome = escalation.post_update(s, incident_id=iid, user="U0PRI1", now=T0, text="late")
    assert (outcome.outcome, outcome.code) == ("denied", "resolved")
