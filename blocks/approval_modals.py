"""Modals of the sign-off flow: ask, reject/request changes with a reason, confirm a
high-assurance approval, resubmit. Block and action ids are what the handlers read back."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    ContextBlock,
    ExternalDataSelectElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from blocks.text import clip, escape

NEW = "approval_new"
REASON = "approval_reason"
CONFIRM = "approval_confirm"
RESUBMIT = "approval_resubmit_form"
BREAK_GLASS = "approval_break_glass"

TITLE_MAX = 150
REFERENCE_MAX = 500
AI_TOOL_MAX = 100
SUMMARY_MAX = 2000
REASON_MAX = 2000


def _text_input(block_id: str, label: str, *, max_length: int, multiline: bool = False,
                optional: bool = False, placeholder: str | None = None,
                initial: str | None = None) -> InputBlock:
    return InputBlock(
        block_id=block_id, label=label, optional=optional,
        element=PlainTextInputElement(action_id="value", multiline=multiline,
                                      max_length=max_length, placeholder=placeholder,
                                      initial_value=initial))


def new_request_modal(*, kinds: list[str], uses: list[tuple[str, str]],
                      checklists: dict[str, list[str]], channel: str | None,
                      use_cases: list[tuple[int, str]] = ()) -> dict[str, Any]:
    """The /ai-approve form. `uses`: (id, text) of every allowed and off-limits use;
    `use_cases`: (id, label) of the documented use cases a request may name (more than 100: search)."""
    blocks: list = [
        InputBlock(block_id="kind", label="What is being signed off",
                   element=StaticSelectElement(action_id="value", options=[
                       Option(value=k, text=k) for k in kinds][:100])),
        InputBlock(block_id="audience", label="Who will see it",
                   element=RadioButtonsElement(action_id="value", options=[
                       Option(value="internal", text="Internal — colleagues"),
                       Option(value="external", text="External — customers or partners")],
                       initial_option=Option(value="internal", text="Internal — colleagues"))),
        _text_input("title", "Title", max_length=TITLE_MAX,
                    placeholder="Refactor billing retries"),
        _text_input("reference", "Reference being signed off", max_length=REFERENCE_MAX,
                    placeholder="PR URL, commit SHA, doc URL or launch name"),
        _text_input("ai_tool", "AI tool or model that produced it", max_length=AI_TOOL_MAX,
                    optional=True, placeholder="e.g. GitHub Copilot, Claude, GPT-4o"),
        _text_input("summary", "Summary for the approvers", max_length=SUMMARY_MAX,
                    multiline=True, optional=True),
    ]
    if uses:
        blocks.append(InputBlock(
            block_id="uses", label="Which uses of AI does this involve?", optional=True,
            element=StaticMultiSelectElement(action_id="value", options=[
                Option(value=use_id, text=clip(text, 75)) for use_id, text in uses][:100])))
    if use_cases:
        # Beyond 100 use cases Slack cannot list them all: the picker searches instead.
        picker = (ExternalDataSelectElement(action_id="search_usecase", min_query_length=1)
                  if len(use_cases) > 100 else
                  StaticSelectElement(action_id="value", options=[
                      Option(value=str(i), text=clip(label, 75)) for i, label in use_cases]))
        blocks.append(InputBlock(
            block_id="use_case", label="Documented AI use case it serves", optional=True,
            hint="Launches of some kinds must name an approved, current use case", element=picker))
    lines = [f"*{escape(kind)}*: {escape(', '.join(items))}" for kind, items in checklists.items() if items]
    if lines:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=clip("Approvers will confirm the checklist of the kind — " + " · ".join(lines),
                       2000))]))
    return View(type="modal", callback_id=NEW, title="Ask for sign-off", submit="Request",
                close="Cancel", private_metadata=channel or "", blocks=blocks).to_dict()


def reason_modal(view: dict[str, Any], decision: str) -> dict[str, Any]:
    verb = "Reject" if decision == "reject" else "Request changes"
    label = "Why is it rejected?" if decision == "reject" else "What needs to change?"
    return View(type="modal", callback_id=REASON, title=verb, submit=verb, close="Back",
                private_metadata=f"{view['id']}:{view['revision']}:{decision}",
                blocks=[SectionBlock(text=MarkdownTextObject(
                            text=f"*#{view['id']} {escape(view['title'])}*")),
                        _text_input("reason", label, max_length=REASON_MAX,
                                    multiline=True)]).to_dict()


def confirm_modal(view: dict[str, Any]) -> dict[str, Any]:
    """High assurance: re-state what you approve and why — a deliberate act."""
    blocks: list = [
        SectionBlock(text=MarkdownTextObject(text=(
            f"*#{view['id']} {escape(view['title'])}* needs a deliberate approval: type the reference "
            f"exactly and say why you approve it."))),
        _text_input("restated_reference", "Reference (type it again)", max_length=REFERENCE_MAX),
        _text_input("reason", "Why you approve it", max_length=REASON_MAX, multiline=True),
    ]
    items = view["policy"].get("checklist") or []
    confirmed = {c["item"] for c in view.get("checklist_confirmed", [])}
    open_items = [i for i in items if i["id"] not in confirmed]
    if open_items:
        blocks.append(InputBlock(
            block_id="confirmations", label="Checklist items you confirm", optional=True,
            element=CheckboxesElement(action_id="value", options=[
                Option(value=i["id"], text=clip(i["text"], 75)) for i in open_items[:10]])))
    return View(type="modal", callback_id=CONFIRM, title="Confirm approval", submit="Approve",
                close="Back", private_metadata=f"{view['id']}:{view['revision']}",
                blocks=blocks).to_dict()


def break_glass_modal(view: dict[str, Any]) -> dict[str, Any]:
    """Approving your own request: allowed by this policy only with a reason, and loudly."""
    return View(type="modal", callback_id=BREAK_GLASS, title="Break glass", submit="Approve",
                close="Back", private_metadata=f"{view['id']}:{view['revision']}",
                blocks=[SectionBlock(text=MarkdownTextObject(text=(
                            f"*#{view['id']} {escape(view['title'])}* is your own request. This policy "
                            "allows break-glass self-approval: every approver and the governance "
                            "channel are told, and it is in the audit log."))),
                        _text_input("reason", "Why it cannot wait for another approver",
                                    max_length=REASON_MAX, multiline=True)]).to_dict()


def resubmit_modal(view: dict[str, Any]) -> dict[str, Any]:
    return View(type="modal", callback_id=RESUBMIT, title="Resubmit", submit="Resubmit",
                close="Back", private_metadata=f"{view['id']}:{view['revision']}",
                blocks=[SectionBlock(text=MarkdownTextObject(text=(
                            f"*#{view['id']} {escape(view['title'])}* — a new revision dismisses the "
                            "earlier approvals; approvers decide again."))),
                        _text_input("reference", "Reference of the new revision",
                                    max_length=REFERENCE_MAX, initial=view["reference"]),
                        _text_input("summary", "What changed", max_length=SUMMARY_MAX,
                                    multiline=True, optional=True,
                                    initial=view.get("summary") or None)]).to_dict()
