"""On PostgreSQL, workers racing for the same rows each take a row exactly once."""

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from bot.clock import ManualClock
from bot.timer_runner import TimerRunner
from services import outbox, timers
from tests.harness.race import race

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WORKERS = 6


def test_outbox_rows_are_claimed_once_across_racing_workers(pg_db):
    with pg_db.session() as s:
        for i in range(300):
            # Distinct channels so FIFO does not serialise them: all are claimable at once.
            outbox.enqueue(s, key=f"m{i}", method="chat.postMessage", channel=f"C{i}",
                           payload={}, now=T0)
    taken: Counter[str] = Counter()
    lock = threading.Lock()

    def worker(i):
        while True:
            with pg_db.session() as s:
                got = outbox.claim_due(s, now=T0, owner=f"w{i}", lease=timedelta(minutes=1),
                                       limit=7)
            if not got:
                return
            with lock:
                taken.update(m.key for m in got)

    race([partial(worker, i) for i in range(WORKERS)])
    assert len(taken) == 300
    assert max(taken.values()) == 1


def test_timers_fire_once_with_several_runners_sweeping(pg_db):
    with pg_db.session() as s:
        for i in range(200):
            timers.schedule(s, kind="page", ref=f"inc{i}", due_at=T0 - timedelta(seconds=i % 7),
                            now=T0)
    fired: Counter[str] = Counter()
    lock = threading.Lock()

    def handler(session, timer, now):
        with lock:
            fired[timer.ref] += 1

    def worker(i):
        runner = TimerRunner(pg_db, ManualClock(T0), owner=f"w{i}")
        runner.register("page", handler)
        while runner.sweep(limit=5):
            pass

    race([partial(worker, i) for i in range(WORKERS)])
    assert len(fired) == 200
    assert max(fired.values()) == 1


def test_cancel_racing_a_fire_never_lets_the_effect_commit_after_the_cancel(pg_db):
    """Whichever commits first wins; an effect recorded after a committed cancel is a bug."""
    outcomes = Counter()
    for round_ in range(40):
        ref = f"inc{round_}"
        with pg_db.session() as s:
            timers.schedule(s, kind="page", ref=ref, due_at=T0, now=T0)
        effects: list[str] = []
        cancelled = threading.Event()

        def handler(session, timer, now):
            effects.append("page")

        runner = TimerRunner(pg_db, ManualClock(T0), owner=f"r{round_}")
        runner.register("page", handler)
        barrier = threading.Barrier(2)
        result: dict[str, int] = {}

        def fire():
            barrier.wait()
            result["fired"] = runner.sweep()

        def cancel():
            barrier.wait()
            with pg_db.session() as s:
                result["cancelled"] = timers.cancel(s, kind="page", ref=ref)
            cancelled.set()

        threads = [threading.Thread(target=fire), threading.Thread(target=cancel)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Exactly one of them took effect, never both, never neither.
        assert result["fired"] + result["cancelled"] == 1, result
        assert len(effects) == result["fired"]
        outcomes["fired" if result["fired"] else "cancelled"] += 1
    assert sum(outcomes.values()) == 40


def test_racing_processes_owing_the_same_message_owe_it_once(pg_db):
    """Several processes announcing one change (same key) must not fail or double it."""
    from sqlmodel import select

    from models.outbox import OutboxMessage
    from services import audit

    def worker(i):
        for n in range(20):
            with pg_db.session() as s:
                audit.append(s, at=T0, actor=f"p{i}", action="test", entity_type="t",
                             entity_id=str(n))
                outbox.enqueue(s, key=f"announce-{n}", method="chat.postMessage",
                               channel="C0GOV", payload={"n": n}, now=T0)

    race([partial(worker, i) for i in range(WORKERS)])
    with pg_db.session() as s:
        keys = s.exec(select(OutboxMessage.key)).all()
    assert sorted(keys) == sorted(f"announce-{n}" for n in range(20))
