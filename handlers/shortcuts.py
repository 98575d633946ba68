"""Message shortcut "Report as AI incident": the incident form, pre-filled from the message."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.incidents import SHORTCUT, new_incident_modal
from blocks.text import plain
from handlers import metadata
from handlers.commands.incident import severity_choices


NO_MESSAGE = ("Slack did not say which message you ran *Report as AI incident* on, so there is "
              "nothing to report from. Run it on the message again, or use `/ai-incident`.")


async def on_report(ack: Any, shortcut: dict[str, Any], client: Any, respond: Any,
                    context: Any) -> None:
    await ack()
    message = shortcut.get("message")
    try:
        # Both go into the form's private_metadata, which Slack caps at 3,000 characters and
        # the submission reads back with these same checks: only what Slack really sends.
        channel, ts = metadata.channel_id(shortcut["channel"]["id"]), metadata.message_ts(message["ts"])
        if channel is None:
            raise metadata.BadMetadata("no channel")
    except (metadata.BadMetadata, KeyError, TypeError):
        await respond(response_type="ephemeral", text=NO_MESSAGE)
        return
    pb = context["services"].playbook.current.playbook
    # A message's text is mrkdwn (`&lt;` for a typed `<`); the form's inputs are plain text.
    text = plain(message.get("text") or "").strip()
    await client.views_open(trigger_id=shortcut["trigger_id"], view=new_incident_modal(
        severities=severity_choices(pb),
        metadata=f"{channel}:{ts}",
        title=(text.splitlines()[0][:150] if text else None),
        description=text[:3000] or None))


def register(app: AsyncApp) -> None:
    app.shortcut(SHORTCUT)(on_report)
