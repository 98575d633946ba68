"""Requests this bot acknowledged to Slack but never finished, because the process handling
them died: handled again by a live one.

Acks come first (DESIGN.md), so a process killed between its ack and its listener's state
change leaves a request Slack will not send again: it had its 200. The delivery's claim kept
the request (services/inbound); this loop finds claims a dead process left — released by a
process starting on the same host, or past their lease — and replays each through the Bolt
app. The replay claims the delivery like any request, so only one process takes it; a claim
settled in the transaction of the listener's state change is done, never replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot import instance, logs
from services import inbound

if TYPE_CHECKING:
    from bot.bootstrap import Services

log = logging.getLogger(__name__)

Replay = Callable[[str, str | None], Awaitable[None]]
# A replay is a listener's work: it may wait on Slack (its in-call retries included).
REPLAY_TIMEOUT = 60.0


class Redelivery:
    def __init__(self, services: Services, replay: Replay, *, interval: float) -> None:
        self.services = services
        self.replay = replay
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="redelivery", context=logs.job_context("redelivery"))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        failures = logs.RepeatedFailures(log, "looking for abandoned Slack deliveries")
        while True:
            try:
                await self.run_once()
                failures.succeeded()
            except Exception as exc:  # a database outage must not end replays for good
                failures.failed(exc)
            await asyncio.sleep(self.interval)

    async def run_once(self) -> int:
        """Replay what is abandoned now; how many were replayed."""
        now = self.services.clock.now()

        def find() -> list[tuple[str, str, str | None]]:
            with self.services.db.session() as s:
                return inbound.abandoned(s, now=now, alive=instance.alive_here)

        found = await self.services.db.run(find)
        for key, body, content_type in found:
            log.warning("replaying Slack delivery %s: the process handling it died", key)
            # A context of its own: the replay's claim and log fields stay the replay's.
            replayed = asyncio.get_running_loop().create_task(
                self.replay(body, content_type), name="replay", context=logs.job_context("replay"))
            try:
                await asyncio.wait_for(replayed, REPLAY_TIMEOUT)
            except Exception:
                # Not again and again: a request that cannot be replayed once will not be later.
                log.exception("replaying Slack delivery %s failed; not replaying it again", key)
                await self.services.db.run(self._give_up, key)
        return len(found)

    def _give_up(self, key: str) -> None:
        with self.services.db.session() as s:
            inbound.forget_body(s, key=key)
