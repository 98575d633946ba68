"""The forms of the registry: a use case or vendor, new or edited, and a vendor review.

Every input's block id is the field's name in `services/registry/fields.py`, so an error the
service raises on a field lands on that field (`response_action: errors`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    DatePickerElement,
    ExternalDataMultiSelectElement,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    StaticMultiSelectElement,
    StaticSelectElement,
    UrlInputElement,
    UserMultiSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from blocks.text import clip, escape, mention
from services.registry import fields
from services.registry.fields import FieldSpec

NEW = {"usecase": "usecase_new", "vendor": "vendor_new"}
EDIT = {"usecase": "usecase_edit", "vendor": "vendor_edit"}
VENDOR_REVIEW = "vendor_review"
# Slack lists at most 100 options; beyond that a picker searches (an options load request).
LIST_MAX = 100
SEARCH = {"vendors": "search_vendor", "use_cases": "search_usecase"}
TITLES = {("usecase", "new"): "Document an AI use case", ("usecase", "edit"): "Edit use case",
          ("vendor", "new"): "Record an AI vendor", ("vendor", "edit"): "Edit vendor"}



def _option(value: str, label: str) -> Option:
    return Option(value=value, text=clip(label, 75))


def _element(spec: FieldSpec, initial: Any, links: list[tuple[int, str]]) -> Any:
    if spec.kind in (fields.TEXT, fields.LONG_TEXT, fields.MODELS):
        text = fields.format_models(initial) if spec.kind == fields.MODELS else initial
        return PlainTextInputElement(action_id="value", multiline=spec.kind != fields.TEXT,
                                     max_length=min(spec.limit, 3000), initial_value=text or None)
    if spec.kind == fields.URL:
        return UrlInputElement(action_id="value", initial_value=initial or None)
    if spec.kind == fields.CHOICE:
        options = [_option(v, label) for v, label in spec.choices]
        chosen = next((o for o in options if o.value == initial), None)
        return StaticSelectElement(action_id="value", options=options, initial_option=chosen)
    if spec.kind == fields.USER:
        return UserSelectElement(action_id="value", initial_user=initial or None)
    if spec.kind == fields.USERS:
        return UserMultiSelectElement(action_id="value", initial_users=list(initial or []) or None,
                                      max_selected_items=20)
    if spec.kind == fields.LINKS:
        current = [_option(str(link["id"]), f"{link['ref']} {link['title']}") for link in initial or []]
        if len(links) > LIST_MAX:
            # Too many to list: Slack asks the bot for matches as the person types.
            return ExternalDataMultiSelectElement(action_id=SEARCH[spec.name], min_query_length=1,
                                              initial_options=current or None)
        options = [_option(str(i), label) for i, label in links]
        listed = {o.value for o in options}
        return StaticMultiSelectElement(action_id="value", options=options + [o for o in current if o.value not in listed],
                                        initial_options=current or None)
    if spec.kind == fields.DATE:
        return DatePickerElement(action_id="value", initial_date=initial or None)
    raise AssertionError(spec.kind)


def record_modal(kind: str, *, mode: str, record: dict[str, Any] | None = None,
                 links: list[tuple[int, str]] = (), metadata: str = "",
                 today: date | None = None) -> dict[str, Any]:
    """The form for a new (`mode="new"`: the essentials) or edited record (every field).

    `record` is a record view (`services.registry.record_view`) for editing, or defaults.
    `links` are (id, label) of the records of the other type that may be linked: listed up to
    LIST_MAX, searched beyond (pass LIST_MAX + 1 of them to learn which).
    """
    record = record or {}
    blocks: list = []
    section = None
    for spec in fields.FIELDS[kind]:
        if mode == "new" and not spec.on_new:
            continue
        if spec.kind == fields.LINKS and not links:
            continue
        if spec.section != section:
            section = spec.section
            blocks.append(HeaderBlock(text=section))
        initial = record.get(spec.name)
        if spec.name == "next_review":
            initial = None  # empty keeps the cadence; a picked date overrides it
        blocks.append(InputBlock(block_id=spec.name, label=clip(spec.label, 150),
                                 optional=spec.required is None or spec.kind == fields.DATE,
                                 hint=spec.hint, element=_element(spec, initial, list(links))))
    if mode == "new" and kind == "usecase":
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text="After saving, *Continue documenting* (or `/ai-usecase edit &lt;id&gt;`) covers data "
                 "sources, outputs, risks, privacy and oversight.")]))
    title = TITLES[(kind, mode)]
    callback = NEW[kind] if mode == "new" else EDIT[kind]
    return View(type="modal", callback_id=callback, title=title, submit="Save", close="Cancel",
                private_metadata=metadata, blocks=blocks).to_dict()


def vendor_review_modal(vendor: dict[str, Any]) -> dict[str, Any]:
    """The reviewer signs a vendor review off: its outcome and what was found."""
    status = fields.BY_NAME["vendor"]["review_status"]
    outcomes = [_option(v, label) for v, label in status.choices
                if v in ("reviewed", "requires_follow_up", "rejected")]
    blocks = [
        ContextBlock(elements=[MarkdownTextObject(
            text=clip(f"*{vendor['ref']} {escape(vendor['title'])}* — assignee {mention(vendor['assignee'])}",
                      2000))]),
        InputBlock(block_id="review_status", label="Outcome", element=StaticSelectElement(
            action_id="value", options=outcomes, initial_option=outcomes[0])),
        InputBlock(block_id="review_result", label="Review result", optional=True,
                   element=PlainTextInputElement(action_id="value", multiline=True, max_length=3000,
                                                 initial_value=vendor.get("review_result") or None)),
    ]
    return View(type="modal", callback_id=VENDOR_REVIEW, title="Sign off vendor review",
                submit="Sign off", close="Cancel", private_metadata=str(vendor["id"]),
                blocks=blocks).to_dict()
