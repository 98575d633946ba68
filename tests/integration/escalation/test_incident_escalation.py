"""The chain on an injected clock: pages at the exact times, acknowledgement stops it, un-ack
restarts it, resolve ends it, empty targets are skipped, and a chain that runs out is reported."""

import json
from datetime import timedelta

from incident_world import (
    ADMINS,
    EXHAUSTED_AFTER,
    GOVERNANCE,
    MINUTE,
    PAGES_PER_RUN,
    PB,
    T0,
    ack,
    audit_actions,
    audit_rows,
    incident,
    make_runner,
    open_incident,
    outbox_rows,
    page_dms,
    page_log,
    pages,
    sweep_until,
    timer_rows,
    view,
)
from sqlalchemy import update

import escalation
from blocks.incidents import incident_page
from bot.clock import ManualClock
from models.incident import Incident
from services.playbook import LoadedPlaybook, Playbook


def expected_pages(start, run=1, upto=None):
    out = []
    for minutes, round_, step, users in PAGES_PER_RUN:
        if upto is not None and minutes > upto:
            break
        out += [(run, round_, step, user, start + timedelta(minutes=minutes)) for user in users]
    return out


def test_unacknowledged_sev1_pages_each_step_at_its_time_then_repeats_then_runs_out(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev1")
    sweep_until(runner, clock, T0 + timedelta(minutes=90))

    assert page_log(db, iid) == expected_pages(T0)
    # one DM per page, owed at the very minute of the page
    assert page_dms(db, iid) == [(user, at) for _, _, _, user, at in expected_pages(T0)]
    dm = outbox_rows(db, iid, template="incident_page")[0]
    assert dm.payload["recipient"] == "U0PRI1"
    assert dm.payload["event"] == {"type": "paged", "actor": None, "at": T0.isoformat(), "round": 1, "step": 1,
                                   "target": "rotation:ai-primary", "user": "U0PRI1", "channel": None}
    assert "acknowledge" in dm.payload["actions"] and dm.payload["id"] == iid

    # 60 minutes in: the last wait ran out — governance and both admins told, once
    exhausted = outbox_rows(db, iid, template="incident_exhausted")
    assert [(m.channel, m.created_at) for m in exhausted] == [(GOVERNANCE, T0 + EXHAUSTED_AFTER)] + [
        (admin, T0 + EXHAUSTED_AFTER) for admin in ADMINS]
    assert audit_actions(db, iid).count("incident.exhausted") == 1
    assert audit_actions(db, iid).count("incident.paged") == 8
    assert incident(db, iid).status == "open"  # anyone paged can still take it
    assert [t.status for t in timer_rows(db, iid, "incident.step")] == ["done"] * 7


def test_acknowledging_at_7_minutes_stops_the_chain(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev1")
    sweep_until(runner, clock, T0 + 7 * MINUTE)
    outcome = ack(db, iid, "U0SEC1", now=clock.now())
    assert outcome.outcome == "acknowledged"
    before = len(outbox_rows(db, iid, template="incident_page", method="chat.postMessage"))
    sweep_until(runner, clock, T0 + timedelta(hours=3))

    assert page_log(db, iid) == expected_pages(T0, upto=5)
    assert len(outbox_rows(db, iid, template="incident_page", method="chat.postMessage")) == before == 2
    assert outbox_rows(db, iid, template="incident_exhausted") == []
    steps = timer_rows(db, iid, "incident.step")
    assert [(t.status, t.due_at) for t in steps] == [("done", T0), ("done", T0 + 5 * MINUTE),
                                                      ("cancelled", T0 + 15 * MINUTE)]
    inc = incident(db, iid)
    assert (inc.status, inc.acknowledged_by, inc.acknowledged_at) == ("acknowledged", "U0SEC1", T0 + 7 * MINUTE)
    # both page DMs are rewritten so their Acknowledge button is moot
    updates = outbox_rows(db, iid, template="incident_page", method="chat.update")
    assert sorted(m.channel for m in updates) == ["U0PRI1", "U0SEC1"]
    assert all(m.payload["status"] == "acknowledged" for m in updates)
    # ...and say who took it and when, not to acknowledge.
    for message in updates:
        rendered = incident_page(message.payload)
        acked = f"<@U0SEC1> acknowledged it <!date^{int((T0 + 7 * MINUTE).timestamp())}^"
        assert rendered["text"].startswith("You were paged for AI incident #")
        assert acked in rendered["text"] and "|2026-03-02 10:07 UTC>; paging has stopped." in rendered["text"]
        assert "Acknowledge to stop" not in json.dumps(rendered)
        assert [b["type"] for b in rendered["blocks"]].count("actions") == 0


def test_unacknowledging_restarts_the_chain_from_the_top_in_a_new_run(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev2")
    sweep_until(runner, clock, T0 + 7 * MINUTE)
    ack(db, iid, "U0SEC1", now=clock.now())
    sweep_until(runner, clock, T0 + 20 * MINUTE)
    with db.session() as s:
        outcome = escalation.unacknowledge(s, incident_id=iid, user="U0SEC1", now=clock.now())
    assert outcome.outcome == "unacknowledged"
    restart = clock.now()
    assert incident(db, iid).escalation_run == 2
    sweep_until(runner, clock, restart + 20 * MINUTE)

    assert page_log(db, iid) == expected_pages(T0, upto=5) + expected_pages(restart, run=2, upto=15)
    # the view shows the current run's pages only
    assert [(p["user"], p["round"], p["step"]) for p in view(db, iid)["pages"]] == [
        ("U0PRI1", 1, 1), ("U0SEC1", 1, 2), ("U0LEAD1", 1, 3), ("U0LEAD2", 1, 3)]


def test_a_stale_step_timer_of_an_earlier_run_never_fires(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev2")
    sweep_until(runner, clock, T0)
    # a step timer left behind by run 1 (say it escaped a cancel) while run 2 runs
    with db.session() as s:
        s.exec(update(Incident).where(Incident.id == iid).values(escalation_run=2))
    sweep_until(runner, clock, T0 + 10 * MINUTE)
    assert [p[:4] for p in page_log(db, iid)] == [(1, 1, 1, "U0PRI1")]


def test_resolving_ends_paging_and_reminders(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev1")
    sweep_until(runner, clock, T0 + 6 * MINUTE)
    with db.session() as s:
        outcome = escalation.resolve(s, incident_id=iid, user="U0PRI1", now=clock.now(),
                                     summary="False alarm: the test suite's canary prompt.")
    assert outcome.outcome == "resolved"
    sweep_until(runner, clock, T0 + timedelta(hours=4))
    assert len(page_log(db, iid)) == 2
    assert outbox_rows(db, iid, template="incident_update_reminder") == []
    assert outbox_rows(db, iid, template="incident_exhausted") == []
    assert {t.status for t in timer_rows(db, iid, "incident.step")} == {"done", "cancelled"}
    assert [t.status for t in timer_rows(db, iid, "incident.update_reminder")] == ["cancelled"]


def _empty_rotation_playbook() -> LoadedPlaybook:
    """A rotation nobody is on: the schema allows it, only the cross-reference check refuses it
    (and an incident keeps the roster of the playbook it opened under)."""
    data = PB.playbook.model_dump(mode="json")
    data["escalation"]["rotations"]["ai-primary"]["members"] = []
    return LoadedPlaybook(Playbook.model_validate(data), None, "0" * 64, 1)


def test_an_empty_rotation_is_skipped_at_once_and_governance_told(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev2", playbook=_empty_rotation_playbook())
    sweep_until(runner, clock, T0 + 5 * MINUTE)
    # step 1 skipped at t0, step 2 paged at once instead of 5 minutes later; step 3 ten minutes after
    assert [p[:4] + (p[4],) for p in page_log(db, iid)] == [(1, 1, 2, "U0SEC1", T0)]
    skipped = outbox_rows(db, iid, template="incident_step_skipped")
    assert [(m.channel, m.created_at) for m in skipped] == [(GOVERNANCE, T0)]
    assert skipped[0].payload["event"]["target"] == "rotation:ai-primary"
    assert skipped[0].payload["event"]["reason"] == "nobody is on call for ai-primary"
    event = [e for e in audit_rows(db, iid) if e.action == "incident.step_skipped"][0]
    assert (event.payload["round"], event.payload["step"]) == (1, 1)
    sweep_until(runner, clock, T0 + 10 * MINUTE)
    assert [p[3] for p in page_log(db, iid)] == ["U0SEC1", "U0LEAD1", "U0LEAD2"]
    assert page_log(db, iid)[-1][4] == T0 + 10 * MINUTE


def test_a_user_group_nobody_resolved_is_skipped_and_the_next_step_pages_at_once(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev4")  # group:legal-ug is a Slack user group; nobody resolved it
    sweep_until(runner, clock, T0)
    assert page_log(db, iid) == [(1, 1, 2, "U0BOSS", T0)]
    assert outbox_rows(db, iid, template="incident_step_skipped")[0].payload["event"]["reason"] == (
        "the group legal-ug has nobody in it")


def test_a_resolved_user_group_is_paged(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev4", group_members={"legal-ug": ["U0LAW1", "U0LAW2"]})
    sweep_until(runner, clock, T0 + 5 * MINUTE)
    assert [p[3] for p in page_log(db, iid)] == ["U0LAW1", "U0LAW2", "U0BOSS"]


def test_a_chain_where_every_step_is_empty_runs_out_at_once(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    data = PB.playbook.model_dump(mode="json")
    data["escalation"]["policies"]["counsel"]["steps"][1] = {"notify": "group:legal-ug", "wait": "5m"}
    pb = LoadedPlaybook(Playbook.model_validate(data), None, "1" * 64, 1)
    iid = open_incident(db, "sev4", playbook=pb)
    sweep_until(runner, clock, T0)
    assert page_log(db, iid) == []
    assert audit_actions(db, iid) == ["incident.opened", "incident.step_skipped", "incident.step_skipped",
                                      "incident.exhausted"]
    assert [m.channel for m in outbox_rows(db, iid, template="incident_exhausted")] == [GOVERNANCE, *ADMINS]


def test_a_last_step_without_wait_waits_for_ever(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev5")
    sweep_until(runner, clock, T0 + timedelta(hours=6), step=5 * MINUTE)
    assert [(p[3], p[4]) for p in page_log(db, iid)] == [("U0PRI1", T0), ("U0BOSS", T0 + 5 * MINUTE)]
    assert outbox_rows(db, iid, template="incident_exhausted") == []


def test_a_channel_target_posts_the_page_in_that_channel(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev3")
    sweep_until(runner, clock, T0)
    [page] = pages(db, iid)
    assert (page.user, page.recipient, page.target) == (None, GOVERNANCE, "channel:governance")
    [message] = outbox_rows(db, iid, template="incident_page")
    assert (message.channel, message.payload["recipient"]) == (GOVERNANCE, GOVERNANCE)
    # someone in that channel may acknowledge from there, though not paged by name
    outcome = ack(db, iid, "U0SOMEONE", now=T0 + MINUTE, via_channel=GOVERNANCE)
    assert outcome.outcome == "acknowledged"


def test_pages_before_the_channel_exists_are_noted_in_the_announcement_thread(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev1")
    sweep_until(runner, clock, T0)
    [notice] = outbox_rows(db, iid, template="incident_page_notice")
    assert (notice.channel, notice.thread_of) == (GOVERNANCE, f"incident:{iid}:announce")
    assert notice.payload["event"]["users"] == ["U0PRI1"]


def test_pages_go_to_whoever_is_on_call_when_the_step_fires(db):
    """Opened 15 minutes before the Monday 09:00 handoff: round 1 pages the outgoing people,
    round 2 (half an hour later) the incoming ones."""
    start = T0 + timedelta(days=7) - timedelta(minutes=75)  # Mon 2026-03-09 08:45 UTC
    clock = ManualClock(start)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev2", now=start)
    sweep_until(runner, clock, start + 35 * MINUTE)
    assert [(p[1], p[2], p[3]) for p in page_log(db, iid)] == [
        (1, 1, "U0PRI1"), (1, 2, "U0SEC1"), (1, 3, "U0LEAD1"), (1, 3, "U0LEAD2"),
        (2, 1, "U0PRI2"), (2, 2, "U0SEC2")]
