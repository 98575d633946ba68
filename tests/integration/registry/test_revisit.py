"""Revisit nudges: soon, due, backing-off re-nudges and one governance raise per review date."""

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from registry_world import (
    ASSIGNEE,
    BERLIN_PB,
    DAY,
    GOVERNANCE,
    HELPER,
    OWNER,
    REVIEWER,
    STRANGER,
    T0,
    audit_rows,
    edit,
    make_runner,
    new_usecase,
    new_vendor,
    outbox_rows,
    record,
    review,
    run_at,
    snooze,
    timer_rows,
)
from sqlmodel import select

from bot.clock import ManualClock
from models.timer import Timer
from services import registry
from services.registry import NotAllowed, RegistryInputError

DUE = T0 + 30 * DAY  # a high-risk use case created at T0
HOUR = timedelta(hours=1)


def sent(db) -> list[tuple]:
    """(channel, template, stage, number, created_at) of every registry message, in order."""
    return [(m.channel, m.template, m.payload.get("stage"), m.payload.get("number"), m.created_at)
            for m in outbox_rows(db)]


def nudge(user, stage, number, at):
    return (user, registry.T_NUDGE, stage, number, at)


def raised(at):
    return (GOVERNANCE, registry.T_RAISE, None, None, at)


@pytest.fixture
def clock():
    return ManualClock(T0)


def test_soon_due_backing_off_renudges_and_one_raise(db, clock):
    uc = new_usecase(db, risk_tier="high")
    runner = make_runner(db, clock)
    moments = [DUE - 5 * DAY - HOUR, DUE - 5 * DAY, DUE - HOUR, DUE, DUE + 2 * DAY - HOUR, DUE + 2 * DAY,
               DUE + 6 * DAY, DUE + 10 * DAY, DUE + 14 * DAY, DUE + 29 * DAY, DUE + 30 * DAY]
    for moment in moments:
        run_at(runner, clock, moment)
    assert sent(db) == [
        nudge(OWNER, "soon", 0, DUE - 5 * DAY),
        nudge(OWNER, "due", 1, DUE),
        nudge(OWNER, "overdue", 2, DUE + 2 * DAY),  # renudge_after
        nudge(OWNER, "overdue", 3, DUE + 6 * DAY),  # then twice that
        raised(DUE + 10 * DAY),  # stale_grace
        nudge(OWNER, "overdue", 4, DUE + 14 * DAY),  # four times
        nudge(OWNER, "overdue", 5, DUE + 30 * DAY),  # eight times
    ]
    raise_row = outbox_rows(db, registry.T_RAISE)[0]
    assert (raise_row.payload["ref"], raise_row.payload["days_overdue"]) == (f"UC-{uc}", 10)
    first_due = outbox_rows(db, registry.T_NUDGE)[1].payload
    assert (first_due["recipient"], first_due["tag"], first_due["snoozes_left"]) == (OWNER, DUE.isoformat(), 2)
    nudged = [e.payload for e in audit_rows(db, "usecase", uc) if e.action == "usecase.review_nudged"]
    assert [(p["stage"], p["number"], p["user"]) for p in nudged][:3] == [
        ("soon", 0, OWNER), ("due", 1, OWNER), ("overdue", 2, OWNER)]
    assert [e.action for e in audit_rows(db, "usecase", uc)].count("usecase.review_raised") == 1


def test_a_restarted_runner_sends_nothing_twice(db, clock):
    new_usecase(db, risk_tier="high")
    for moment in (DUE - 5 * DAY, DUE, DUE + 2 * DAY, DUE + 10 * DAY):
        run_at(make_runner(db, clock, owner="first"), clock, moment)
        # Another process (or this one, restarted) sweeping the same moment finds nothing owed.
        assert run_at(make_runner(db, clock, owner="second"), clock, moment) == 0
    keys = Counter(m.key for m in outbox_rows(db))
    assert len(keys) == 5
    assert set(keys.values()) == {1}


def test_a_timer_fired_twice_still_owes_one_message(db, clock):
    uc = new_usecase(db, risk_tier="high")
    clock.set(DUE + 10 * DAY)
    with db.session() as s:
        timers = s.exec(select(Timer).where(Timer.ref == f"usecase:{uc}")).all()
        for timer in timers:  # as if a handler ran, crashed before marking done, and ran again
            for _ in range(2):
                registry.TIMER_HANDLERS[timer.kind](s, timer, clock.now())
    # The "due" nudge and the raise, once each; "due soon" is long past by then and never sent.
    assert Counter(m.payload.get("stage") or m.template for m in outbox_rows(db)) == {
        "overdue": 1, registry.T_RAISE: 1}


