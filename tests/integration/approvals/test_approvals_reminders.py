"""Reminders go to approvers who have not decided, back off, and stop on a decision."""

from datetime import timedelta

from signoff_world import (
    REQUESTER,
    T0,
    audit_rows,
    decide,
    open_request,
    outbox_rows,
    request,
    timer_rows,
)

from bot.clock import ManualClock
from bot.timer_runner import TimerRunner
from services import approvals

HOUR = timedelta(hours=1)


def make_runner(db, clock):
    runner = TimerRunner(db, clock, owner="test")
    for kind, handler in approvals.TIMER_HANDLERS.items():
        runner.register(kind, handler)
    return runner


def reminders(db, rid):
    return [(m.channel, m.payload["reminder_number"]) for m in outbox_rows(db, rid) if m.template == "approval_reminder"]


def reminder_times(db, rid):
    return [t.due_at for t in timer_rows(db, rid) if t.kind == "approval.remind"]


def test_reminders_back_off_and_never_go_past_the_expiry(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    rid = open_request(db, "code")
    fired_at = []
    while clock.now() < T0 + timedelta(days=2):
        clock.advance(timedelta(minutes=30))
        if runner.sweep():
            fired_at.append(clock.now())
    # 1h, then 2h later, 4h later, 8h later; the next (16h later) would be after the 24h expiry
    assert fired_at == [T0 + HOUR, T0 + 3 * HOUR, T0 + 7 * HOUR, T0 + 15 * HOUR, T0 + 24 * HOUR]
    assert reminder_times(db, rid) == [T0 + HOUR, T0 + 3 * HOUR, T0 + 7 * HOUR, T0 + 15 * HOUR]
    req = request(db, rid)
    assert (req.reminders_sent, req.status) == (4, "expired")
    assert [e.action for e in audit_rows(db, rid)].count("approval.reminded") == 4


def test_reminders_go_only_to_approvers_who_have_not_decided(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    rid = open_request(db, "code", requester="U0REV3")
    clock.advance(HOUR)
    assert runner.sweep() == 1
    assert reminders(db, rid) == [("U0REV1", 1), ("U0REV2", 1)]
    event = audit_rows(db, rid)[-1]
    assert (event.action, event.actor, event.payload["users"]) == ("approval.reminded", "countersign",
                                                                   ["U0REV1", "U0REV2"])


def test_a_decision_stops_the_reminders(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    rid = open_request(db, "code")
    clock.advance(HOUR)
    runner.sweep()
    assert len(reminders(db, rid)) == 3
    decide(db, rid, "U0REV1", now=clock.now())
    clock.advance(timedelta(days=3))
    assert runner.sweep() == 0
    assert len(reminders(db, rid)) == 3
    assert {t.status for t in timer_rows(db, rid)} == {"done", "cancelled"}


def test_a_reminder_firing_after_the_request_moved_on_does_nothing(db):
    """A reminder claimed just before a decision committed finds the request decided."""
    clock = ManualClock(T0)
    rid = open_request(db, "code")
    decide(db, rid, "U0REV1")
    (timer,) = [t for t in timer_rows(db, rid) if t.kind == "approval.remind"]
    with db.session() as s:
        approvals.fire_reminder(s, timer, clock.now() + HOUR)
    assert reminders(db, rid) == []
    assert request(db, rid).reminders_sent == 0


def test_a_resubmission_restarts_the_reminders_for_the_new_revision(db):
    clock = ManualClock(T0)
    runner = make_runner(db, clock)
    rid = open_request(db, "code")
    clock.advance(HOUR)
    runner.sweep()
    clock.advance(HOUR)
    with db.session() as s:
        approvals.resubmit(s, request_id=rid, user=REQUESTER, now=clock.now())
    assert request(db, rid).reminders_sent == 0
    clock.advance(HOUR)
    assert runner.sweep() == 1
    assert reminders(db, rid)[-3:] == [("U0REV1", 1), ("U0REV2", 1), ("U0REV3", 1)]
    keys = [m.key for m in outbox_rows(db, rid) if m.template == "approval_reminder"]
    assert keys[-1] == f"approval:{rid}:r2:remind1:U0REV3"
