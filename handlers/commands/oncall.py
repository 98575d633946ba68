"""/ai-oncall: who is on call now, someone's upcoming shifts, and covering a shift."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncApp

import escalation
from blocks.help import error_message
from blocks.oncall import overview_answer, shifts_answer
from blocks.text import escape
from handlers.commands.router import register_command

_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
USAGE = escape("Usage: `/ai-oncall override @user <rotation> <from> <to>`, times as "
               "`2026-12-24T18:00` in the playbook's time zone, e.g. "
               "`/ai-oncall override @mara ai-primary 2026-12-24T18:00 2026-12-27T09:00`")


def parse_time(text: str, tz: ZoneInfo) -> datetime:
    moment = datetime.fromisoformat(text.replace(" ", "T"))
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


async def overview(ack: Any, respond: Any, context: Any, **_: Any) -> None:
    await ack()
    services = context["services"]
    pb = services.playbook.current.playbook
    now = services.clock.now()

    def load() -> list[tuple[str, str | None, list]]:
        with services.db.session() as s:
            return [(name, escalation.on_call_now(s, pb, name, now),
                     escalation.schedule(s, pb, name, now, 3))
                    for name in pb.escalation.rotations]

    await respond(**overview_answer(await services.db.run(load), tz=pb.timezone))


async def someone(ack: Any, respond: Any, args: str, context: Any, **_: Any) -> None:
    mention = _MENTION.match(args.split()[0]) if args.split() else None
    if mention is None:
        await ack(**error_message("Name someone with an @mention: `/ai-oncall @user`."))
        return
    await ack()
    services = context["services"]
    pb = services.playbook.current.playbook
    user = mention.group(1)

    def load() -> list:
        with services.db.session() as s:
            return escalation.shifts_of(s, pb, user, services.clock.now(), 5)

    await respond(**shifts_answer(user, await services.db.run(load), tz=pb.timezone))


async def override(ack: Any, respond: Any, command: dict[str, Any], args: str, context: Any,
                   **_: Any) -> None:
    services = context["services"]
    pb = services.playbook.current.playbook
    words = args.split()
    mention = _MENTION.match(words[0]) if words else None
    if mention is None or len(words) != 4:
        await ack(**error_message(USAGE))
        return
    tz = ZoneInfo(pb.timezone)
    try:
        start, end = parse_time(words[2], tz), parse_time(words[3], tz)
    except ValueError:
        await ack(**error_message(f"`{escape(words[2], 60)}` or `{escape(words[3], 60)}` is not a time. {USAGE}"))
        return
    user = command["user_id"]

    def write() -> Any:
        with services.db.session() as s:
            return escalation.add_override(
                s, playbook=pb, rotation=words[1], user=mention.group(1), start=start, end=end,
                created_by=user, now=services.clock.now(), is_admin=user in pb.admins)

    try:
        result = await services.db.run(write)
    except escalation.IncidentInputError as exc:
        await ack(**error_message(exc.message))
        return
    if result.outcome == "denied":
        await ack(**error_message(result.message))
        return
    await ack(response_type="ephemeral", text=result.message)


def register(app: AsyncApp) -> None:
    register_command(app, "/ai-oncall", capability="on-call rotations",
                     subcommands={"": overview, "@": someone, "override": override})