def test_a_review_stops_the_nudges_and_schedules_the_next_dates(db, clock):
    uc = new_usecase(db, risk_tier="high")
    runner = make_runner(db, clock)
    run_at(runner, clock, DUE)
    review(db, "usecase", uc, by=OWNER, now=DUE + DAY)
    for moment in (DUE + 2 * DAY, DUE + 6 * DAY, DUE + 10 * DAY):
        assert run_at(runner, clock, moment) == 0
    new_due = DUE + 31 * DAY
    assert [(t.kind, t.due_at) for t in timer_rows(db, "usecase", uc, status="pending")] == [
        ("revisit.soon", new_due - 5 * DAY), ("revisit.due", new_due), ("revisit.raise", new_due + 10 * DAY)]
    run_at(runner, clock, new_due - 5 * DAY)
    assert sent(db)[-1] == nudge(OWNER, "soon", 0, new_due - 5 * DAY)
    assert outbox_rows(db)[-1].payload["tag"] == new_due.isoformat()


def test_a_review_date_inside_the_soon_window_gets_no_soon_nudge(db, clock):
    picked = T0 + 3 * DAY
    uc = new_usecase(db, next_review=date(2026, 3, 5))
    assert [t.kind for t in timer_rows(db, "usecase", uc)] == ["revisit.due", "revisit.raise"]
    run_at(make_runner(db, clock), clock, picked)
    assert sent(db) == [nudge(OWNER, "due", 1, picked)]


def test_a_snooze_puts_the_next_nudge_off_but_not_the_raise(db, clock):
    uc = new_usecase(db, risk_tier="high", contributors=[HELPER])
    runner = make_runner(db, clock)
    run_at(runner, clock, DUE)
    _, until = snooze(db, "usecase", uc, user=HELPER, now=DUE + HOUR)
    assert until == DUE + HOUR + 3 * DAY
    assert run_at(runner, clock, DUE + 2 * DAY) == 0  # the re-nudge it replaced
    run_at(runner, clock, until)
    assert sent(db)[-1][0] == OWNER
    assert sent(db)[-1][4] == until
    assert outbox_rows(db)[-1].payload["snoozes_left"] == 1
    run_at(runner, clock, DUE + 10 * DAY)
    assert sent(db)[-1] == raised(DUE + 10 * DAY)
    (snoozed,) = [e for e in audit_rows(db, "usecase", uc) if e.action == "usecase.review_snoozed"]
    assert (snoozed.actor, snoozed.payload) == (HELPER, {"until": until.isoformat(), "snoozes": 1})


def test_snoozes_run_out(db, clock):
    uc = new_usecase(db, risk_tier="high")
    snooze(db, "usecase", uc, user=OWNER, now=DUE)
    snooze(db, "usecase", uc, user=OWNER, now=DUE + 3 * DAY)
    with pytest.raises(NotAllowed) as caught:
        snooze(db, "usecase", uc, user=OWNER, now=DUE + 6 * DAY)
    assert caught.value.message.startswith("This review was snoozed 2 times, the most the playbook allows")
    assert record(db, "usecase", uc).snoozes == 2
    # A review starts the count again (and the next review is not due yet: nothing to snooze).
    review(db, "usecase", uc, by=OWNER, now=DUE + 7 * DAY)
    assert record(db, "usecase", uc).snoozes == 0
    with pytest.raises(RegistryInputError) as early:
        snooze(db, "usecase", uc, user=OWNER, now=DUE + 7 * DAY)
    assert "nothing to snooze yet" in early.value.message


def test_a_stale_reminder_cannot_be_snoozed(db, clock):
    uc = new_usecase(db, risk_tier="high")
    review(db, "usecase", uc, by=OWNER, now=DUE)
    with pytest.raises(RegistryInputError) as caught:
        snooze(db, "usecase", uc, user=OWNER, now=DUE, tag=DUE.isoformat())
    assert type(caught.value) is RegistryInputError
    assert caught.value.field == "id"
    assert record(db, "usecase", uc).snoozes == 0


def test_only_keepers_snooze(db, clock):
    uc = new_usecase(db, risk_tier="high")
    with pytest.raises(NotAllowed):
        snooze(db, "usecase", uc, user=STRANGER, now=DUE)
    assert record(db, "usecase", uc).snoozes == 0


def test_snoozing_a_soon_nudge_never_brings_the_due_nudge_forward(db, clock):
    uc = new_usecase(db, risk_tier="high")
    runner = make_runner(db, clock)
    run_at(runner, clock, DUE - 5 * DAY)
    # "Due soon" only tells: a review can be put off once it is due, not before.
    with pytest.raises(RegistryInputError) as early:
        snooze(db, "usecase", uc, user=OWNER, now=DUE - 5 * DAY)
    assert "nothing to snooze yet" in early.value.message
    for moment in (DUE - 2 * DAY, DUE - DAY):
        assert run_at(runner, clock, moment) == 0, "a 'due' nudge came before the review was due"
    run_at(runner, clock, DUE)
    assert sent(db)[-1] == nudge(OWNER, "due", 1, DUE)


def test_an_unretired_overdue_use_case_is_nudged_again(db, clock):
    uc = new_usecase(db, risk_tier="high")
    runner = make_runner(db, clock)
    run_at(runner, clock, DUE)
    edit(db, "usecase", uc, {"status": "retired"}, by=OWNER, now=DUE + DAY)
    edit(db, "usecase", uc, {"status": "proposed"}, by=OWNER, now=DUE + 3 * DAY)
    for day in range(4, 40):
        run_at(runner, clock, DUE + day * DAY)
    later = [row for row in sent(db) if row[1] == registry.T_NUDGE and row[4] > DUE + 3 * DAY]
    assert later != [], "no nudge at all after the use case came back, though it stays overdue"


