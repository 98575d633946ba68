"""App Home: sign-offs waiting for you (with buttons), your requests, and the commands."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from blocks.approvals import APPROVE, CHANGES, REJECT, action_value, request_summary_line
from blocks.help import COMMANDS

# Two blocks per waiting request and one per own request keep Home far below 100 blocks.
HOME_WAITING = 15
HOME_MINE = 20


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def home_view(*, waiting: list[dict[str, Any]] = (), mine: list[dict[str, Any]] = (),
              notice: str | None = None) -> dict:
    blocks: list = [HeaderBlock(text="Countersign")]
    if notice:
        blocks.append(SectionBlock(text=_md(f":information_source: {notice[:2900]}")))
    blocks.append(SectionBlock(text=_md("*Waiting for your sign-off*")))
    if not waiting:
        blocks.append(ContextBlock(elements=[_md("Nothing waits for you.")]))
    for view in list(waiting)[:HOME_WAITING]:
        value = action_value(view)
        blocks.append(SectionBlock(text=_md(
            f"{request_summary_line(view)}\nRequested by <@{view['requester']}> · "
            f"{view['reference'][:200]}")))
        blocks.append(ActionsBlock(block_id=f"home-{view['id']}", elements=[
            ButtonElement(text="Approve", action_id=APPROVE, value=value, style="primary"),
            ButtonElement(text="Reject", action_id=REJECT, value=value, style="danger"),
            ButtonElement(text="Request changes", action_id=CHANGES, value=value),
        ]))
    if len(waiting) > HOME_WAITING:
        blocks.append(ContextBlock(elements=[_md("More wait for you: `/ai-approve list`.")]))
    blocks += [DividerBlock(), SectionBlock(text=_md("*Your requests*"))]
    if not mine:
        blocks.append(ContextBlock(elements=[_md("None open. `/ai-approve` asks for sign-off.")]))
    for view in list(mine)[:HOME_MINE]:
        blocks.append(SectionBlock(text=_md(request_summary_line(view))))
    if len(mine) > HOME_MINE:
        blocks.append(ContextBlock(elements=[_md("More: `/ai-approve list`.")]))
    blocks.append(DividerBlock())
    blocks.append(ContextBlock(elements=[_md(" · ".join(f"`{c.name}`" for c in COMMANDS)
                                             + " — `help` on any of them explains it.")]))
    return View(type="home", blocks=blocks).to_dict()
