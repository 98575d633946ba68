"""/ai-incident: report an AI incident (form or one line) and read its timeline."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

import escalation
from blocks.help import error_message
from blocks.incidents import new_incident_modal, timeline_answer
from blocks.text import channel, escape
from handlers.commands.router import register_command

USAGE = escape("Usage: `/ai-incident <severity> <what happened>`, e.g. "
               "`/ai-incident sev1 Prompt injection in support bot`")


def severity_choices(pb: Any) -> list[tuple[str, str]]:
    return [(name, s.description or "") for name, s in pb.escalation.severities.items()]


async def report(services: Any, *, reporter: str, severity: str, title: str,
                 category: str = "other", description: str = "",
                 source_permalink: str | None = None, affected: str | None = None) -> dict:
    """Open an incident; IncidentInputError (nothing written) for bad input."""
    loaded = services.playbook.current
    resolution = await services.directory.resolve(loaded.playbook)

    def write() -> dict:
        with services.db.session() as s:
            incident = escalation.open_incident(
                s, playbook=loaded, severity=severity, title=title, reporter=reporter,
                now=services.clock.now(), category=category, description=description,
                source_permalink=source_permalink, affected=affected,
                group_members=resolution.members)
            return escalation.incident_view(s, incident)

    return await services.db.run(write)


async def open_form(ack: Any, client: Any, body: dict[str, Any], context: Any, **_: Any) -> None:
    await ack()
    pb = context["services"].playbook.current.playbook
    await client.views_open(trigger_id=body["trigger_id"],
                            view=new_incident_modal(severities=severity_choices(pb)))


async def inline(ack: Any, respond: Any, command: dict[str, Any], args: str, context: Any,
                 word: str, **_: Any) -> None:
    if not args.strip():
        await ack(**error_message(f"Say what happened after the severity. {USAGE}"))
        return
    await ack()
    try:
        view = await report(context["services"], reporter=command["user_id"], severity=word,
                            title=args.strip())
    except escalation.IncidentInputError as exc:
        await respond(**error_message(exc.message))
        return
    where = f" in {channel(view['channel'])}" if view.get("channel") else ""
    await respond(response_type="ephemeral",
                  text=f"AI incident #{view['id']} ({escape(word)}) is open{where}; on-call is being "
                  "paged.")


async def show_timeline(ack: Any, respond: Any, command: dict[str, Any], args: str,
                        context: Any, **_: Any) -> None:
    await ack()
    services = context["services"]

    def load() -> tuple[dict, list[dict]] | None:
        with services.db.session() as s:
            incident = (escalation.get(s, int(args)) if args.strip().isdigit()
                        else escalation.by_channel(s, command.get("channel_id")))
            if incident is None:
                return None
            return escalation.incident_view(s, incident), escalation.timeline(s, incident.id)

    found = await services.db.run(load)
    if found is None:
        await respond(**error_message(
            "No incident here: run `/ai-incident timeline &lt;id&gt;`, or run it in an incident's "
            "channel."))
        return
    await respond(**timeline_answer(*found))


def register(app: AsyncApp) -> None:
    async def severities(word: str, context: Any) -> Any:
        return inline if word in context["services"].playbook.current.playbook.escalation.severities else None

    register_command(app, "/ai-incident", capability="AI incident escalation",
                     subcommands={"": open_form, "timeline": show_timeline},
                     fallback=severities)
