"""Buttons on sign-off requests: in the channel, in DMs and on App Home."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks import approval_modals
from blocks.approvals import APPROVE, CANCEL, CHANGES, CHECKLIST, REJECT, RESUBMIT, parse_action_value
from blocks.help import error_message
from handlers.approval_context import load_request, snapshot_members
from handlers.events.app_home import publish_home
from services import approvals


def checked_items(body: dict[str, Any]) -> list[str]:
    """Checklist boxes ticked on the message when the button was pressed."""
    items: list[str] = []
    for block_id, actions in ((body.get("state") or {}).get("values") or {}).items():
        if not block_id.startswith("checklist-"):
            continue
        for element in actions.values():
            items += [o["value"] for o in element.get("selected_options") or []]
    return items


async def tell(body: dict[str, Any], respond: Any, client: Any, services: Any, text: str) -> None:
    """Answer the clicker: ephemerally where the click came from, on Home by republishing."""
    if body.get("response_url"):
        await respond(response_type="ephemeral", replace_original=False, text=text)
    else:
        await publish_home(client, services, body["user"]["id"], notice=text)


async def decide(services: Any, *, request_id: int, revision: int, user: str, decision: str,
                 **extra: Any) -> Any:
    loaded = await load_request(services, request_id)
    if loaded is None:
        raise approvals.ApprovalInputError("request", f"There is no sign-off request #{request_id}.")
    _, snapshot = loaded
    members = await snapshot_members(services, snapshot)
    governance = services.playbook.current.playbook.channels.governance

    def write() -> Any:
        with services.db.session() as s:
            return approvals.decide(s, request_id=request_id, revision=revision, user=user,
                                    decision=decision, now=services.clock.now(),
                                    group_members=members, governance_channel=governance,
                                    **extra)

    return await asyncio.to_thread(write)


async def on_approve(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any,
                     client: Any, context: Any) -> None:
    await ack()
    services = context["services"]
    request_id, revision = parse_action_value(action["value"])
    loaded = await load_request(services, request_id)
    if loaded is None:
        await tell(body, respond, client, services, f"Sign-off #{request_id} does not exist.")
        return
    view, snapshot = loaded
    user = body["user"]["id"]
    if user == view["requester"] and snapshot.get("self_approval") == "break_glass" \
            and view["status"] == "pending":
        await client.views_open(trigger_id=body["trigger_id"],
                                view=approval_modals.break_glass_modal(view))
        return
    if snapshot.get("high_assurance"):
        await client.views_open(trigger_id=body["trigger_id"],
                                view=approval_modals.confirm_modal(view))
        return
    try:
        result = await decide(services, request_id=request_id, revision=revision,
                              user=user, decision="approve", confirmations=checked_items(body))
    except approvals.ApprovalInputError as exc:
        await tell(body, respond, client, services, exc.message)
        return
    await tell(body, respond, client, services, result.message)


async def on_reason_button(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any,
                           respond: Any, context: Any) -> None:
    await ack()
    services = context["services"]
    request_id, _ = parse_action_value(action["value"])
    loaded = await load_request(services, request_id)
    if loaded is None:
        await tell(body, respond, client, services, f"Sign-off #{request_id} does not exist.")
        return
    decision = "reject" if action["action_id"] == REJECT else "request_changes"
    await client.views_open(trigger_id=body["trigger_id"],
                            view=approval_modals.reason_modal(loaded[0], decision))


async def on_cancel(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any,
                    client: Any, context: Any) -> None:
    await ack()
    services = context["services"]
    request_id, _ = parse_action_value(action["value"])
    user = body["user"]["id"]
    is_admin = user in services.playbook.current.playbook.admins

    def write() -> Any:
        with services.db.session() as s:
            return approvals.cancel(s, request_id=request_id, user=user,
                                    now=services.clock.now(), is_admin=is_admin)

    try:
        result = await asyncio.to_thread(write)
    except approvals.ApprovalInputError as exc:
        await tell(body, respond, client, services, exc.message)
        return
    await tell(body, respond, client, services, result.message)


async def on_resubmit(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any,
                      respond: Any, context: Any) -> None:
    await ack()
    services = context["services"]
    request_id, _ = parse_action_value(action["value"])
    loaded = await load_request(services, request_id)
    if loaded is None:
        await tell(body, respond, client, services, f"Sign-off #{request_id} does not exist.")
        return
    if loaded[0]["requester"] != body["user"]["id"]:
        await tell(body, respond, client, services,
                   "Only the requester can resubmit a new revision of this request.")
        return
    await client.views_open(trigger_id=body["trigger_id"],
                            view=approval_modals.resubmit_modal(loaded[0]))


async def on_checkbox(ack: Any) -> None:
    # Ticks are read when Approve is pressed; Slack still wants every action acknowledged.
    await ack()


def register(app: AsyncApp) -> None:
    app.action(APPROVE)(on_approve)
    app.action(REJECT)(on_reason_button)
    app.action(CHANGES)(on_reason_button)
    app.action(CANCEL)(on_cancel)
    app.action(RESUBMIT)(on_resubmit)
    app.action(re.compile(f"^{CHECKLIST}-\\d+$"))(on_checkbox)
