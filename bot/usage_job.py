"""The AI usage clock jobs: watch what was stored (USAGE_WATCH_INTERVAL), expire raw events
(USAGE_RETENTION, daily). Both run on the leading clock; both stay right if two clocks run
them (watch_batch's claims skip each other's rows, and alerts are unique per rule, key and day).
"""

from __future__ import annotations

import logging
from typing import Any

from services.usage import retention, watching

log = logging.getLogger(__name__)

# Batches one run watches at most before it lets the next run go on with the backlog.
MAX_BATCHES = 25
RETENTION_EVERY = 24 * 3600.0  # seconds between expiry runs


class UsageWatchJob:
    def __init__(self, services: Any, *, limit: int = watching.BATCH) -> None:
        self.services = services
        self.limit = limit

    async def _groups(self, pb: Any) -> tuple[dict[str, list[str]], frozenset[str]]:
        """The groups `usage.allow` names, resolved (Slack user groups cached by the directory);
        no Slack call when no grant names a group."""
        if not any(g.groups for g in pb.usage.allow or ()):
            return {}, frozenset()
        resolution = await self.services.directory.resolve(pb)
        return resolution.members, frozenset(resolution.problems)

    def _once(self, pb: Any, members: dict[str, list[str]], unresolved: frozenset[str]) -> watching.Watched:
        with self.services.db.session() as s:
            return watching.watch_batch(s, now=self.services.clock.now(), playbook=pb,
                                        group_members=members, unresolved_groups=unresolved,
                                        limit=self.limit)

    async def __call__(self) -> int:
        pb = self.services.playbook.current.playbook
        members, unresolved = await self._groups(pb)
        total = 0
        for _ in range(MAX_BATCHES):
            watched = await self.services.db.run(self._once, pb, members, unresolved)
            total += watched.events
            if watched.events:
                log.info("watched %d usage events: %d alerts raised, %d first uses",
                         watched.events, len(watched.alerts), watched.first_uses)
            if watched.events < self.limit:
                break
        return total


class UsageRetentionJob:
    def __init__(self, services: Any, *, chunk: int = retention.CHUNK) -> None:
        self.services = services
        self.chunk = chunk

    def _chunk(self) -> int:
        keep = self.services.settings.usage_retention
        now = self.services.clock.now()
        with self.services.db.session() as s:
            return retention.forget_before(s, cutoff=now - keep, now=now, limit=self.chunk)

    async def __call__(self) -> int:
        if self.services.settings.usage_retention is None:
            return 0
        total = 0
        while True:
            removed = await self.services.db.run(self._chunk)
            total += removed
            if removed < self.chunk:
                break
        if total:
            log.info("expired %d raw usage events older than %s (USAGE_RETENTION); daily "
                     "aggregates kept", total, self.services.settings.usage_retention)
        return total
