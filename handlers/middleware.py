"""Global Bolt middleware: services in the context, log fields, and retry de-duplication
(a delivery claimed before its listener, settled after it: services/inbound)."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.listener.async_listener_completion_handler import (
    AsyncCustomListenerCompletionHandler,
)
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot import instance, logs
from bot.db import wrote
from handlers import people
from services import inbound

log = logging.getLogger(__name__)

Next = Callable[[], Awaitable[None]]
# The claim is the database work every request waits on before its listener can ack: bounded,
# so that a database that does not answer leaves time in Slack's 3 s to send an apology.
CLAIM_BUDGET = 1.5
CLAIM = "countersign_delivery_claim"  # context keys: (key, owner) of the claimed delivery
FAILED = "countersign_listener_failed"


class Handling:
    """The delivery the current listener handles, seen by its database transactions."""

    def __init__(self, key: str, owner: str) -> None:
        self.key, self.owner, self.settled = key, owner, False


# Set once a delivery is claimed; the listener's task and its database threads inherit it.
HANDLING: ContextVar[Handling | None] = ContextVar("countersign_handling", default=None)
_SETTLING = "countersign_settling"


def settle_with_state_change(session: Any) -> None:
    """Before a listener's first state change commits: its delivery is done in the same
    transaction, so a replay after the commit (bot/redelivery.py) finds it done. A crash
    before the commit leaves both undone, and the replay does the work."""
    handling = HANDLING.get()
    if handling is None or handling.settled or not wrote(session):
        return
    if inbound.settle(session, key=handling.key, owner=handling.owner, completed=True):
        session.info[_SETTLING] = handling


def settled_with_state_change(session: Any) -> None:
    handling = session.info.pop(_SETTLING, None)
    if handling is not None:
        handling.settled = True


def delivery_key(body: dict[str, Any]) -> str | None:
    """What stays the same when Slack re-sends one request: event_id, else trigger_id."""
    if body.get("event_id"):
        return f"event:{_opaque(str(body['event_id']))}"
    if body.get("trigger_id"):
        return f"trigger:{_opaque(str(body['trigger_id']))}"
    return None


# Slack's ids are short printable ASCII.
_SLACK_ID = re.compile(r"[\x21-\x7e]{1,100}")


def _opaque(value: str) -> str:
    """An id as it goes into the key. Anything unlike Slack's — a NUL PostgreSQL cannot store,
    more than the key column's 128 characters (cut, two would collide) — is keyed by its
    digest instead, the same on every retry of the same body."""
    if _SLACK_ID.fullmatch(value):
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def action_name(body: dict[str, Any]) -> str | None:
    if body.get("command"):
        return body["command"]
    if body.get("event"):
        return f"event:{body['event'].get('type')}"
    actions = body.get("actions") or []
    if actions:
        return f"action:{actions[0].get('action_id')}"
    view = body.get("view") or {}
    if body.get("type") in ("view_submission", "view_closed"):
        return f"{body['type']}:{view.get('callback_id')}"
    if body.get("callback_id"):
        return f"{body.get('type')}:{body['callback_id']}"
    return body.get("type")


def install(app: AsyncApp, services: Any) -> None:
    async def provide_services(context: AsyncBoltContext, next: Next) -> None:
        context["services"] = services
        await next()

    async def bind_log_fields(body: dict[str, Any], context: AsyncBoltContext, next: Next) -> None:
        logs.bind(team=context.team_id, user=context.user_id, action=action_name(body))
        await next()

    async def drop_redeliveries(
        body: dict[str, Any], request: AsyncBoltRequest, context: AsyncBoltContext, next: Next
    ) -> BoltResponse | None:
        key = delivery_key(body)
        if key is None:
            await next()
            return None
        owner = instance.owner()
        content_type = request.headers.get("content-type", [None])[0]

        def take() -> bool:
            with services.db.session() as s:
                # A body with a NUL byte (never Slack's) cannot be stored on PostgreSQL: kept
                # for no replay.
                kept = request.raw_body if "\x00" not in request.raw_body else None
                return inbound.claim(s, key=key, owner=owner, now=services.clock.now(),
                                     body=kept, content_type=content_type)

        def withdraw(taken: bool) -> None:
            """The claim went through after we answered with an apology: it must not stand
            (nor be replayed), since the person was told nothing changed."""
            if taken:
                with services.db.session() as s:
                    inbound.settle(s, key=key, owner=owner, completed=False)

        if await services.db.run_within(CLAIM_BUDGET, take, undo=withdraw):
            context[CLAIM] = (key, owner)
            HANDLING.set(Handling(key, owner))
            await next()
            return None
        retry = request.headers.get("x-slack-retry-num", ["?"])[0]
        log.info("dropping a repeated Slack delivery %s (retry %s)", key, retry)
        return BoltResponse(status=200, body="")

    async def settle_delivery(request: AsyncBoltRequest) -> None:
        """After the listener, whichever way it ended (Bolt's completion handler)."""
        claim = request.context.get(CLAIM)
        if claim is None:
            return
        key, owner = claim
        completed = not request.context.get(FAILED)

        def settle() -> bool:
            with services.db.session() as s:
                return inbound.settle(s, key=key, owner=owner, completed=completed)

        try:
            settled = await services.db.run(settle)
        except Exception:  # the claim's lease ends it all the same
            log.exception("could not settle Slack delivery %s", key)
            return
        if not settled:
            log.warning("Slack delivery %s was taken over before its listener ended", key)

    services.db.before_commit(settle_with_state_change)
    services.db.on_commit(settled_with_state_change)
    app.middleware(provide_services)
    app.middleware(bind_log_fields)
    # Before the delivery claim: a deactivated account's request writes nothing but its refusal.
    app.middleware(people.refuse_deactivated)
    app.middleware(drop_redeliveries)
    # Global middleware runs before the listener (its next() only marks the chain as passed),
    # so the end of a listener is seen here. Bolt has no public setter for it; app.error()
    # sets its sibling, the error handler, the same way.
    app._async_listener_runner.listener_completion_handler = AsyncCustomListenerCompletionHandler(
        logger=app.logger, func=settle_delivery)


def listener_failed(context: AsyncBoltContext) -> None:
    """Called by the error handler: the claimed delivery is released, not done."""
    context[FAILED] = True