@pytest.mark.parametrize(("reviewer", "recipient"), [(REVIEWER, REVIEWER), ("", ASSIGNEE)])
def test_vendor_nudges_go_to_the_reviewer_else_the_assignee(db, clock, reviewer, recipient):
    v = new_vendor(db, risk_level="high", reviewer=reviewer)
    due = T0 + 60 * DAY
    runner = make_runner(db, clock)
    run_at(runner, clock, due - 5 * DAY)
    run_at(runner, clock, due)
    assert sent(db) == [
        (recipient, registry.T_NUDGE, "soon", 0, due - 5 * DAY),
        (recipient, registry.T_NUDGE, "due", 1, due),
    ]
    assert outbox_rows(db)[-1].payload["ref"] == f"V-{v}"
    snooze(db, "vendor", v, user=recipient, now=due)
    assert record(db, "vendor", v).snoozes == 1


def test_a_record_written_with_a_non_utc_clock_is_still_nudged(db, clock):
    # The same instant, read from a clock in the playbook's zone rather than UTC.
    new_usecase(db, risk_tier="high", now=T0.astimezone(ZoneInfo("Europe/Berlin")))
    runner = make_runner(db, clock)
    run_at(runner, clock, DUE - 5 * DAY)
    run_at(runner, clock, DUE)
    assert [row[2] for row in sent(db)] == ["soon", "due"]


# --- after a clock jump, and counting days -------------------------------------------------------


@pytest.mark.parametrize(("jump", "sends"), [
    (DUE - HOUR, [("soon", 0)]),  # late, but still before the date: "due soon" is true
    (DUE + HOUR, [("due", 1)]),  # the date has come: only "due today"
    (DUE + 3 * DAY, [("overdue", 1)]),
])
def test_after_a_clock_jump_only_the_current_nudge_goes_out(db, clock, jump, sends):
    uc = new_usecase(db, risk_tier="high")
    run_at(make_runner(db, clock), clock, jump)
    assert [(row[2], row[3]) for row in sent(db) if row[1] == registry.T_NUDGE] == sends
    assert [t.kind for t in timer_rows(db, "usecase", uc, status="pending")][0] != "revisit.soon"


BERLIN = ZoneInfo("Europe/Berlin")
# Picked in the form: the morning of 2 April on Berlin's wall clock (07:00 UTC, summer time).
BERLIN_DUE = datetime(2026, 4, 2, 9, 0, tzinfo=BERLIN)


def berlin_usecase(db) -> int:
    return new_usecase(db, playbook=BERLIN_PB, next_review=date(2026, 4, 2))


@pytest.mark.parametrize(("now", "days_to_review"), [
    (BERLIN_DUE - 9 * HOUR - timedelta(minutes=30), 1),  # 23:30 the evening before
    (BERLIN_DUE - HOUR, 0),  # due today, not yet the hour
    (BERLIN_DUE + 14 * HOUR + timedelta(minutes=30), 0),  # 23:30 on the day
    (BERLIN_DUE + 15 * HOUR + timedelta(minutes=30), -1),  # 00:30 the next day, still 2 April in UTC
    (BERLIN_DUE + 15 * DAY - HOUR, -15),  # fifteen days on, an hour short of 15×24 hours
    (BERLIN_DUE + 15 * DAY, -15),
])
def test_days_to_review_count_the_playbooks_calendar(db, now, days_to_review):
    uc = berlin_usecase(db)
    with db.session() as s:
        summary = registry.record_summary(s, "usecase", registry.get(s, "usecase", uc), now=now, tz=BERLIN)
    assert (summary["days_to_review"], summary["next_review_on"], summary["timezone"]) == (
        days_to_review, "2026-04-02", "Europe/Berlin")


def test_nudge_stage_and_raise_count_days_by_the_playbooks_calendar(db, clock):
    uc = berlin_usecase(db)
    runner = make_runner(db, clock)
    run_at(runner, clock, BERLIN_DUE + 15 * HOUR + timedelta(minutes=30))  # past midnight in Berlin
    (first,) = outbox_rows(db, registry.T_NUDGE)
    assert (first.payload["stage"], first.payload["days_to_review"]) == ("overdue", -1)
    run_at(runner, clock, BERLIN_DUE + 15 * DAY - HOUR)  # stale_grace (10d) is long past
    (raise_row,) = outbox_rows(db, registry.T_RAISE)
    assert raise_row.payload["days_overdue"] == 15
    assert record(db, "usecase", uc).next_review_at == BERLIN_DUE


def test_the_nudge_says_how_long_the_playbooks_snooze_is(db, clock):
    new_usecase(db, risk_tier="high")
    run_at(make_runner(db, clock), clock, DUE)
    assert outbox_rows(db, registry.T_NUDGE)[-1].payload["snooze_for"] == "3d"  # the playbook's snooze
