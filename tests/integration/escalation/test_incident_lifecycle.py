"""Who may acknowledge, un-acknowledge, resolve and reopen, and what each change writes."""

from datetime import timedelta

import pytest
from incident_world import (
    GOVERNANCE,
    INCIDENTS,
    MINUTE,
    PB,
    REPORTER,
    T0,
    ack,
    audit_actions,
    audit_rows,
    incident,
    make_runner,
    open_incident,
    outbox_rows,
    page_log,
    sweep_until,
    timer_rows,
)
from sqlmodel import select

import escalation
from bot.clock import ManualClock
from models.outbox import OutboxMessage
from models.registry import UseCase
from services import registry
from services.registry import revisit


def started(db, severity="sev2", until=T0 + 6 * MINUTE):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, severity)
    sweep_until(runner, clock, until)
    return clock, runner, iid


def test_only_someone_paged_or_an_admin_may_acknowledge(db):
    clock, _, iid = started(db)
    outcome = ack(db, iid, "U0LEAD1", now=clock.now())  # step 3 has not paged the leads yet
    assert (outcome.outcome, outcome.code) == ("denied", "not_paged")
    assert incident(db, iid).status == "open"
    denied = audit_rows(db, iid)[-1]
    assert (denied.action, denied.actor, denied.payload["attempted"]) == ("incident.denied", "U0LEAD1", "acknowledge")
    assert [t.status for t in timer_rows(db, iid, "incident.step")] == ["done", "done", "pending"]
    assert ack(db, iid, "U0ADMIN", now=clock.now(), is_admin=True).outcome == "acknowledged"
    assert audit_rows(db, iid)[-1].payload["as_admin"] is True


def test_the_second_to_acknowledge_is_told_who_beat_them(db):
    clock, _, iid = started(db)
    first = ack(db, iid, "U0PRI1", now=clock.now())
    second = ack(db, iid, "U0SEC1", now=clock.now() + MINUTE)
    assert first.outcome == "acknowledged"
    assert (second.outcome, second.by) == ("already", "U0PRI1")
    assert second.message == "<@U0PRI1> already acknowledged this incident at 2026-03-02 10:06 UTC."
    assert audit_actions(db, iid).count("incident.acknowledged") == 1


def test_replies_name_times_on_the_playbooks_wall_clock(db):
    from incident_world import PLAYBOOK_YAML

    from services.playbook import load_playbook_text

    berlin = load_playbook_text(PLAYBOOK_YAML.replace("timezone: UTC", "timezone: Europe/Berlin"))
    iid = open_incident(db, "sev2", playbook=berlin)
    ack(db, iid, "U0ADMIN", now=T0 + 6 * MINUTE, is_admin=True)
    again = ack(db, iid, "U0ADMIN", now=T0 + 7 * MINUTE, is_admin=True)
    assert again.message == "<@U0ADMIN> already acknowledged this incident at 2026-03-02 11:06 CET."
    [page_view] = [m.payload for m in outbox_rows(db, iid, template="incident_summary")][-1:]
    assert page_view["timezone"] == "Europe/Berlin"


def test_acknowledging_updates_the_summary_and_tells_the_thread(db):
    clock, _, iid = started(db)
    ack(db, iid, "U0PRI1", now=clock.now())
    [update] = [m for m in outbox_rows(db, iid, template="incident_summary", method="chat.update")
                if m.payload["event"]["type"] == "acknowledged"]
    assert (update.channel, update.update_of, update.payload["status"], update.payload["acknowledged_by"]) == (
        INCIDENTS, f"incident:{iid}:summary", "acknowledged", "U0PRI1")
    assert update.payload["actions"] == ["unacknowledge", "post_update", "snooze_updates", "resolve", "timeline"]
    [notice] = outbox_rows(db, iid, template="incident_notice")
    assert (notice.channel, notice.thread_of, notice.payload["event"]["type"]) == (
        INCIDENTS, f"incident:{iid}:summary", "acknowledged")


def test_someone_paged_in_an_earlier_run_may_still_acknowledge(db):
    clock, runner, iid = started(db)
    ack(db, iid, "U0SEC1", now=clock.now())
    with db.session() as s:
        escalation.unacknowledge(s, incident_id=iid, user="U0SEC1", now=clock.now())
    sweep_until(runner, clock, clock.now() + MINUTE)  # run 2 pages U0PRI1 only so far
    assert ack(db, iid, "U0SEC1", now=clock.now()).outcome == "acknowledged"


