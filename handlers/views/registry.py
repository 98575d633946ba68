"""Registry form submissions: a new or edited record, a vendor review. Bad input comes back
on the field that has it (`response_action: errors`), and nothing is written."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks import registry as registry_blocks
from blocks.registry_forms import EDIT, NEW, VENDOR_REVIEW
from blocks.text import escape
from handlers import metadata
from handlers.registry_context import (
    authority,
    check_people,
    errors_for,
    form_values,
    in_session_audited,
)
from services import registry


async def _tell(client: Any, user: str, channel: str | None, message: dict[str, Any]) -> None:
    """Confirm where the person started: the channel (ephemeral), else a DM."""
    if channel:
        await client.chat_postEphemeral(channel=channel, user=user, **message)
    else:
        await client.chat_postMessage(channel=user, **message)


async def _save(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any, context: Any,
                *, kind: str, record_id: int | None, channel: str | None) -> None:
    services = context["services"]
    user = body["user"]["id"]
    raw = form_values(view, kind)
    people = await check_people(client, kind, raw)
    if people:
        await ack(**errors_for(view, people))
        return
    who = await authority(services, user)
    pb = services.playbook.current.playbook

    def write(s: Any) -> tuple[dict[str, Any], list[str]]:
        now = services.clock.now()
        if record_id is None:
            record, changed = registry.create(s, kind, raw, authority=who, now=now, playbook=pb), []
        else:
            record, changed = registry.edit(s, kind, record_id, raw, authority=who, now=now, playbook=pb)
        return registry.record_summary(s, kind, record, now=now, tz=pb.tz), changed

    try:
        summary, changed = await in_session_audited(services, write, kind=kind, record_id=record_id, user=user,
                                                    attempted="create" if record_id is None else "edit")
    except registry.RegistryInputError as exc:
        await ack(**errors_for(view, exc.errors))
        return
    await ack()
    await _tell(client, user, channel, registry_blocks.saved_message(
        summary, created=record_id is None, changed=changed))


def _on_new(kind: str) -> Any:
    async def on_new(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any, context: Any) -> None:
        try:
            channel = metadata.channel_id(metadata.parts(view, 1)[0])
        except metadata.BadMetadata:
            await ack(**metadata.refusal(view))
            return
        await _save(ack, body, view, client, context, kind=kind, record_id=None, channel=channel)
    return on_new


def _on_edit(kind: str) -> Any:
    async def on_edit(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any, context: Any) -> None:
        try:
            raw_id, raw_channel = metadata.parts(view, 2)
            record_id, channel = metadata.record_id(raw_id), metadata.channel_id(raw_channel)
        except metadata.BadMetadata:
            await ack(**metadata.refusal(view))
            return
        await _save(ack, body, view, client, context, kind=kind, record_id=record_id, channel=channel)
    return on_edit


async def on_vendor_review(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any,
                           context: Any) -> None:
    services = context["services"]
    user = body["user"]["id"]
    raw = form_values(view, "vendor")
    try:
        record_id = metadata.record_id(metadata.parts(view, 1)[0])
    except metadata.BadMetadata:
        await ack(**metadata.refusal(view))
        return
    who = await authority(services, user)

    pb = services.playbook.current.playbook

    def write(s: Any) -> dict[str, Any]:
        now = services.clock.now()
        record = registry.mark_reviewed(s, "vendor", record_id, authority=who, now=now, playbook=pb,
                                        outcome=raw.get("review_status") or "", result=raw.get("review_result") or "")
        return registry.record_summary(s, "vendor", record, now=now, tz=pb.tz)

    try:
        summary = await in_session_audited(services, write, kind="vendor", record_id=record_id, user=user,
                                           attempted="mark_reviewed")
    except registry.RegistryInputError as exc:
        await ack(**errors_for(view, exc.errors))
        return
    await ack()
    await client.chat_postMessage(channel=user, text=(
        f"Review of {summary['ref']} {escape(summary['title'])} signed off: {summary['status'].replace('_', ' ')}; "
        f"next review {summary['next_review_on']}."))


def register(app: AsyncApp) -> None:
    for kind in ("usecase", "vendor"):
        app.view(NEW[kind])(_on_new(kind))
        app.view(EDIT[kind])(_on_edit(kind))
    app.view(VENDOR_REVIEW)(on_vendor_review)
