"""Message shortcut "Report as AI incident": the incident form, pre-filled from the message."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.incidents import SHORTCUT, new_incident_modal
from handlers.commands.incident import severity_choices


async def on_report(ack: Any, shortcut: dict[str, Any], client: Any, context: Any) -> None:
    await ack()
    pb = context["services"].playbook.current.playbook
    message = shortcut.get("message") or {}
    text = (message.get("text") or "").strip()
    await client.views_open(trigger_id=shortcut["trigger_id"], view=new_incident_modal(
        severities=severity_choices(pb),
        metadata=f"{shortcut['channel']['id']}:{message.get('ts', '')}",
        title=(text.splitlines()[0][:150] if text else None),
        description=text[:3000] or None))


def register(app: AsyncApp) -> None:
    app.shortcut(SHORTCUT)(on_report)
