"""Incident forms: report, resolve, post an update. Errors come back on their field."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp

import escalation
from blocks import incidents as ui
from blocks.text import channel
from handlers import metadata
from handlers.actions.incidents import change, playbook_admin
from handlers.commands.incident import report
from handlers.deadlines import LOOKUP_BEFORE_ACK
from handlers.views.approvals import errors_on, value

FIELD_BLOCKS = {"severity": "severity", "title": "title", "category": "category",
                "description": "description", "affected": "affected", "summary": "summary",
                "postmortem_url": "postmortem", "text": "text"}


def _reported_message(view: dict[str, Any]) -> tuple[str, str] | None:
    """(channel, ts) of the message the shortcut reported; None for the /ai-incident form,
    which is opened with empty metadata, or a shortcut on a message without a ts."""
    if view.get("private_metadata") == "":
        return None
    where, ts = metadata.parts(view, 2)
    found = metadata.channel_id(where)
    if found is None:
        raise metadata.BadMetadata("no channel")
    return (found, metadata.message_ts(ts)) if ts else None


async def on_new(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any,
                 context: Any) -> None:
    services = context["services"]
    try:
        source = _reported_message(view)
    except metadata.BadMetadata:
        await ack(**metadata.refusal(view))
        return
    permalink = None
    if source:
        try:
            permalink = (await asyncio.wait_for(
                client.chat_getPermalink(channel=source[0], message_ts=source[1]),
                LOOKUP_BEFORE_ACK))["permalink"]
        except Exception:  # the report matters more than its link, the ack more than both
            permalink = None
    try:
        created = await report(
            services, reporter=body["user"]["id"], severity=value(view, "severity") or "",
            title=value(view, "title") or "", category=value(view, "category") or "other",
            description=value(view, "description") or "", source_permalink=permalink,
            affected=value(view, "affected") or None)
    except escalation.IncidentInputError as exc:
        await ack(**errors_on(FIELD_BLOCKS.get(exc.field, "title"), exc.message))
        return
    await ack()
    where = f" in {channel(created['channel'])}" if created.get("channel") else ""
    await client.chat_postMessage(
        channel=body["user"]["id"],
        text=f"AI incident #{created['id']} is open{where}; on-call is being paged.")


async def on_resolve(ack: Any, body: dict[str, Any], view: dict[str, Any],
                     context: Any) -> None:
    try:
        incident_id = metadata.record_id(metadata.parts(view, 1)[0])
    except metadata.BadMetadata:
        await ack(**metadata.refusal(view))
        return
    user = body["user"]["id"]
    try:
        result = await change(
            context, escalation.resolve, incident_id=incident_id,
            user=user, is_admin=playbook_admin(context, user), summary=value(view, "summary") or "",
            postmortem_url=value(view, "postmortem") or None,
            revisit_usecase=value(view, "revisit") == "yes",
            playbook=context["services"].playbook.current.playbook)
    except escalation.IncidentInputError as exc:
        await ack(**errors_on(FIELD_BLOCKS.get(exc.field, "summary"), exc.message))
        return
    if result.outcome == "denied":
        await ack(**errors_on("summary", result.message))
        return
    await ack()


async def on_update(ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
    try:
        incident_id = metadata.record_id(metadata.parts(view, 1)[0])
    except metadata.BadMetadata:
        await ack(**metadata.refusal(view))
        return
    try:
        result = await change(context, escalation.post_update, incident_id=incident_id,
                              user=body["user"]["id"], text=value(view, "text") or "")
    except escalation.IncidentInputError as exc:
        await ack(**errors_on("text", exc.message))
        return
    if result.outcome == "denied":
        await ack(**errors_on("text", result.message))
        return
    await ack()


def register(app: AsyncApp) -> None:
    app.view(ui.NEW)(on_new)
    app.view(ui.RESOLVE_FORM)(on_resolve)
    app.view(ui.UPDATE_FORM)(on_update)
