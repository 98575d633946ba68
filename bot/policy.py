"""The playbook a running process obeys: loaded at start, swapped only for a valid one.

Each process holds its own copy. A reload (SIGHUP, `/ai-playbook reload`, or the file
changing on disk) that finds an invalid file keeps the last valid playbook in force and
tells the governance channel; a valid one takes effect for everything opened from then on.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bot import logs
from services import playbook_changes
from services.playbook import LoadedPlaybook, PlaybookError, load_playbook

if TYPE_CHECKING:
    from bot.bootstrap import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReloadOutcome:
    status: Literal["applied", "unchanged", "refused"]
    previous: LoadedPlaybook
    current: LoadedPlaybook
    attempted_hash: str
    issues: list[str] = field(default_factory=list)


class RunningPlaybook:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._loaded = load_playbook(path)  # PlaybookError at start: the caller refuses to run

    @property
    def current(self) -> LoadedPlaybook:
        return self._loaded

    def file_hash(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None

    def reload(self) -> ReloadOutcome:
        with self._lock:
            previous = self._loaded
            attempted = self.file_hash() or "unreadable"
            if attempted == previous.content_hash:
                return ReloadOutcome("unchanged", previous, previous, attempted)
            try:
                loaded = load_playbook(self.path)
            except PlaybookError as error:
                return ReloadOutcome("refused", previous, previous, attempted,
                                     [str(issue) for issue in error.issues])
            self._loaded = loaded
            return ReloadOutcome("applied", previous, loaded, loaded.content_hash)


async def reload_and_record(services: Services, *, actor: str, trigger: str) -> ReloadOutcome:
    """Reload this process's playbook and write what happened (audit + governance notice)."""
    from bot.bootstrap import process_id

    running = services.playbook
    outcome = await asyncio.to_thread(running.reload)
    if outcome.status == "unchanged":
        return outcome
    governance = outcome.current.playbook.channels.governance
    now = services.clock.now()

    def record() -> None:
        with services.db.session() as s:
            if outcome.status == "applied":
                playbook_changes.record_applied(
                    s, now=now, actor=actor, trigger=trigger, process=process_id(),
                    path=str(running.path), previous_hash=outcome.previous.content_hash,
                    new_hash=outcome.current.content_hash, version=outcome.current.version,
                    governance_channel=governance)
            else:
                playbook_changes.record_refused(
                    s, now=now, actor=actor, trigger=trigger, process=process_id(),
                    path=str(running.path), current_hash=outcome.current.content_hash,
                    refused_hash=outcome.attempted_hash, issues=outcome.issues,
                    governance_channel=governance)

    await services.db.run(record)
    if outcome.status == "applied":
        log.info("playbook %s applied (was %s)", outcome.current.short_hash,
                 outcome.previous.short_hash)
        await services.directory.report_unresolved(services)
    else:
        log.error("playbook change refused; keeping %s:\n%s", outcome.current.short_hash,
                  "\n".join(outcome.issues))
    return outcome


class PlaybookWatcher:
    """Reloads on SIGHUP and, if asked, when the file's content changes."""

    def __init__(self, services: Services, *, interval: float) -> None:
        self.services = services
        self.interval = interval
        self._task: asyncio.Task | None = None
        self._last_seen: str | None = None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
            log.warning("SIGHUP reload is not available in this process")
        self._last_seen = self.services.playbook.current.content_hash
        if self.interval > 0:
            self._task = asyncio.create_task(self._watch(), name="playbook-watch",
                                             context=logs.job_context("playbook-watch"))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def _on_sighup(self) -> None:
        asyncio.get_running_loop().create_task(
            self._reload_on_sighup(), name="playbook-reload",
            context=logs.job_context("playbook-reload"))

    async def _reload_on_sighup(self) -> None:
        try:
            await reload_and_record(self.services, actor="system", trigger="SIGHUP")
        except Exception:  # nobody awaits this task: say so here, or nobody hears of it
            log.exception("reloading the playbook on SIGHUP failed")

    async def _watch(self) -> None:
        failures = logs.RepeatedFailures(log, "watching the playbook")
        while True:
            await asyncio.sleep(self.interval)
            try:
                seen = await asyncio.to_thread(self.services.playbook.file_hash)
                if seen is not None and seen != self._last_seen:
                    self._last_seen = seen
                    await reload_and_record(self.services, actor="system", trigger="file change")
            except Exception as exc:
                failures.failed(exc)
            else:
                failures.succeeded()
