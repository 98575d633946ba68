"""/ai-playbook: anyone reads the playbook in force; admins reload it."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.help import error_message
from blocks.playbook import plain_answer, reload_answer, summary_answer
from blocks.text import escape
from bot.policy import reload_and_record
from handlers.commands.router import register_command
from services import playbook_changes
from services.playbook import UnknownName, explain_approval, explain_escalation, summary


async def show(ack: Any, respond: Any, context: Any, **_: Any) -> None:
    await ack()
    services = context["services"]
    loaded = services.playbook.current
    resolution = await services.directory.resolve(loaded.playbook)
    text = summary(loaded.playbook, now=services.clock.now(), group_members=resolution.members)
    await respond(**summary_answer(text, short_hash=loaded.short_hash,
                                   problems=resolution.problems))


async def reload(ack: Any, respond: Any, command: dict[str, Any], context: Any, **_: Any) -> None:
    services = context["services"]
    user = command["user_id"]
    admins = services.playbook.current.playbook.admins
    if user not in admins:
        await ack(**error_message(
            "Only the playbook's admins may reload it: "
            + ", ".join(f"<@{a}>" for a in admins) + ". Your attempt is in the audit log."))

        def record() -> None:
            with services.db.session() as s:
                playbook_changes.record_denied(s, now=services.clock.now(), actor=user,
                                               action="reload")

        await services.db.run(record)
        return
    await ack(response_type="ephemeral", text="Reloading the playbook…")
    outcome = await reload_and_record(services, actor=user, trigger="/ai-playbook reload")
    await respond(**reload_answer(outcome.status, hash_=outcome.current.short_hash,
                                  issues=outcome.issues))


async def explain(ack: Any, respond: Any, args: str, context: Any, **_: Any) -> None:
    services = context["services"]
    pb = services.playbook.current.playbook
    words = args.split()
    if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("internal", "external")):
        await ack(**error_message(
            escape("Usage: `/ai-playbook explain <kind> [internal|external]` or "
                   "`/ai-playbook explain <severity>`. Kinds: " + ", ".join(pb.approvals)
                   + ". Severities: " + ", ".join(pb.escalation.severities) + ".")))
        return
    await ack()
    resolution = await services.directory.resolve(pb)
    name = words[0]
    try:
        if name in pb.escalation.severities and len(words) == 1:
            text = explain_escalation(pb, name, services.clock.now(), resolution.members)
        else:
            audience = words[1] if len(words) == 2 else None
            text = explain_approval(pb, name, audience, resolution.members)  # type: ignore[arg-type]
    except UnknownName as exc:  # plain text quoting the name typed
        await respond(**error_message(escape(str(exc))))
        return
    await respond(**plain_answer(escape(text)))


def register(app: AsyncApp) -> None:
    register_command(app, "/ai-playbook", capability="the playbook",
                     subcommands={"": show, "reload": reload, "explain": explain})
