"""Global middleware: nothing is taken from a Slack account that has been deactivated.

The playbook may still name the person (an approver, a responder, a documentation approver),
so their rules would let them act; being gone comes first. The refusal is audited, then raised
as an InputError, which handlers/errors answers where the request came from, with a 2xx.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from handlers import middleware
from services import access
from services.inputs import InputError

GONE = "Slack says this account is deactivated, so Countersign acts on nothing it sends. Nothing was changed."
# Requests that only read or close something and carry no answer a person waits on.
PASSIVE = ("block_suggestion", "view_closed")


class Deactivated(InputError):
    def __init__(self) -> None:
        super().__init__("user", GONE)


def acting_user(body: dict[str, Any]) -> str | None:
    """Who sent a command, pressed a button, submitted a form or ran a shortcut; None for the
    Events API (what Slack tells us, not what a person asks) and passive requests."""
    if "event" in body or body.get("type") in PASSIVE:
        return None
    user = body.get("user_id") if "command" in body else body.get("user")
    if isinstance(user, dict):
        user = user.get("id")
    return user if isinstance(user, str) and user else None


async def refuse_deactivated(body: dict[str, Any], context: Any, next: Callable[[], Awaitable[None]]) -> None:
    user = acting_user(body) if isinstance(body, dict) else None
    services = context["services"]
    if user is None or not await services.people.deactivated(user):
        await next()
        return
    attempted = middleware.action_name(body) or "request"

    def record() -> None:
        with services.db.session() as s:
            access.refuse_deactivated(s, now=services.clock.now(), user=user, attempted=attempted)

    await services.db.run(record)
    raise Deactivated()
