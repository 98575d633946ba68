"""The weekly digest's clock job: on the playbook's schedule, in its time zone, once a week.

The job runs every sweep interval and asks "has the playbook's latest digest time passed, and
has that week's digest not been claimed?" — so a digest missed while the bot was down goes out
when it comes back (within CATCH_UP), an edited schedule applies at once, and an injected clock
moves it like everything else. Claiming the (scope, week) row and owing the message happen in
one transaction: with two clock processes, one inserts the row and the other sends nothing.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlmodel import select

from models.registry import DigestRun
from services import audit, outbox
from services.registry import digest

log = logging.getLogger(__name__)

# A digest more than this late is skipped rather than sent days after the fact.
CATCH_UP = timedelta(hours=12)


class DigestJob:
    def __init__(self, services: Any, client: Any) -> None:
        self.services = services
        self.client = client
        self._workspace: tuple[str, str | None] | None = None

    async def workspace(self) -> tuple[str, str | None]:
        """(team id, App Home link) from auth.test and bots.info, asked once; without Slack,
        the digest still goes out, keyed "workspace" and pointing to the Home tab in words."""
        if self._workspace is None:
            try:
                me = await self.client.auth_test()
                team = me["team_id"]
                bot = await self.client.bots_info(bot=me["bot_id"])
                link = f"slack://app?team={team}&id={bot['bot']['app_id']}&tab=home"
                self._workspace = (team, link)
            except (SlackApiError, KeyError, OSError, asyncio.TimeoutError) as exc:
                log.warning("digest: could not ask Slack who we are (%s); sending without a Home link", exc)
                return ("workspace", None)
        return self._workspace

    async def __call__(self) -> None:
        services = self.services
        pb = services.playbook.current.playbook
        schedule = pb.documentation.digest
        if schedule is None:
            return
        now = services.clock.now()
        due = schedule.cron.latest_at_or_before(now, pb.tz)
        if now - due > CATCH_UP:
            return
        week = digest.period_key(due, pb.tz, len(schedule.cron.days))
        if await asyncio.to_thread(self._already_sent, week):
            return
        team, link = await self.workspace()
        members = (await services.directory.resolve(pb)).members
        soon = pb.documentation.due_soon

        def team_digest() -> list[str]:
            with services.db.session() as s:
                if not digest.claim(s, scope=f"team:{team}", week=week, due_at=due, now=now):
                    return digest.subscribers(s)  # each personal digest is claimed on its own
                content = digest.build(s, now=now, soon=soon, group_members=members)
                outbox.enqueue(s, key=f"digest:team:{team}:{week}", method="chat.postMessage",
                               channel=pb.digest_channel(), template=digest.T_DIGEST,
                               payload={**content, "week": week, "home_link": link}, now=now)
                audit.append(s, at=now, actor="countersign", action="digest.sent", entity_type="digest",
                             entity_id=f"team:{team}:{week}",
                             payload={"channel": pb.digest_channel(), "counts": _counts(content)})
                return digest.subscribers(s)

        for user in await asyncio.to_thread(team_digest):
            await asyncio.to_thread(self._personal, user, week=week, due=due, now=now, soon=soon,
                                    members=members, link=link)

    def _already_sent(self, week: str) -> bool:
        # Cheap check first, so the sweep-interval job costs one indexed read most of the time.
        team = self._workspace[0] if self._workspace else None
        if team is None:
            return False
        with self.services.db.session() as s:
            return s.exec(select(DigestRun.id).where(DigestRun.scope == f"team:{team}",
                                                     DigestRun.week == week)).first() is not None

    def _personal(self, user: str, *, week: str, due: Any, now: Any, soon: timedelta, members: Any,
                  link: str | None) -> None:
        with self.services.db.session() as s:
            if not digest.claim(s, scope=f"user:{user}", week=week, due_at=due, now=now):
                return
            content = digest.build(s, now=now, soon=soon, group_members=members, user=user)
            outbox.enqueue(s, key=f"digest:user:{user}:{week}", method="chat.postMessage", channel=user,
                           template=digest.T_DIGEST, payload={**content, "week": week, "home_link": link},
                           now=now)


def _counts(content: dict[str, Any]) -> dict[str, int]:
    return {k: v["total"] for k, v in content.items() if isinstance(v, dict) and "total" in v}
