"""What no other listener takes: a button, form, shortcut, picker or command this version does
not register (an old message, a payload someone made up). Each is acknowledged and the person
told that nothing was changed, instead of Bolt's 404 with a warning, or a form that hangs."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks import faults
from blocks.help import error_message

log = logging.getLogger(__name__)
ANY = re.compile("")


async def _tell(body: dict[str, Any], respond: Any, text: str) -> None:
    if body.get("response_url"):
        await respond(response_type="ephemeral", replace_original=False, text=text)


async def on_command(ack: Any) -> None:
    await ack(**error_message(faults.UNKNOWN_COMMAND))


async def on_action(ack: Any, body: dict[str, Any], respond: Any) -> None:
    await ack()
    await _tell(body, respond, faults.UNKNOWN_BUTTON)


async def on_view(ack: Any) -> None:
    await ack(response_action="update", view=faults.notice_modal(faults.UNKNOWN_FORM))


async def on_view_closed(ack: Any) -> None:
    await ack()


async def on_shortcut(ack: Any, body: dict[str, Any], respond: Any) -> None:
    await ack()
    await _tell(body, respond, faults.UNKNOWN_SHORTCUT)


async def on_options(ack: Any) -> None:
    await ack(options=[])


async def on_event() -> None:
    """Slack sends only the events the manifest subscribes to; anything else is acknowledged
    (Bolt does that for events) and dropped, so Slack does not retry it."""


def register(app: AsyncApp) -> None:
    app.command(ANY)(on_command)
    app.action(ANY)(on_action)
    app.view(ANY)(on_view)
    app.view({"type": "view_closed", "callback_id": ANY})(on_view_closed)
    app.shortcut(ANY)(on_shortcut)
    app.options(ANY)(on_options)
    app.event(ANY)(on_event)
