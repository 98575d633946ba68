"""Buttons on registry messages: edit, mark reviewed, and the revisit nudge's three answers."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks import registry as registry_blocks
from handlers.commands.registry import open_edit, open_vendor_review, review_usecase
from handlers.events.app_home import publish_home
from handlers.registry_context import in_session
from services import registry


async def _answer(body: dict[str, Any], client: Any, respond: Any, context: Any, text: str, *,
                  replace: bool = False) -> None:
    """Answer a click: in App Home (no response URL there) as a notice on the republished
    tab; elsewhere in place of the message (`replace`) or as an ephemeral reply."""
    if (body.get("view") or {}).get("type") == "home":
        await publish_home(client, context["services"], body["user"]["id"], notice=text)
    elif replace:
        await respond(**registry_blocks.nudge_answer(text))
    else:
        await respond(response_type="ephemeral", replace_original=False, text=text)


def _parts(body: dict[str, Any]) -> tuple[str, int, str] | None:
    """(kind, id, tag) from a button value `kind:id[:tag]` (the tag itself holds colons)."""
    kind, _, rest = body["actions"][0].get("value", "").partition(":")
    raw_id, _, tag = rest.partition(":")
    if kind not in ("usecase", "vendor") or not raw_id.isdigit():
        return None
    return kind, int(raw_id), tag


async def on_edit(ack: Any, body: dict[str, Any], client: Any, respond: Any, context: Any) -> None:
    await ack()
    parts = _parts(body)
    if parts is None:
        return
    kind, record_id, _ = parts
    problem = await open_edit(context["services"], client, kind=kind, record_id=record_id,
                              user=body["user"]["id"], trigger_id=body["trigger_id"],
                              channel=(body.get("channel") or {}).get("id"))
    if problem:
        await _answer(body, client, respond, context, problem)


async def on_reviewed(ack: Any, body: dict[str, Any], client: Any, respond: Any, context: Any) -> None:
    await ack()
    parts = _parts(body)
    if parts is None:
        return
    kind, record_id, _ = parts
    services = context["services"]
    if kind == "usecase":
        text = await review_usecase(services, record_id=record_id, user=body["user"]["id"])
        await _answer(body, client, respond, context, text)
        return
    problem = await open_vendor_review(services, client, record_id=record_id, user=body["user"]["id"],
                                       trigger_id=body["trigger_id"])
    if problem:
        await _answer(body, client, respond, context, problem)


async def on_still_accurate(ack: Any, body: dict[str, Any], client: Any, respond: Any, context: Any) -> None:
    await ack()
    parts = _parts(body)
    if parts is None:
        return
    kind, record_id, tag = parts
    services = context["services"]
    user = body["user"]["id"]
    if kind == "vendor":
        problem = await open_vendor_review(services, client, record_id=record_id, user=user,
                                           trigger_id=body["trigger_id"])
        if problem:
            await _answer(body, client, respond, context, problem)
        return
    current = await in_session(services, lambda s: registry.get(s, kind, record_id).next_review_at.isoformat())
    if current != tag:
        await _answer(body, client, respond, context, f"{registry.ref(kind, record_id)} was already "
                      "reviewed since this reminder. Nothing to do.", replace=True)
        return
    text = await review_usecase(services, record_id=record_id, user=user)
    await _answer(body, client, respond, context, text, replace=True)


async def on_update(ack: Any, body: dict[str, Any], client: Any, respond: Any, context: Any) -> None:
    await on_edit(ack, body, client, respond, context)


async def on_snooze(ack: Any, body: dict[str, Any], client: Any, respond: Any, context: Any) -> None:
    await ack()
    parts = _parts(body)
    if parts is None:
        return
    kind, record_id, tag = parts
    services = context["services"]
    user = body["user"]["id"]
    pb = services.playbook.current.playbook

    def write(s: Any) -> str:
        record, until = registry.snooze(s, kind, record_id, tag=tag, user=user, now=services.clock.now(),
                                        playbook=pb)
        left = pb.documentation.max_snoozes - record.snoozes
        return (f"Snoozed: {registry.ref(kind, record_id)} will remind you again on "
                f"{until.astimezone(pb.tz):%Y-%m-%d %H:%M} ({left} snooze{'s' if left != 1 else ''} left). "
                "Governance still hears of it once the grace period is over.")

    try:
        text = await in_session(services, write)
    except registry.RegistryInputError as exc:
        await _answer(body, client, respond, context, exc.message)
        return
    await _answer(body, client, respond, context, text, replace=True)


def register(app: AsyncApp) -> None:
    app.action(registry_blocks.EDIT)(on_edit)
    app.action(registry_blocks.REVIEWED)(on_reviewed)
    app.action(registry_blocks.STILL_ACCURATE)(on_still_accurate)
    app.action(registry_blocks.UPDATE)(on_update)
    app.action(registry_blocks.SNOOZE)(on_snooze)
