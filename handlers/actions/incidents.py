"""Buttons on incidents: in the pinned summary, in page DMs and in update reminders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

import escalation
from blocks.incidents import (
    ACK,
    REOPEN,
    RESOLVE,
    SNOOZE,
    TIMELINE,
    UNACK,
    UPDATE,
    parse_incident_value,
    parse_snooze_value,
    resolve_modal,
    timeline_answer,
    update_modal,
)


async def answer(body: dict[str, Any], respond: Any, client: Any, text: str) -> None:
    """Ephemerally to the presser: via response_url from a message, else by DM."""
    if body.get("response_url"):
        await respond(response_type="ephemeral", replace_original=False, text=text)
    else:
        await client.chat_postMessage(channel=body["user"]["id"], text=text)


def _incident_id(action: dict[str, Any]) -> int:
    return parse_incident_value(action.get("value"))


async def change(context: Any, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Run one state change of escalation/ in its own transaction."""
    services = context["services"]

    def write() -> Any:
        with services.db.session() as s:
            return fn(s, now=services.clock.now(), **kwargs)

    return await services.db.run(write)


def playbook_admin(context: Any, user: str) -> bool:
    return user in context["services"].playbook.current.playbook.admins


async def on_ack(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any,
                 client: Any, context: Any) -> None:
    await ack()
    user = body["user"]["id"]
    # A page to a channel may be taken by anyone in that channel.
    channel = (body.get("channel") or {}).get("id")
    result = await change(context, escalation.acknowledge, incident_id=_incident_id(action),
                          user=user, is_admin=playbook_admin(context, user), via_channel=channel)
    await answer(body, respond, client, result.message)


async def on_unack(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any,
                   client: Any, context: Any) -> None:
    await ack()
    user = body["user"]["id"]
    result = await change(context, escalation.unacknowledge, incident_id=_incident_id(action),
                          user=user, is_admin=playbook_admin(context, user))
    await answer(body, respond, client, result.message)


async def on_reopen(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any,
                    client: Any, context: Any) -> None:
    await ack()
    user = body["user"]["id"]
    result = await change(context, escalation.reopen, incident_id=_incident_id(action),
                          user=user, is_admin=playbook_admin(context, user))
    await answer(body, respond, client, result.message)


async def on_snooze(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any,
                    client: Any, context: Any) -> None:
    await ack()
    incident_id, minutes = parse_snooze_value(action.get("value"))
    user = body["user"]["id"]
    result = await change(context, escalation.snooze_updates, incident_id=incident_id,
                          user=user, minutes=minutes, is_admin=playbook_admin(context, user))
    await answer(body, respond, client, result.message)


async def _view_of(context: Any, incident_id: int) -> dict[str, Any] | None:
    services = context["services"]

    def load() -> dict[str, Any] | None:
        with services.db.session() as s:
            incident = escalation.get(s, incident_id)
            return None if incident is None else escalation.incident_view(s, incident)

    return await services.db.run(load)


async def on_form_button(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any,
                         respond: Any, context: Any) -> None:
    await ack()
    view = await _view_of(context, _incident_id(action))
    if view is None:
        await answer(body, respond, client, "That incident does not exist.")
        return
    modal = resolve_modal(view) if action["action_id"] == RESOLVE else update_modal(view)
    await client.views_open(trigger_id=body["trigger_id"], view=modal)


async def on_timeline(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any,
                      client: Any, context: Any) -> None:
    await ack()
    services = context["services"]
    incident_id = _incident_id(action)

    def load() -> tuple[dict, list[dict]] | None:
        with services.db.session() as s:
            incident = escalation.get(s, incident_id)
            if incident is None:
                return None
            return escalation.incident_view(s, incident), escalation.timeline(s, incident_id)

    found = await services.db.run(load)
    if found is None:
        await answer(body, respond, client, "That incident does not exist.")
        return
    rendered = timeline_answer(*found)
    if body.get("response_url"):
        await respond(**rendered, replace_original=False)
    else:
        await client.chat_postMessage(channel=body["user"]["id"], text=rendered["text"],
                                      blocks=rendered["blocks"])


def register(app: AsyncApp) -> None:
    app.action(ACK)(on_ack)
    app.action(UNACK)(on_unack)
    app.action(REOPEN)(on_reopen)
    app.action(SNOOZE)(on_snooze)
    app.action(RESOLVE)(on_form_button)
    app.action(UPDATE)(on_form_button)
    app.action(TIMELINE)(on_timeline)
