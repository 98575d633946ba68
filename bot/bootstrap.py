"""Wiring: build every long-lived object from settings, once, in one place."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

import escalation
from bot import instance, logs, migrate
from bot.clock import Clock, OffsetFileClock, SystemClock
from bot.audit_job import AuditJob
from bot.clockwork import Clockwork
from bot.digest_job import DigestJob
from bot.db import Database, make_engine
from bot.directory import GroupDirectory
from bot.dispatcher import DispatchPolicy, Dispatcher
from bot.github_checks import CheckRuns
from bot.github_client import GitHubApp
from bot.github_intake import JOB as GITHUB_JOB
from bot.github_intake import GitHubIntake, IntakePolicy
from bot.leader import Leadership
from bot.people import People
from bot.policy import PlaybookWatcher, RunningPlaybook
from bot.settings import Settings, SettingsError
from bot.slack import web_client
from bot.timer_runner import TimerRunner
from bot.usage_job import RETENTION_EVERY, UsageRetentionJob, UsageWatchJob
from services import approvals, inbound, outbox, registry, timers
from services.pull_requests import deliveries
from services.audit_log.keys import SigningKeyError

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What listeners and the API reach through the request context."""

    settings: Settings
    db: Database
    clock: Clock
    playbook: RunningPlaybook
    directory: GroupDirectory
    people: People
    extras: dict[str, object] = field(default_factory=dict)


def process_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def build_services(settings: Settings, *, clock: Clock | None = None) -> Services:
    """Raises PlaybookError when the playbook is missing or invalid: we do not run without one."""
    playbook = RunningPlaybook(settings.playbook_path)
    engine = make_engine(settings.database_url)
    services = Services(
        settings=settings,
        db=Database(engine),
        clock=clock or (OffsetFileClock(settings.clock_offset_file)
                        if settings.clock_offset_file else SystemClock()),
        playbook=playbook,
        directory=GroupDirectory(web_client(settings), ttl=settings.usergroup_cache_ttl),
        people=People(web_client(settings)),
    )
    # Validated at start-up, like Slack's settings: all three GitHub settings or none.
    services.extras["github"] = GitHubApp.from_settings(settings)
    try:
        services.extras["audit"] = AuditJob(services)
    except SigningKeyError as error:
        raise SettingsError(f"AUDIT_SIGNING_KEY is not valid: {error}") from None
    return services


@asynccontextmanager
async def background(services: Services, *, with_clock: bool) -> AsyncIterator[None]:
    """Everything a process runs beside answering Slack: clock, playbook watch, group check."""
    await services.db.run(_release_orphaned_claims, services)
    clockwork = build_clockwork(services) if with_clock else None
    watcher = PlaybookWatcher(services, interval=services.settings.playbook_watch_interval)
    if clockwork is not None:
        await clockwork.start()
    watcher.start()
    check = asyncio.create_task(_report_groups(services), name="group-check",
                                context=logs.job_context("group-check"))
    try:
        yield
    finally:
        check.cancel()
        await watcher.stop()
        if clockwork is not None:
            await clockwork.stop()


def _release_orphaned_claims(services: Services) -> None:
    """Slack deliveries a dead process of this host was handling: its redelivery is taken."""
    with services.db.session() as s:
        released = inbound.release_orphans(s, host=instance.HOST, gone=instance.gone)
        github = deliveries.release_orphans(s, host=instance.HOST, gone=instance.gone)
    if released:
        log.info("released %d Slack deliveries left unfinished by a process that died", released)
    if github:
        log.info("released %d GitHub deliveries left unfinished by a process that died", github)


async def _report_groups(services: Services) -> None:
    try:
        await services.directory.report_unresolved(services)
    except Exception:
        log.exception("could not check the playbook's groups")


def migrate_if_embedded(services: Services) -> None:
    """The embedded default migrates on start; scaled out, the Procfile's release does."""
    if services.settings.is_sqlite:
        migrate.upgrade(services.db.engine)


def build_clockwork(services: Services) -> Clockwork:
    s = services.settings
    owner = process_id()
    dispatcher = Dispatcher(
        services.db,
        web_client(s, in_call_retries=False),
        services.clock,
        owner=owner,
        policy=DispatchPolicy(
            channel_interval=s.outbox_channel_interval,
            retry_base=s.outbox_retry_base,
            retry_cap=s.outbox_retry_cap,
            max_attempts=s.outbox_max_attempts,
            lease=s.outbox_lease,
        ),
    )
    github: GitHubApp | None = services.extras.get("github")  # type: ignore[assignment]
    github_dispatchers: list[Dispatcher] = []
    if github is not None:
        dispatcher.sink = "slack"
        github_dispatchers.append(Dispatcher(
            services.db, dispatcher.client, services.clock, owner=owner, sink="github",
            policy=dispatcher.policy,
            github=CheckRuns(github, now=services.clock.now, permalink=dispatcher.permalink)))
    runner = TimerRunner(services.db, services.clock, owner=owner)
    for kind, handler in {**approvals.TIMER_HANDLERS, **escalation.TIMER_HANDLERS,
                          **registry.TIMER_HANDLERS}.items():
        runner.register(kind, handler)
    weekly_digest = DigestJob(services, web_client(s))
    audit_job = services.extras["audit"]
    (log.info if audit_job.signer else log.warning)("%s", audit_job.describe_signing())
    clockwork = Clockwork(
        dispatcher=dispatcher,
        more_dispatchers=github_dispatchers,
        timers=runner,
        leadership=Leadership(services.db.engine, elect=s.clock_leader_election),
        db=services.db,
        clock=services.clock,
        poll_interval=s.outbox_poll_interval,
        sweep_interval=s.timer_sweep_interval,
        leader_refresh=s.leader_refresh_interval,
        periodic=[("weekly-digest", weekly_digest, s.timer_sweep_interval),
                  ("audit-seal", audit_job, s.audit_seal_interval),
                  ("usage-watch", UsageWatchJob(services), s.usage_watch_interval),
                  ("usage-retention", UsageRetentionJob(services), RETENTION_EVERY),
                  *([(GITHUB_JOB, GitHubIntake(services, github, owner=instance.ME, policy=IntakePolicy(
                      retry_base=s.outbox_retry_base, retry_cap=s.outbox_retry_cap,
                      max_attempts=s.outbox_max_attempts)), s.outbox_poll_interval)]
                    if github is not None else [])],
        on_start=[weekly_digest.prepare],
    )
    _wake_on_commit(services, clockwork)
    return clockwork


def _wake_on_commit(services: Services, clockwork: Clockwork) -> None:
    """A commit that owes Slack a message, or sets a timer, wakes the clock at once.

    Commits happen in worker threads, in the log context of whoever committed (often a
    request); the clock lives on the event loop and gets a context of its own.
    """

    def after_commit(session) -> None:  # noqa: ANN001
        owed = outbox.enqueued_in(session)
        delivered = deliveries.recorded_in(session)
        due: datetime | None = timers.scheduled_in(session)
        loop = clockwork.loop
        if loop is None or loop.is_closed():
            return
        if owed:
            loop.call_soon_threadsafe(clockwork.wake_dispatchers, context=logs.job_context("clock-wake"))
        if delivered:
            loop.call_soon_threadsafe(clockwork.run_soon, GITHUB_JOB, context=logs.job_context("clock-wake"))
        if due is not None:
            loop.call_soon_threadsafe(clockwork.wake_timers_at, due,
                                      context=logs.job_context("clock-wake"))

    services.db.on_commit(after_commit)
