"""Who has been deactivated in Slack: users.info, asked once per person and cached.

The playbook can go on naming someone after they leave — as an approver, a responder, a
documentation approver — and a request in flight (or replayed) can still arrive in their name.
Countersign takes nothing from a deactivated account (handlers/people.py refuses it, audited).

This sits in front of acknowledgements, so it never makes one wait long: an answer is cached
for `ttl`; a look-up that takes longer than `wait` lets the person through this time (Slack
itself keeps deactivated people out; this is the second line) and finishes in the background
for the next request; a look-up that fails is not repeated for `retry_after`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_answers import error_code

log = logging.getLogger(__name__)


class People:
    def __init__(self, client: AsyncWebClient, *, ttl: float = 600.0, wait: float = 0.5,
                 retry_after: float = 30.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.ttl = ttl
        self.wait = wait
        self.retry_after = retry_after
        self._monotonic = monotonic
        self._known: dict[str, tuple[float, bool]] = {}  # user → (good until, deactivated)
        self._asking: dict[str, asyncio.Task[bool]] = {}

    async def deactivated(self, user: str) -> bool:
        known = self._known.get(user)
        if known is not None and self._monotonic() < known[0]:
            return known[1]
        task = self._asking.get(user)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._ask(user, stale=known), name="users.info")
            self._asking[user] = task
            task.add_done_callback(lambda _: self._asking.pop(user, None))
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.wait)
        except TimeoutError:
            log.warning("users.info for %s is slow; not waiting for it this time", user)
            self._remember(user, known[1] if known else False, self.retry_after)
            return known[1] if known else False

    async def _ask(self, user: str, stale: tuple[float, bool] | None) -> bool:
        fallback = stale[1] if stale else False
        try:
            info = (await self.client.users_info(user=user)).get("user")
        except SlackApiError as exc:
            error = error_code(exc)  # Slack (or a proxy before it) may answer with no JSON
            if error == "user_not_found":
                # Not a member Slack shows us (a guest from another organisation): the rules
                # of each action decide, as for anyone else.
                self._remember(user, False, self.ttl)
                return False
            log.warning("could not ask Slack about user %s: %s", user, error)
            self._remember(user, fallback, self.retry_after)
            return fallback
        except Exception as exc:  # network trouble: the person is not refused for it
            log.warning("could not ask Slack about user %s: %s", user, type(exc).__name__)
            self._remember(user, fallback, self.retry_after)
            return fallback
        deleted = isinstance(info, dict) and info.get("deleted") is True
        self._remember(user, deleted, self.ttl)
        return deleted

    def _remember(self, user: str, deactivated: bool, seconds: float) -> None:
        self._known[user] = (self._monotonic() + seconds, deactivated)
