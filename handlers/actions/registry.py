"""Buttons on registry messages: edit, mark reviewed, and the revisit nudge's three answers."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks import registry as registry_blocks
from handlers.commands.registry import open_edit, review
from handlers.events.app_home import publish_home
from handlers.registry_context import in_session_audited
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


def _on_record(handler: Any) -> Any:
    """Ack the click, read which record its button names, and hand that on (a value that
    names none is not one of our buttons: the presser is told, by handlers/errors)."""
    async def listener(ack: Any, body: dict[str, Any], client: Any, respond: Any, context: Any) -> None:
        await ack()
        parts = registry_blocks.parse_record_value(body["actions"][0].get("value"))
        await handler(body, client, respond, context, *parts)
    return listener


async def _review(body: dict[str, Any], client: Any, respond: Any, context: Any, kind: str, record_id: int,
                  tag: str | None, *, replace: bool) -> None:
    text = await review(context["services"], client, kind=kind, record_id=record_id, user=body["user"]["id"],
                        trigger_id=body["trigger_id"], tag=tag)
    if text:
        await _answer(body, client, respond, context, text, replace=replace and kind == "usecase")


@_on_record
async def on_edit(body: dict[str, Any], client: Any, respond: Any, context: Any, kind: str, record_id: int,
                  _tag: str) -> None:
    problem = await open_edit(context["services"], client, kind=kind, record_id=record_id,
                              user=body["user"]["id"], trigger_id=body["trigger_id"],
                              channel=(body.get("channel") or {}).get("id"))
    if problem:
        await _answer(body, client, respond, context, problem)


@_on_record
async def on_reviewed(body: dict[str, Any], client: Any, respond: Any, context: Any, kind: str, record_id: int,
                      _tag: str) -> None:
    await _review(body, client, respond, context, kind, record_id, None, replace=False)


@_on_record
async def on_still_accurate(body: dict[str, Any], client: Any, respond: Any, context: Any, kind: str,
                            record_id: int, tag: str) -> None:
    await _review(body, client, respond, context, kind, record_id, tag, replace=True)


@_on_record
async def on_snooze(body: dict[str, Any], client: Any, respond: Any, context: Any, kind: str, record_id: int,
                    tag: str) -> None:
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
        text = await in_session_audited(services, write, kind=kind, record_id=record_id, user=user,
                                        attempted="snooze")
    except registry.RegistryInputError as exc:
        await _answer(body, client, respond, context, exc.message)
        return
    await _answer(body, client, respond, context, text, replace=True)


def register(app: AsyncApp) -> None:
    app.action(registry_blocks.EDIT)(on_edit)
    app.action(registry_blocks.REVIEWED)(on_reviewed)
    app.action(registry_blocks.STILL_ACCURATE)(on_still_accurate)
    app.action(registry_blocks.UPDATE)(on_edit)  # "Update" on a nudge is the edit form
    app.action(registry_blocks.SNOOZE)(on_snooze)
