"""Buttons on sign-off requests: in the channel, in DMs and on App Home."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks import approval_modals
from blocks.approvals import (
    APPROVE,
    CANCEL,
    CHANGES,
    CHECKLIST,
    REJECT,
    RESUBMIT,
    parse_action_value,
)
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


@dataclass
class Click:
    """One press of a sign-off button, with the ways to answer the person who pressed it."""

    services: Any
    body: dict[str, Any]
    respond: Any
    client: Any
    request_id: int
    revision: int

    @classmethod
    def of(cls, body: dict[str, Any], action: dict[str, Any], respond: Any, client: Any,
           context: Any) -> Click:
        request_id, revision = parse_action_value(action.get("value"))
        return cls(context["services"], body, respond, client, request_id, revision)

    @property
    def user(self) -> str:
        return self.body["user"]["id"]

    async def tell(self, text: str) -> None:
        """Ephemerally where the click came from; on App Home by republishing it."""
        if self.body.get("response_url"):
            await self.respond(response_type="ephemeral", replace_original=False, text=text)
        else:
            await publish_home(self.client, self.services, self.user, notice=text)

    async def load(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        loaded = await load_request(self.services, self.request_id)
        if loaded is None:
            await self.tell(f"Sign-off #{self.request_id} does not exist.")
        return loaded

    async def open_modal(self, view: dict[str, Any]) -> None:
        await self.client.views_open(trigger_id=self.body["trigger_id"], view=view)


async def decide(services: Any, *, request_id: int, revision: int, user: str, decision: str,
                 **extra: Any) -> Any:
    loaded = await load_request(services, request_id)
    if loaded is None:
        raise approvals.ApprovalInputError("request", f"There is no sign-off request #{request_id}.")
    _, snapshot = loaded
    members = await snapshot_members(services, snapshot)
    pb = services.playbook.current.playbook

    def write() -> Any:
        with services.db.session() as s:
            return approvals.decide(s, request_id=request_id, revision=revision, user=user,
                                    decision=decision, now=services.clock.now(),
                                    group_members=members, governance_channel=pb.channels.governance,
                                    tz=pb.tz, **extra)

    return await services.db.run(write)


async def on_approve(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any,
                     client: Any, context: Any) -> None:
    await ack()
    click = Click.of(body, action, respond, client, context)
    loaded = await click.load()
    if loaded is None:
        return
    view, snapshot = loaded
    if click.user == view["requester"] and snapshot.get("self_approval") == "break_glass" \
            and view["status"] == "pending":
        await click.open_modal(approval_modals.break_glass_modal(view))
        return
    if snapshot.get("high_assurance"):
        await click.open_modal(approval_modals.confirm_modal(view))
        return
    try:
        result = await decide(click.services, request_id=click.request_id,
                              revision=click.revision, user=click.user, decision="approve",
                              confirmations=checked_items(body))
    except approvals.ApprovalInputError as exc:
        await click.tell(exc.message)
        return
    await click.tell(result.message)


async def on_reason_button(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any,
                           respond: Any, context: Any) -> None:
    await ack()
    click = Click.of(body, action, respond, client, context)
    loaded = await click.load()
    if loaded is not None:
        decision = "reject" if action["action_id"] == REJECT else "request_changes"
        await click.open_modal(approval_modals.reason_modal(loaded[0], decision))


async def on_cancel(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any,
                    client: Any, context: Any) -> None:
    await ack()
    click = Click.of(body, action, respond, client, context)
    services = click.services
    is_admin = click.user in services.playbook.current.playbook.admins

    def write() -> Any:
        with services.db.session() as s:
            return approvals.cancel(s, request_id=click.request_id, user=click.user,
                                    now=services.clock.now(), is_admin=is_admin)

    try:
        result = await services.db.run(write)
    except approvals.ApprovalInputError as exc:
        await click.tell(exc.message)
        return
    await click.tell(result.message)


async def on_resubmit(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any,
                      respond: Any, context: Any) -> None:
    await ack()
    click = Click.of(body, action, respond, client, context)
    loaded = await click.load()
    if loaded is None:
        return
    services = click.services

    def check() -> Any:
        with services.db.session() as s:
            return approvals.may_resubmit(s, request_id=click.request_id, user=click.user,
                                          now=services.clock.now())

    # Before a form they could not submit; a refusal is audited like the submission's would be.
    refusal = await services.db.run(check)
    if refusal is not None:
        await click.tell(refusal.message)
        return
    await click.open_modal(approval_modals.resubmit_modal(loaded[0]))


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
