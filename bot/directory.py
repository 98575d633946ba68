"""Resolves the playbook's groups to people: static members as written, Slack user
groups through usergroups.users.list, cached so a command does not wait on Slack each time.

A group that cannot be resolved is reported — in answers and to the governance channel —
and never treated as silently empty.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_answers import UnexpectedAnswer, describe, error_code, field
from services import playbook_changes
from services.playbook import Playbook

if TYPE_CHECKING:
    from bot.bootstrap import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resolution:
    members: dict[str, list[str]]
    problems: dict[str, str]  # group name → why its members are unknown


class GroupDirectory:
    def __init__(self, client: AsyncWebClient, *, ttl: float = 600.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.ttl = ttl
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, list[str]]] = {}

    async def usergroup_members(self, usergroup_id: str) -> list[str]:
        cached = self._cache.get(usergroup_id)
        if cached is not None and self._monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            response = await self.client.usergroups_users_list(usergroup=usergroup_id)
            users = field(response, "usergroups.users.list", "users", kind=list)
            if not all(isinstance(user, str) and user for user in users):
                raise UnexpectedAnswer("usergroups.users.list answered users that are not ids")
        except (SlackApiError, UnexpectedAnswer) as exc:
            if cached is not None:  # a stale answer beats none while Slack is unhappy
                log.warning("usergroup %s: using cached members: %s", usergroup_id, describe(exc))
                return cached[1]
            raise
        self._cache[usergroup_id] = (self._monotonic(), users)
        return users

    async def resolve(self, pb: Playbook) -> Resolution:
        members: dict[str, list[str]] = {}
        problems: dict[str, str] = {}

        async def one(name: str) -> None:
            group = pb.groups[name]
            if group.members is not None:
                members[name] = list(group.members)
                return
            try:
                users = await self.usergroup_members(group.usergroup)  # type: ignore[arg-type]
            except SlackApiError as exc:
                problems[name] = f"user group {group.usergroup}: {error_code(exc)}"
                return
            except UnexpectedAnswer as exc:
                problems[name] = f"user group {group.usergroup}: {exc}"
                return
            except Exception as exc:  # network trouble: say so rather than guess
                problems[name] = f"user group {group.usergroup}: {type(exc).__name__}"
                return
            if not users:
                problems[name] = f"user group {group.usergroup} has no members"
            members[name] = users

        await asyncio.gather(*(one(name) for name in pb.groups))
        return Resolution(members, problems)

    async def report_unresolved(self, services: Services) -> Resolution:
        """Resolve every group of the playbook in force; tell governance about failures once."""
        loaded = services.playbook.current
        resolution = await self.resolve(loaded.playbook)
        if resolution.problems:
            log.warning("playbook groups not resolved: %s", resolution.problems)
            now = services.clock.now()

            def record() -> None:
                with services.db.session() as s:
                    playbook_changes.record_unresolved_groups(
                        s, now=now, playbook_hash=loaded.content_hash,
                        problems=resolution.problems,
                        governance_channel=loaded.playbook.channels.governance)

            await services.db.run(record)
        return resolution
