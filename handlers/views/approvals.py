"""Modal submissions of the sign-off flow. Bad input comes back on the field that has it
(`response_action: errors`), and nothing is written."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks import approval_modals
from blocks.text import channel, plain
from handlers import metadata
from handlers.actions.approvals import decide
from handlers.commands.approve import create
from handlers.registry_context import element_value
from services import approvals

# Service field names → the modal blocks that hold them.
FIELD_BLOCKS = {"kind": "kind", "audience": "audience", "title": "title",
                "reference": "reference", "ai_tool": "ai_tool", "summary": "summary",
                "declared_uses": "uses", "reason": "reason",
                "restated_reference": "restated_reference", "confirmations": "confirmations",
                "use_case": "use_case"}


def value(view: dict[str, Any], block_id: str) -> Any:
    """The answer in one input block of a submitted form (stripped, for text)."""
    answer = element_value(next(iter((view["state"]["values"].get(block_id) or {}).values()), {}))
    return answer.strip() if isinstance(answer, str) else answer


def errors_on(block_id: str, message: str) -> dict[str, Any]:
    """A service's mrkdwn `message` on one input of the form (form errors are plain text)."""
    return {"response_action": "errors", "errors": {block_id: plain(message)[:2000]}}


async def on_new(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any,
                 context: Any) -> None:
    services = context["services"]
    try:
        origin = metadata.channel_id(metadata.parts(view, 1)[0])
    except metadata.BadMetadata:
        await ack(**metadata.refusal(view))
        return
    fields = {"kind": value(view, "kind"), "audience": value(view, "audience") or "internal",
              "title": value(view, "title") or "", "reference": value(view, "reference") or "",
              "ai_tool": value(view, "ai_tool") or None, "summary": value(view, "summary") or ""}
    picked = value(view, "use_case")
    if picked:
        try:  # an option value we wrote: a row id, never a number past the id column
            fields["use_case_id"] = metadata.record_id(str(picked))
        except metadata.BadMetadata:
            await ack(**errors_on("use_case", "Pick a use case from the list."))
            return
    user = body["user"]["id"]
    try:
        created = await create(services, fields=fields, requester=user, origin_channel=origin,
                               declared_uses=value(view, "uses") or [])
    except approvals.ApprovalInputError as exc:
        # Every bad field at once, each on its own input.
        present = view["state"]["values"]
        await ack(response_action="errors", errors={
            block if (block := FIELD_BLOCKS.get(field, "title")) in present else "kind": plain(message)[:2000]
            for field, message in exc.errors.items()})
        return
    await ack()
    if origin:
        await client.chat_postEphemeral(
            channel=origin, user=user,
            text=f"Sign-off #{created['id']} requested in {channel(created['channel'])}. "
            "Approvers are told.")


def _request(view: dict[str, Any], *, decision: bool = False) -> tuple[int, int, str | None]:
    """(request id, revision, decision) from what the modal was opened with (`id:revision`,
    or `id:revision:decision` for the reason modal); BadMetadata for anything else."""
    parts = metadata.parts(view, 3 if decision else 2)
    chosen = metadata.one_of(parts[2], ("reject", "request_changes")) if decision else None
    return metadata.record_id(parts[0]), metadata.record_id(parts[1]), chosen


async def submit_decision(ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any,
                          *, decision: str | None, field_block: str, **extra: Any) -> None:
    """Decide from a modal; a refusal or bad input comes back on the modal, nothing closes.
    `decision` None: the one the modal was opened for (in its metadata)."""
    try:
        request_id, revision, chosen = _request(view, decision=decision is None)
    except metadata.BadMetadata:
        await ack(**metadata.refusal(view))
        return
    try:
        result = await decide(context["services"], request_id=request_id,
                              revision=revision, user=body["user"]["id"],
                              decision=decision or chosen, **extra)
    except approvals.ApprovalInputError as exc:
        await ack(**errors_on(FIELD_BLOCKS.get(exc.field, field_block), exc.message))
        return
    if result.outcome == "denied":
        block = "confirmations" if result.missing_checklist and "confirmations" in \
            view["state"]["values"] else field_block
        await ack(**errors_on(block, result.message))
        return
    await ack()


async def on_reason(ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
    await submit_decision(ack, body, view, context, decision=None,
                          field_block="reason", reason=value(view, "reason") or "")


async def on_confirm(ack: Any, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
    await submit_decision(ack, body, view, context, decision="approve", field_block="reason",
                          reason=value(view, "reason") or "",
                          restated_reference=value(view, "restated_reference") or "",
                          confirmations=value(view, "confirmations") or [])


async def on_break_glass(ack: Any, body: dict[str, Any], view: dict[str, Any],
                         context: Any) -> None:
    reason = value(view, "reason") or ""
    if not reason:
        await ack(**errors_on("reason", "Say why this cannot wait for another approver."))
        return
    await submit_decision(ack, body, view, context, decision="approve", field_block="reason",
                          reason=reason, break_glass_reason=reason)


async def on_resubmit(ack: Any, body: dict[str, Any], view: dict[str, Any],
                      context: Any) -> None:
    services = context["services"]
    try:
        request_id = _request(view)[0]
    except metadata.BadMetadata:
        await ack(**metadata.refusal(view))
        return

    def write() -> Any:
        with services.db.session() as s:
            return approvals.resubmit(s, request_id=request_id, user=body["user"]["id"],
                                      now=services.clock.now(),
                                      reference=value(view, "reference") or None,
                                      summary=value(view, "summary"))

    try:
        result = await services.db.run(write)
    except approvals.ApprovalInputError as exc:
        await ack(**errors_on(FIELD_BLOCKS.get(exc.field, "reference"), exc.message))
        return
    if result.outcome == "denied":
        await ack(**errors_on("reference", result.message))
        return
    await ack()


def register(app: AsyncApp) -> None:
    app.view(approval_modals.NEW)(on_new)
    app.view(approval_modals.REASON)(on_reason)
    app.view(approval_modals.CONFIRM)(on_confirm)
    app.view(approval_modals.RESUBMIT)(on_resubmit)
    app.view(approval_modals.BREAK_GLASS)(on_break_glass)
