"""The clock's periodic jobs: a job that fails keeps its schedule, logs once, and never
logs under the context of whoever woke the clock."""

import asyncio
import logging

from bot import logs
from bot.clock import SystemClock
from bot.clockwork import Clockwork
from bot.dispatcher import Dispatcher
from bot.leader import Leadership
from bot.timer_runner import TimerRunner


def clockwork(db, job, interval=0.02) -> Clockwork:  # noqa: ANN001
    clock = SystemClock()
    return Clockwork(dispatcher=Dispatcher(db, client=None, clock=clock, owner="test"),
                     timers=TimerRunner(db, clock, owner="test"),
                     leadership=Leadership(db.engine, elect=False), db=db, clock=clock,
                     poll_interval=1, sweep_interval=1, leader_refresh=60,
                     periodic=[("odd-answers", job, interval)])


async def wait_until(condition, timeout=10.0) -> None:  # noqa: ANN001
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), timeout)


async def test_a_job_failing_on_every_run_keeps_running_and_is_logged_once(db, caplog):
    runs: list[str | None] = []

    async def job() -> None:
        runs.append(logs.current("job"))
        raise TypeError("'NoneType' object is not subscriptable")

    logs.bind(request_id="req-woke-the-clock", user="U0SOMEONE")
    clock = clockwork(db, job)
    caplog.handler.addFilter(logs.ContextFilter())
    with caplog.at_level(logging.ERROR, logger="bot.clockwork"):
        await clock.start()
        try:
            await wait_until(lambda: len(runs) >= 5)
        finally:
            await clock.stop()
    failures = [r for r in caplog.records if r.name == "bot.clockwork"]
    assert [r.getMessage() for r in failures] == ["odd-answers failed"]
    assert getattr(failures[0], "request_id", None) is None
    assert failures[0].job.startswith("odd-answers:")
    assert all(run and run.startswith("odd-answers:") for run in runs)
    assert len(set(runs)) == len(runs), "each run has a job id of its own"


async def settled() -> None:
    """Every other task has ended: a cancelled job has unwound to where the scheduler logs."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if others:
        await asyncio.wait(others, timeout=10)


async def test_stopping_lets_a_running_job_finish_and_logs_no_failure(db, caplog):
    started, release, finished = asyncio.Event(), asyncio.Event(), []

    async def job() -> None:
        if finished:
            return
        started.set()
        await release.wait()
        await db.run(lambda: None)  # the database work a job does, on the executor
        finished.append(True)

    clock = clockwork(db, job, interval=60)
    with caplog.at_level(logging.INFO):
        await clock.start()
        await asyncio.wait_for(started.wait(), 10)
        # Released only once stop has begun: a stop that cancels instead of waiting
        # interrupts the job before it can finish.
        stopping = asyncio.create_task(clock.stop())
        release.set()
        await asyncio.wait_for(stopping, 10)
        await settled()
    assert finished == [True], "stop cancelled the running job instead of letting it finish"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_job_outliving_the_grace_is_cancelled_with_one_warning(db, caplog, monkeypatch):
    import bot.clockwork
    monkeypatch.setattr(bot.clockwork, "STOP_GRACE", 0.1)
    started = asyncio.Event()

    async def job() -> None:
        started.set()
        await asyncio.Event().wait()  # never finishes by itself

    clock = clockwork(db, job, interval=60)
    with caplog.at_level(logging.INFO):
        await clock.start()
        await asyncio.wait_for(started.wait(), 10)
        await asyncio.wait_for(clock.stop(), 10)
        await settled()
    loud = [(r.name, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]
    assert loud == [("bot.clockwork", "stopping with 1 clock job(s) still running; cancelling "
                                      "them (what they claimed is released by its lease)")]
    assert "Traceback" not in caplog.text
