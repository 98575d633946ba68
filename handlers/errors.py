"""The last resort: log the failure with its request id and tell the user plainly."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import logs

log = logging.getLogger(__name__)


async def on_error(error: Exception, body: dict[str, Any], respond: Any = None) -> None:
    reference = logs.current("request_id") or "unknown"
    log.error("listener failed: %r", error, exc_info=error)
    if respond is not None and body.get("response_url"):
        try:
            await respond(
                response_type="ephemeral",
                text=f"Sorry, that did not work because of a fault on our side. Nothing was "
                f"changed. Reference for your admin: {reference}.",
            )
        except Exception:
            log.exception("could not tell the user about the failure")


def register(app: AsyncApp) -> None:
    app.error(on_error)
