"""Buttons on usage alerts: Acknowledge, and Open incident (which opens an AI incident
prefilled with the alert's evidence). Ack first; the database work, and resolving the
playbook's groups for the incident's escalation, come after."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.usage_alerts import ACKNOWLEDGE, OPEN_INCIDENT, parse_alert_value
from handlers.actions.incidents import answer, change
from services.usage import alerts


async def on_acknowledge(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any,
                         client: Any, context: Any) -> None:
    await ack()
    alert_id = parse_alert_value(action.get("value"))
    result = await change(context, alerts.acknowledge, alert_id=alert_id, user=body["user"]["id"],
                          playbook=context["services"].playbook.current.playbook)
    await answer(body, respond, client, result.message)


async def on_open_incident(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any,
                           client: Any, context: Any) -> None:
    await ack()
    alert_id = parse_alert_value(action.get("value"))
    services = context["services"]
    loaded = services.playbook.current
    resolution = await services.directory.resolve(loaded.playbook)
    result = await change(context, alerts.open_incident, alert_id=alert_id, user=body["user"]["id"],
                          playbook=loaded, group_members=resolution.members)
    await answer(body, respond, client, result.message)


def register(app: AsyncApp) -> None:
    app.action(ACKNOWLEDGE)(on_acknowledge)
    app.action(OPEN_INCIDENT)(on_open_incident)
