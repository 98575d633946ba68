"""App Home: what Countersign is and how to use it."""

from __future__ import annotations

from slack_sdk.models.blocks import DividerBlock, HeaderBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from blocks.help import COMMANDS


def home_view() -> dict:
    blocks: list = [
        HeaderBlock(text="Countersign"),
        SectionBlock(text=MarkdownTextObject(text=(
            "Human sign-off for AI-generated work, escalation of AI incidents to whoever is "
            "on call, living documentation of AI use cases and vendors, and an audit log of "
            "every decision — as your team's playbook says."))),
        DividerBlock(),
    ]
    blocks += [SectionBlock(text=MarkdownTextObject(text=f"*{c.name}* — {c.summary}"))
               for c in COMMANDS]
    return View(type="home", blocks=blocks).to_dict()
