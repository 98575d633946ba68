"""The dedicated channel: once Slack has created it, invite, post and pin; fall back when not."""

from datetime import timedelta

from incident_world import (
    GOVERNANCE,
    INCIDENTS,
    REPORTER,
    T0,
    audit_actions,
    deliver,
    incident,
    make_runner,
    open_incident,
    outbox_rows,
    sweep_until,
    timer_rows,
)

from bot.clock import ManualClock

SECOND = timedelta(seconds=1)


def test_once_the_channel_exists_paged_people_are_invited_and_the_summary_posted_then_pinned(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev1")
    sweep_until(runner, clock, T0 + 3 * SECOND, step=SECOND)  # step 1 paged; the channel is not there yet
    assert incident(db, iid).channel is None
    ready = timer_rows(db, iid, "incident.channel_ready")
    assert [(t.status, t.due_at) for t in ready] == [("done", T0 + 2 * SECOND), ("pending", T0 + 6 * SECOND)]

    deliver(db, f"incident:{iid}:channel:1", now=clock.now(), channel="C0NEWCHAN")
    sweep_until(runner, clock, T0 + 6 * SECOND, step=SECOND)
    inc = incident(db, iid)
    assert (inc.channel, inc.summary_key) == ("C0NEWCHAN", f"incident:{iid}:summary")
    [invite] = outbox_rows(db, iid, method="conversations.invite")
    assert (invite.channel, invite.payload) == ("C0NEWCHAN", {"channel": "C0NEWCHAN", "users": f"{REPORTER},U0PRI1",
                                                              "force": True})
    [summary] = outbox_rows(db, iid, template="incident_summary")
    assert (summary.channel, summary.method, summary.payload["channel"]) == ("C0NEWCHAN", "chat.postMessage",
                                                                            "C0NEWCHAN")
    assert [p["user"] for p in summary.payload["pages"]] == ["U0PRI1"]
    [announce_update] = outbox_rows(db, iid, template="incident_announcement", method="chat.update")
    assert announce_update.update_of == f"incident:{iid}:announce"
    assert "incident.channel_created" in audit_actions(db, iid)

    # the pin waits for the summary's ts
    sweep_until(runner, clock, T0 + 10 * SECOND, step=SECOND)
    assert outbox_rows(db, iid, method="pins.add") == []
    deliver(db, f"incident:{iid}:summary", now=clock.now(), channel="C0NEWCHAN", ts="1700000000.000100")
    sweep_until(runner, clock, T0 + 60 * SECOND, step=SECOND)
    [pin] = outbox_rows(db, iid, method="pins.add")
    assert pin.payload == {"channel": "C0NEWCHAN", "timestamp": "1700000000.000100"}

    # from now on: talk goes to the channel, newly paged people are invited one by one
    sweep_until(runner, clock, T0 + timedelta(minutes=5), step=SECOND * 30)
    [_, notice] = outbox_rows(db, iid, template="incident_page_notice")
    assert (notice.channel, notice.thread_of, notice.payload["event"]["users"]) == ("C0NEWCHAN", None, ["U0SEC1"])
    invites = outbox_rows(db, iid, method="conversations.invite")
    assert [m.payload["users"] for m in invites] == [f"{REPORTER},U0PRI1", "U0SEC1"]


def test_a_channel_slack_never_creates_falls_back_to_the_incidents_channel(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev1")
    sweep_until(runner, clock, T0 + timedelta(minutes=10), step=SECOND * 2)
    inc = incident(db, iid)
    assert (inc.channel, inc.channel_name, inc.summary_key) == (None, None, f"incident:{iid}:summary")
    checks = timer_rows(db, iid, "incident.channel_ready")
    assert len(checks) == 12 and {t.status for t in checks} == {"done"}
    [summary] = outbox_rows(db, iid, template="incident_summary", method="chat.postMessage")
    assert summary.channel == INCIDENTS
    [failed] = outbox_rows(db, iid, template="incident_notice")
    assert failed.channel == GOVERNANCE and failed.payload["event"]["type"] == "channel_failed"
    assert "incident.channel_failed" in audit_actions(db, iid)
    # later notices go to the summary's thread
    notices = outbox_rows(db, iid, template="incident_page_notice")
    assert (notices[-1].channel, notices[-1].thread_of) == (INCIDENTS, f"incident:{iid}:summary")


def test_a_refused_channel_falls_back_at_once(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev1")
    deliver(db, f"incident:{iid}:channel:1", now=T0, failed="restricted_action")
    sweep_until(runner, clock, T0 + 2 * SECOND, step=SECOND)
    inc = incident(db, iid)
    assert (inc.channel, inc.summary_key) == (None, f"incident:{iid}:summary")
    [failed] = outbox_rows(db, iid, template="incident_notice")
    assert failed.payload["event"]["reason"] == "Slack refused to create it: restricted_action"


def test_a_name_taken_in_slack_is_retried_with_the_next_name(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev1", title="Data leak")
    deliver(db, f"incident:{iid}:channel:1", now=T0, failed="name_taken")
    sweep_until(runner, clock, T0 + 2 * SECOND, step=SECOND)
    assert incident(db, iid).channel_name == "ai-inc-20260302-data-leak-2"
    [_, retry] = outbox_rows(db, iid, method="conversations.create")
    assert (retry.key, retry.payload["name"]) == (f"incident:{iid}:channel:2", "ai-inc-20260302-data-leak-2")
    deliver(db, retry.key, now=clock.now(), channel="C0LEAK")
    sweep_until(runner, clock, T0 + 6 * SECOND, step=SECOND)
    assert incident(db, iid).channel == "C0LEAK"


def test_an_incident_is_found_by_its_channel(db):
    import escalation

    iid = open_incident(db, "sev1")
    deliver(db, f"incident:{iid}:channel:1", now=T0, channel="C0FOUND")
    clock = ManualClock(T0)
    sweep_until(make_runner(db, clock), clock, T0 + 2 * SECOND, step=SECOND)
    with db.session() as s:
        assert escalation.by_channel(s, "C0FOUND").id == iid
        assert escalation.by_channel(s, "C0ELSEWHERE") is None
        assert escalation.by_channel(s, None) is None
