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
