"""The clock: APScheduler for when to look, rows for what is due, one process leading.

APScheduler 3 keeps jobs in memory only (it cannot share a job store between
processes), so nothing durable lives in it: timers are rows (services/timers.py)
and the outbox is rows. The scheduler runs a frequent sweep as the safety net,
a one-shot job at each known due time for punctuality, and housekeeping crons.

Every job runs in a log context of its own (logs.as_job): APScheduler runs a job in
whatever context woke it, and a commit inside a request wakes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import logs
from bot.clock import Clock
from bot.db import Database
from bot.dispatcher import Dispatcher
from bot.leader import Leadership
from bot.timer_runner import TimerRunner
from services import inbound, outbox, timers
from services.pull_requests import deliveries as github_deliveries

log = logging.getLogger(__name__)

# A job later than this is still run: a late escalation beats a silently dropped one.
MISFIRE_GRACE = 3600
# How long stopping waits for jobs already running to finish before cancelling them.
STOP_GRACE = 5.0


class Clockwork:
    def __init__(self, *, dispatcher: Dispatcher, timers: TimerRunner, leadership: Leadership,
                 more_dispatchers: Sequence[Dispatcher] = (),
                 db: Database, clock: Clock, poll_interval: float, sweep_interval: float,
                 leader_refresh: float = 5.0,
                 periodic: Sequence[tuple[str, Callable[[], Awaitable[None]], float]] = (),
                 on_start: Sequence[Callable[[], Awaitable[None]]] = ()) -> None:
        self.dispatcher = dispatcher
        # Other sinks' deliverers (GitHub), each in a loop of its own, woken like the first.
        self.more_dispatchers = tuple(more_dispatchers)
        self._more_tasks: list[asyncio.Task] = []
        self.timers = timers
        self.leadership = leadership
        self.db = db
        self.clock = clock
        self.poll_interval = poll_interval
        self.sweep_interval = sweep_interval
        self.leader_refresh = leader_refresh
        self.periodic = tuple(periodic)
        self.on_start = tuple(on_start)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self._dispatch_task: asyncio.Task | None = None
        self._led = False
        self._failures: dict[str, logs.RepeatedFailures] = {}
        self._running: set[asyncio.Task] = set()
        self._stopping = False

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stopping = False
        # Before "clock started": whatever a job must know about its own start-up (the digest's
        # "owed since") is settled before anyone can move the clock or see the process as up.
        for prepare in self.on_start:
            await prepare()
        await self._refresh_leadership()
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"misfire_grace_time": MISFIRE_GRACE, "coalesce": True,
                          "max_instances": 1},
        )
        now = datetime.now(UTC)
        scheduler.add_job(self._job("leadership", self._refresh_leadership),
                          IntervalTrigger(seconds=self.leader_refresh),
                          id="leadership", replace_existing=True)
        scheduler.add_job(self._job("timer-sweep", self._sweep),
                          IntervalTrigger(seconds=self.sweep_interval),
                          id="timer-sweep", replace_existing=True, next_run_time=now)
        scheduler.add_job(self._job("prune-inbound", self._prune),
                          CronTrigger(hour=3, minute=17, timezone=UTC),
                          id="prune-inbound", replace_existing=True)
        for name, job, interval in self.periodic:
            scheduler.add_job(self._job(name, self._led_only(job)), IntervalTrigger(seconds=interval),
                              id=name, replace_existing=True, next_run_time=now)
        scheduler.start()
        self.scheduler = scheduler
        self._dispatch_task = asyncio.create_task(
            self.dispatcher.run_forever(poll_interval=self.poll_interval,
                                        is_leader=lambda: self._led),
            name="outbox-dispatcher", context=logs.job_context("outbox-dispatcher"),
        )
        self._more_tasks = [asyncio.create_task(
            d.run_forever(poll_interval=self.poll_interval, is_leader=lambda: self._led),
            name=f"outbox-{d.sink}", context=logs.job_context(f"outbox-{d.sink}"))
            for d in self.more_dispatchers]
        log.info("clock started (leader: %s)", self._led)

    async def stop(self) -> None:
        """Let the jobs already running finish (for STOP_GRACE at most), then stop. The
        scheduler's shutdown cancels whatever still runs; APScheduler would log each such
        cancellation as a failure, so `run` ends quietly and this says it once."""
        self._stopping = True
        if self.scheduler is not None:
            self.scheduler.pause()
            if self._running:
                _, late = await asyncio.wait(set(self._running), timeout=STOP_GRACE)
                if late:
                    log.warning("stopping with %d clock job(s) still running; cancelling them "
                                "(what they claimed is released by its lease)", len(late))
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        for task in [self._dispatch_task, *self._more_tasks]:
            if task is None:
                continue
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._dispatch_task = None
        self._more_tasks = []
        await self.db.run(self.leadership.release)

    def wake_dispatchers(self) -> None:
        for dispatcher in (self.dispatcher, *self.more_dispatchers):
            dispatcher.wake()

    def run_soon(self, name: str) -> None:
        """Run periodic job `name` now rather than at its next interval (new work for it was
        committed); a run already going on picks the work up itself."""
        if self.scheduler is None or self.scheduler.get_job(name) is None:
            return
        self.scheduler.modify_job(name, next_run_time=datetime.now(UTC))

    def wake_timers_at(self, due: datetime) -> None:
        """A one-shot job at a known due time, so a timer fires on the dot, not at the sweep."""
        if self.scheduler is None:
            return
        when = max(due, datetime.now(UTC))
        self.scheduler.add_job(self._job("timer-sweep", self._sweep), DateTrigger(run_date=when),
                               id=f"timer-at-{due.isoformat()}", replace_existing=True,
                               max_instances=3)

    async def _refresh_leadership(self) -> None:
        leader = await self.db.run(self.leadership.refresh)
        if leader and not self._led:
            # Work starts only after the take-over, so it never resets a row we just claimed.
            # Without exclusive leadership, rows in flight may be another live clock's: their
            # leases, not a take-over, hand them on.
            if self.leadership.exclusive:
                await self.db.run(self._take_over)
            self._led = True
            self.wake_dispatchers()
            await self._sweep_now()
        elif not leader:
            self._led = False

    def _take_over(self) -> None:
        now = self.clock.now()
        with self.db.session() as s:
            messages = outbox.reclaim_orphans(s, now=now)
            fired = timers.reclaim_orphans(s, now=now)
        if messages or fired:
            log.warning("took over %d in-flight outbox messages and %d timers from a process "
                        "that stopped mid-work", messages, fired)

    async def _sweep_now(self) -> None:
        if self.scheduler is not None:
            self.scheduler.add_job(self._job("timer-sweep", self._sweep), id="timer-sweep-now",
                                   replace_existing=True)

    async def _sweep(self) -> None:
        if not self._led:
            return
        while await self.db.run(self.timers.sweep) > 0:
            pass

    def _led_only(self, job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if self._led:
                await job()
        return run

    def _job(self, name: str, work: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """`work` as a scheduler job: in a log context of its own, and a failure logged once
        while it repeats (the next run tries again) instead of on every run."""
        failures = self._failures.setdefault(name, logs.RepeatedFailures(log, name))

        async def guarded() -> None:
            try:
                await work()
            except Exception as exc:
                failures.failed(exc)
            else:
                failures.succeeded()

        async def run() -> None:
            task = asyncio.current_task()  # APScheduler runs each job as a task of its own
            assert task is not None
            self._running.add(task)
            try:
                await logs.as_job(name, guarded)
            except asyncio.CancelledError:
                if not self._stopping:
                    raise
                # Cancelled by our own stop after its grace: said once there, not as a failure.
            finally:
                self._running.discard(task)
        return run

    async def _prune(self) -> None:
        if not self._led:
            return
        cutoff = self.clock.now() - inbound.RETENTION

        github_cutoff = self.clock.now() - github_deliveries.RETENTION

        def prune() -> tuple[int, int]:
            with self.db.session() as s:
                return (inbound.forget_older_than(s, cutoff=cutoff),
                        github_deliveries.forget_older_than(s, cutoff=github_cutoff))

        removed, github = await self.db.run(prune)
        log.info("forgot %d old Slack delivery ids and %d settled GitHub deliveries", removed, github)