def test_unacknowledge_needs_a_responder_and_an_acknowledged_incident(db):
    clock, _, iid = started(db)
    with db.session() as s:
        assert escalation.unacknowledge(s, incident_id=iid, user="U0PRI1", now=clock.now()).outcome == (
            "not_acknowledged")
    ack(db, iid, "U0PRI1", now=clock.now())
    with db.session() as s:
        outcome = escalation.unacknowledge(s, incident_id=iid, user="U0STRANGER", now=clock.now())
    assert (outcome.outcome, outcome.code) == ("denied", "not_responder")
    with db.session() as s:
        outcome = escalation.unacknowledge(s, incident_id=iid, user=REPORTER, now=clock.now())
    assert outcome.outcome == "unacknowledged"
    inc = incident(db, iid)
    assert (inc.status, inc.acknowledged_by, inc.escalation_run) == ("open", None, 2)
    assert [(t.ref, t.due_at, t.payload) for t in timer_rows(db, iid, "incident.step")][-1] == (
        f"incident:{iid}:run:2", clock.now(), {"run": 2, "round": 1, "step": 1})


def test_a_restart_at_the_instant_of_an_earlier_step_gets_its_own_timer(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev2")
    sweep_until(runner, clock, T0)
    ack(db, iid, "U0PRI1", now=T0)
    with db.session() as s:
        escalation.unacknowledge(s, incident_id=iid, user="U0PRI1", now=T0)
    sweep_until(runner, clock, T0)
    assert [p[:4] for p in page_log(db, iid)] == [(1, 1, 1, "U0PRI1"), (2, 1, 1, "U0PRI1")]


def test_resolve_needs_a_summary_and_a_web_link(db):
    clock, _, iid = started(db)
    with db.session() as s, pytest.raises(escalation.IncidentInputError) as caught:
        escalation.resolve(s, incident_id=iid, user="U0PRI1", now=clock.now(), summary=" ",
                           postmortem_url="docs/pm.md")
    assert caught.value.errors == {
        "summary": "The summary is missing: say what happened and what was done about it.",
        "postmortem_url": "The postmortem link must be a web address starting with https://.",
    }
    assert incident(db, iid).status == "open"


def test_resolving_records_everything_and_tells_governance(db):
    clock, _, iid = started(db)
    with db.session() as s:
        outcome = escalation.resolve(s, incident_id=iid, user="U0PRI1", now=clock.now(),
                                     summary="Blocked the injected instruction; added a filter.",
                                     postmortem_url="https://wiki.acme.dev/pm/42", revisit_usecase=True)
    assert outcome.outcome == "resolved"
    inc = incident(db, iid)
    assert (inc.status, inc.resolved_by, inc.resolved_at, inc.postmortem_url, inc.revisit_usecase) == (
        "resolved", "U0PRI1", clock.now(), "https://wiki.acme.dev/pm/42", True)
    assert audit_actions(db, iid)[-2:] == ["incident.resolved", "incident.revisit_requested"]
    assert audit_rows(db, iid)[-1].payload["affected"] is None
    notices = outbox_rows(db, iid, template="incident_notice")
    assert [(m.channel, m.thread_of) for m in notices] == [(INCIDENTS, f"incident:{iid}:summary"), (GOVERNANCE, None)]
    assert notices[1].payload["event"]["summary"] == "Blocked the injected instruction; added a filter."
    # the page messages lose their Acknowledge button
    page_updates = outbox_rows(db, iid, template="incident_page", method="chat.update")
    assert sorted(m.channel for m in page_updates) == ["U0PRI1", "U0SEC1"]
    assert all(m.payload["actions"] == ["reopen", "timeline"] for m in page_updates)
    with db.session() as s:
        again = escalation.resolve(s, incident_id=iid, user="U0SEC1", now=clock.now(), summary="dup")
    assert (again.outcome, again.by) == ("already", "U0PRI1")


def test_a_stranger_cannot_resolve(db):
    clock, _, iid = started(db)
    with db.session() as s:
        outcome = escalation.resolve(s, incident_id=iid, user="U0STRANGER", now=clock.now(), summary="done")
    assert (outcome.outcome, outcome.code) == ("denied", "not_responder")
    assert [t.status for t in timer_rows(db, iid, "incident.step")][-1] == "pending"


def test_reopening_starts_a_new_run_and_the_reminders_again(db):
    clock, runner, iid = started(db)
    with db.session() as s:
        escalation.resolve(s, incident_id=iid, user="U0PRI1", now=clock.now(), summary="Thought it was fixed.")
    clock.advance(timedelta(hours=1))
    reopened_at = clock.now()
    with db.session() as s:
        outcome = escalation.reopen(s, incident_id=iid, user=REPORTER, now=reopened_at, reason="It is back.")
    assert outcome.outcome == "reopened"
    inc = incident(db, iid)
    assert (inc.status, inc.escalation_run, inc.resolved_by, inc.resolution_summary) == ("open", 2, None, None)
    sweep_until(runner, clock, reopened_at + 30 * MINUTE)
    assert [(p[0], p[3], p[4]) for p in page_log(db, iid) if p[0] == 2][:4] == [
        (2, "U0PRI1", reopened_at), (2, "U0SEC1", reopened_at + 5 * MINUTE),
        (2, "U0LEAD1", reopened_at + 15 * MINUTE), (2, "U0LEAD2", reopened_at + 15 * MINUTE)]
    reminders = outbox_rows(db, iid, template="incident_update_reminder")
    assert [m.created_at for m in reminders] == [reopened_at + 30 * MINUTE]
    with db.session() as s:
        assert escalation.reopen(s, incident_id=iid, user=REPORTER, now=clock.now()).outcome == "not_resolved"


def test_an_unknown_incident_is_an_input_error(db):
    with db.session() as s, pytest.raises(escalation.UnknownIncident) as caught:
        escalation.acknowledge(s, incident_id=999, user="U0PRI1", now=T0)
    assert caught.value.message == "There is no incident #999."


def test_a_step_claimed_but_not_yet_fired_does_not_page_after_an_acknowledgement(db):
    from services import timers

    clock, runner, iid = started(db, until=T0 + 4 * MINUTE)
    clock.set(T0 + 5 * MINUTE)
    with db.session() as s:  # a worker claims step 2 and is about to fire it …
        [claimed] = timers.claim_due(s, now=clock.now(), owner=runner.owner, lease=runner.lease,
                                     kinds=["incident.step"])
    assert ack(db, iid, "U0PRI1", now=clock.now()).outcome == "acknowledged"  # … when the ack commits
    assert runner._fire(claimed, clock.now()) == 0
    assert [p[3] for p in page_log(db, iid)] == ["U0PRI1"]
    assert [t.status for t in timer_rows(db, iid, "incident.step")] == ["done", "cancelled"]


def test_resolving_with_a_revisit_makes_the_named_records_due_and_nudges_their_owners(db):
    with db.session() as s:
        use_case = registry.create(s, "usecase", {
            "title": "Support bot", "description": "Answers tickets", "owner": "U0OWN", "audience": "external",
            "purpose": "Speed", "risk_tier": "high"}, authority=registry.Authority("U0OWN"), now=T0,
            playbook=PB.playbook)
        use_case_id = use_case.id
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    for kind, handler in registry.TIMER_HANDLERS.items():
        runner.register(kind, handler)
    iid = open_incident(db, affected=f"UC-{use_case_id} and V-99 (not on record)")
    clock.set(T0 + MINUTE)
    with db.session() as s:
        outcome = escalation.resolve(s, incident_id=iid, user=REPORTER, now=clock.now(), summary="Filtered.",
                                     revisit_usecase=True, playbook=PB.playbook)
    assert f"UC-{use_case_id} is now due for review" in outcome.message
    assert audit_rows(db, iid)[-1].payload["records"] == [f"UC-{use_case_id}"]
    with db.session() as s:
        assert s.get(UseCase, use_case_id).next_review_at == T0 + MINUTE
    sweep_until(runner, clock, T0 + 3 * MINUTE)
    with db.session() as s:
        nudges = s.exec(select(OutboxMessage).where(OutboxMessage.template == revisit.T_NUDGE)).all()
        assert [(m.channel, m.payload["stage"]) for m in nudges] == [("U0OWN", "due")]
