"""The weekly digest's clock job: on the playbook's schedule, in its time zone, once a week.

The job runs every sweep interval and asks "has the playbook's latest digest time passed, and
has that week's digest not been claimed?" — so a digest missed while the bot was down goes out
when it comes back (within CATCH_UP), an edited schedule applies at once, and an injected clock
moves it like everything else. Claiming the (scope, week) row and owing the message happen in
one transaction: with two clock processes, one inserts the row and the other sends nothing.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, literal
from sqlmodel import select

from bot.slack_answers import UnexpectedAnswer, describe, field
from models.registry import DigestRun, DigestSubscriber
from services import audit, outbox
from services.registry import digest

log = logging.getLogger(__name__)

# A digest more than this late is skipped rather than sent days after the fact.
CATCH_UP = timedelta(hours=12)
# One deployment serves one workspace: its digest's row is ("team", week).
TEAM = "team"
# How long a digest goes without its App Home link before Slack is asked for it again.
LINK_RETRY = timedelta(hours=1)
_SLACK_ID = re.compile(r"[A-Z0-9]{1,32}")
# The row whose due_at says since when digests are owed (see DigestJob._since).
SINCE = "since"


class DigestJob:
    def __init__(self, services: Any, client: Any) -> None:
        self.services = services
        self.client = client
        self._link: str | None = None
        self._link_problem: str | None = None
        self._link_retry_at: datetime | None = None
        self._started: datetime | None = None

    async def home_link(self) -> str | None:
        """The App Home deep link, from auth.test and bots.info; without it the digest still
        goes out and names the Home tab in words. Whatever Slack answers, the digest is not
        held: a failed ask is logged once (until it fails differently) and tried again after
        LINK_RETRY."""
        now = self.services.clock.now()
        if self._link is not None or (self._link_retry_at is not None and now < self._link_retry_at):
            return self._link
        try:
            me = await self.client.auth_test()
            team = field(me, "auth.test", "team_id")
            bot = await self.client.bots_info(bot=field(me, "auth.test", "bot_id"))
            app = field(bot, "bots.info", "bot", "app_id")
            if not (_SLACK_ID.fullmatch(team) and _SLACK_ID.fullmatch(app)):
                raise UnexpectedAnswer(f"team {team[:40]!r} or app {app[:40]!r} is not a Slack id")
        except Exception as exc:  # the link is a nicety: no answer may stop the digest
            problem = describe(exc)
            if problem != self._link_problem:
                log.warning("digest: no App Home link, so the digest names the Home tab in words; "
                            "asking Slack again in %s (%s)", LINK_RETRY, problem)
                self._link_problem = problem
            self._link_retry_at = now + LINK_RETRY
            return None
        if self._link_problem is not None:
            log.info("digest: Slack answered with the App Home link after all")
        self._link = f"slack://app?team={team}&id={app}&tab=home"
        return self._link

    async def prepare(self) -> None:
        """Record when digests became owed as the clock starts, not at the job's first run: a
        first run that came late (a busy start-up) would otherwise skip a digest already due."""
        if self.services.playbook.current.playbook.documentation.digest is None:
            return
        try:
            await self.services.db.run(self._since, self.services.clock.now())
        except Exception:  # the first run tries again; start-up goes on
            log.exception("digest: could not record since when digests are owed")

    async def __call__(self) -> None:
        services = self.services
        pb = services.playbook.current.playbook
        schedule = pb.documentation.digest
        if schedule is None:
            return
        now = services.clock.now()
        since = await self.services.db.run(self._since, now)
        due = schedule.cron.latest_at_or_before(now, pb.tz)
        if now - due > CATCH_UP or due < since:
            return
        week = digest.period_key(due, pb.tz, len(schedule.cron.days))
        if await self.services.db.run(self._already_sent, week):
            return
        link = await self.home_link()
        members = (await services.directory.resolve(pb)).members
        soon = pb.documentation.due_soon

        def team_digest() -> list[str]:
            with services.db.session() as s:
                if not digest.claim(s, scope=TEAM, week=week, due_at=due, now=now):
                    return digest.subscribers(s)  # each personal digest is claimed on its own
                content = digest.build(s, now=now, soon=soon, group_members=members, tz=pb.tz,
                                       usage=pb.usage)
                outbox.enqueue(s, key=f"digest:{TEAM}:{week}", method="chat.postMessage",
                               channel=pb.digest_channel(), template=digest.T_DIGEST,
                               payload={**content, "week": week, "home_link": link}, now=now)
                audit.append(s, at=now, actor="countersign", action="digest.sent", entity_type=digest.ENTITY,
                             entity_id=f"{TEAM}:{week}",
                             payload={"channel": pb.digest_channel(), "counts": _counts(content)})
                return digest.subscribers(s)

        for user in await self.services.db.run(team_digest):
            await self.services.db.run(self._personal, user, week=week, due=due, now=now, soon=soon,
                                    members=members, link=link, tz=pb.tz)

    def _since(self, now: datetime) -> datetime:
        """When this database first had a digest schedule: digests are owed from there on,
        so a bot installed (or given a schedule) at 09:30 on a Monday does not post that
        morning's 09:00 digest, while one restarted at 09:30 still catches it up."""
        if self._started is None:
            with self.services.db.session() as s:
                digest.claim(s, scope=SINCE, week="-", due_at=now, now=now)
                self._started = s.exec(select(DigestRun.due_at).where(DigestRun.scope == SINCE)).one()
        return self._started

    def _already_sent(self, week: str) -> bool:
        """The team's digest and every subscriber's are claimed for `week`: two indexed reads,
        so the job costs little on the sweeps between digests."""
        with self.services.db.session() as s:
            if s.exec(select(DigestRun.id).where(DigestRun.scope == TEAM, DigestRun.week == week)).first() is None:
                return False
            owed = select(DigestSubscriber.user).where(~exists().where(
                DigestRun.scope == literal("user:") + DigestSubscriber.user, DigestRun.week == week))
            return s.exec(owed.limit(1)).first() is None

    def _personal(self, user: str, *, week: str, due: Any, now: Any, soon: timedelta, members: Any,
                  link: str | None, tz: Any) -> None:
        scope = digest.personal_scope(user)
        with self.services.db.session() as s:
            if not digest.claim(s, scope=scope, week=week, due_at=due, now=now):
                return
            content = digest.build(s, now=now, soon=soon, group_members=members, user=user, tz=tz)
            outbox.enqueue(s, key=f"digest:{scope}:{week}", method="chat.postMessage", channel=user,
                           template=digest.T_DIGEST, payload={**content, "week": week, "home_link": link},
                           now=now)
            audit.append(s, at=now, actor="countersign", action="digest.sent", entity_type=digest.ENTITY,
                         entity_id=f"{scope}:{week}", payload={"channel": user, "counts": _counts(content)})


def _counts(content: dict[str, Any]) -> dict[str, int]:
    return {k: v["total"] for k, v in content.items() if isinstance(v, dict) and "total" in v}
