"""Durable timers: the row is the timer; a cancel that commits first means no effect."""

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.clock import ManualClock
from bot.timer_runner import TimerRunner
from models.timer import CANCELLED, DONE, PENDING, Timer
from services import timers

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


def add(db, ref, due):
    with db.session() as s:
        timers.schedule(s, kind="test", ref=ref, due_at=due, now=T0)


def test_schedule_is_unique_per_kind_ref_and_due_time(db):
    add(db, "r", T0)
    add(db, "r", T0)
    add(db, "r", T0 + timedelta(minutes=1))
    with db.session() as s:
        assert len(s.exec(select(Timer)).all()) == 2


def test_only_due_timers_are_claimed_in_due_order(db):
    add(db, "late", T0 + timedelta(minutes=10))
    add(db, "b", T0 + timedelta(minutes=1))
    add(db, "a", T0)
    with db.session() as s:
        got = timers.claim_due(s, now=T0 + timedelta(minutes=1), owner="w", lease=LEASE)
    assert [t.ref for t in got] == ["a", "b"]


def test_cancel_beats_a_claimed_timer(db):
    add(db, "r", T0)
    with db.session() as s:
        [t] = timers.claim_due(s, now=T0, owner="w", lease=LEASE)
    with db.session() as s:
        assert timers.cancel(s, kind="test", ref="r") == 1
    with db.session() as s:
        assert timers.complete(s, t.id, owner="w", now=T0) is False
        assert s.get(Timer, t.id).status == CANCELLED


def test_runner_fires_each_due_timer_once_and_rolls_back_on_failure(db):
    clock = ManualClock(T0)
    fired: list[str] = []
    runner = TimerRunner(db, clock, owner="w", retry_after=timedelta(seconds=30))

    def handler(session, timer, now):
        if timer.ref == "boom" and timer.attempts == 1:
            raise RuntimeError("first try fails")
        fired.append(timer.ref)

    runner.register("test", handler)
    add(db, "ok", T0)
    add(db, "boom", T0)
    add(db, "future", T0 + timedelta(hours=1))
    assert runner.sweep() == 1
    assert runner.sweep() == 0
    assert fired == ["ok"]
    clock.advance(timedelta(seconds=30))
    assert runner.sweep() == 1
    assert fired == ["ok", "boom"]
    with db.session() as s:
        statuses = {t.ref: t.status for t in s.exec(select(Timer)).all()}
    assert statuses == {"ok": DONE, "boom": DONE, "future": PENDING}


def test_a_dead_workers_claim_is_taken_over_after_its_lease(db):
    add(db, "r", T0)
    with db.session() as s:
        timers.claim_due(s, now=T0, owner="dead", lease=LEASE)
    with db.session() as s:
        assert timers.claim_due(s, now=T0 + LEASE, owner="w2", lease=LEASE) == []
        [t] = timers.claim_due(s, now=T0 + LEASE + timedelta(seconds=1), owner="w2", lease=LEASE)
    assert t.claimed_by == "w2" and t.attempts == 2


def test_scheduled_in_reports_the_earliest_due_time(db):
    with db.session() as s:
        timers.schedule(s, kind="test", ref="a", due_at=T0 + timedelta(minutes=5), now=T0)
        timers.schedule(s, kind="test", ref="b", due_at=T0 + timedelta(minutes=1), now=T0)
        assert timers.scheduled_in(s) == T0 + timedelta(minutes=1)
