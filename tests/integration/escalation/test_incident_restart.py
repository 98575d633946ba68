"""A restart loses no step: a step due in the past, left `firing` by a process that died, fires
exactly once after the lead is taken over; with nothing due, nothing fires."""

from datetime import timedelta

from incident_world import MINUTE, T0, make_runner, open_incident, outbox_rows, page_log, sweep_until

from bot.clock import ManualClock
from services import timers


def test_a_step_claimed_by_a_dead_process_fires_exactly_once_after_reclaim(db):
    iid = open_incident(db, "sev2")
    # a process claimed step 1 at t0 and died before committing its effect
    with db.session() as s:
        [claimed] = timers.claim_due(s, now=T0, owner="dead", lease=timedelta(minutes=2), kinds=["incident.step"])
    assert claimed.status == "firing"

    later = T0 + 30 * timedelta(seconds=1)  # the new process starts 30 s later, lease not yet run out
    clock = ManualClock(later)
    runner = make_runner(db, clock, owner="reborn")
    assert runner.sweep() == 0  # the lease still stands
    with db.session() as s:
        assert timers.reclaim_orphans(s, now=later) == 1
    assert runner.sweep() == 1
    assert runner.sweep() == 0
    assert page_log(db, iid) == [(1, 1, 1, "U0PRI1", later)]
    assert len(outbox_rows(db, iid, template="incident_page")) == 1
    # the dead process, should it wake, cannot complete its claim any more
    with db.session() as s:
        assert not timers.complete(s, claimed.id, owner="dead", now=later)
    sweep_until(runner, clock, later + 5 * MINUTE)
    assert [p[3] for p in page_log(db, iid)] == ["U0PRI1", "U0SEC1"]


def test_with_nothing_due_a_restart_fires_nothing(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    iid = open_incident(db, "sev2")
    sweep_until(runner, clock, T0)
    clock.advance(2 * MINUTE)  # step 2 is due at +5
    reborn = make_runner(db, clock, owner="reborn")
    with db.session() as s:
        assert timers.reclaim_orphans(s, now=clock.now()) == 0
    assert reborn.sweep() == 0
    assert len(page_log(db, iid)) == 1
