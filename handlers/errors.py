"""The last resort: whatever a listener or middleware raised, Slack gets a 2xx and the person
an explanation — their input's problem in its own words (an InputError, logged without a
traceback), or an apology with the request id for our fault (logged with one).

Bolt passes the HTTP response still to be sent when the failure came before the ack, and None
after it; a BoltResponse returned here replaces the 500 Bolt would send. Telling the person
through a response_url is network I/O, so before the ack it runs after the answer is sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from sqlalchemy.exc import OperationalError

from blocks import faults
from blocks.help import error_message
from bot import logs
from bot.db import DatabaseUnavailable
from handlers import middleware
from handlers.events.app_home import publish_home
from services.inputs import InputError

log = logging.getLogger(__name__)
_telling: set[asyncio.Task[None]] = set()  # referenced until done, or the loop may drop them


async def on_error(error: Exception, body: dict[str, Any], context: Any, request: Any,
                   respond: Any = None, client: Any = None,
                   response: BoltResponse | None = None) -> BoltResponse | None:
    middleware.listener_failed(context)
    if isinstance(error, InputError):
        log.info("refused: %s (%r)", error.message, error)
        text = error.message
    elif isinstance(error, DatabaseUnavailable | OperationalError):
        # An outage, not a bug: one line each, not a traceback per request while it lasts.
        log.error("database unavailable: %s", str(error).splitlines()[0][:300])
        text = faults.database_unavailable(logs.current("request_id") or "unknown")
    else:
        log.error("listener failed: %r", error, exc_info=error)
        text = faults.fault(logs.current("request_id") or "unknown")
    tell = _tell(body, context, respond, client, text)
    if response is None:  # acknowledged already: Slack has its answer, only the person waits
        await tell
        _keep_the_ack(request)
        return None
    if "command" in body:  # the answer to a slash command is what its user sees
        tell.close()
        return BoltResponse(status=200, body=error_message(text))
    if body.get("type") == "view_submission":  # over the form, which stays as it was
        tell.close()
        return BoltResponse(status=200, body={"response_action": "push",
                                              "view": faults.notice_modal(text)})
    if body.get("type") == "block_suggestion":
        tell.close()
        return BoltResponse(status=200, body={"options": []})
    task = asyncio.get_running_loop().create_task(tell, name="tell-failure")
    _telling.add(task)
    task.add_done_callback(_telling.discard)
    return BoltResponse(status=200, body="")


def _keep_the_ack(request: Any) -> None:
    """Undo Bolt's reset of a listener's ack when it failed after acknowledging.

    Bolt sets `ack.response = None` right after this handler returns. Its dispatcher polls for
    the ack every 10 ms; one that has not seen it yet then waits out the 3-second ack timeout
    and tries the next listener that matches — a fallback, telling the person their button is
    unknown. A callback scheduled now runs after that reset (nothing in between yields) and
    puts the ack back, so the dispatcher answers with it.
    """
    ack = request.context.ack
    if ack.response is not None:
        asyncio.get_running_loop().call_soon(setattr, ack, "response", ack.response)


def _tell(body: dict[str, Any], context: Any, respond: Any, client: Any,
          text: str) -> Coroutine[Any, Any, None]:
    async def tell() -> None:
        try:
            if respond is not None and body.get("response_url"):
                await respond(response_type="ephemeral", replace_original=False, text=text)
            elif client is not None and (body.get("view") or {}).get("type") == "home":
                await publish_home(client, context["services"], body["user"]["id"], notice=text)
        except Exception:
            log.exception("could not tell the user about the failure")

    return tell()


def register(app: AsyncApp) -> None:
    app.error(on_error)
