"""Message shortcut "Report as AI incident": the incident form, pre-filled from the message."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.incidents import SHORTCUT, new_incident_modal
from blocks.text import plain
from handlers.commands.incident import severity_choices


NO_MESSAGE = ("Slack did not say which message you ran *Report as AI incident* on, so there is "
              "nothing to report from. Run it on the message again, or use `/ai-incident`.")


async def on_report(ack: Any, shortcut: dict[str, Any], client: Any, respond: Any,
                    context: Any) -> None:
    await ack()
    message = shortcut.get("message")
    if not message or not message.get("ts"):
        await respond(response_type="ephemeral", text=NO_MESSAGE)
        return
    pb = context["services"].playbook.current.playbook
    # A message's text is mrkdwn (`&lt;` for a typed `<`); the form's inputs are plain text.
    text = plain(message.get("text") or "").strip()
    await client.views_open(trigger_id=shortcut["trigger_id"], view=new_incident_modal(
        severities=severity_choices(pb),
        metadata=f"{shortcut['channel']['id']}:{message['ts']}",
        title=(text.splitlines()[0][:150] if text else None),
        description=text[:3000] or None))


def register(app: AsyncApp) -> None:
    app.shortcut(SHORTCUT)(on_report)
