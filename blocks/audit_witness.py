"""The checkpoint the bot posts to the governance channel: a witness outside the database.

The note is shown verbatim in a code block, so anyone can copy it into a file and hold the log
to it later (`countersign audit verify --checkpoint FILE`).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from blocks.text import escape


def audit_checkpoint(data: dict[str, Any]) -> dict[str, Any]:
    size = int(data["size"])
    signed = bool(data.get("signed"))
    text = (f"Audit log checkpoint: {size} events, root {escape(data['root_hash'])}"
            f"{'' if signed else ' (unsigned)'}.")
    how = ("Save this note. `countersign audit verify --checkpoint FILE` proves later that the log "
           "still holds exactly these events — even if someone rewrote the database.")
    if not signed:
        how += (" This checkpoint is *not signed* (no AUDIT_SIGNING_KEY): it still pins the log's "
                "root, but says nothing of who made it.")
    blocks = [
        HeaderBlock(text=f"Audit log checkpoint: {size} events"),
        SectionBlock(text=MarkdownTextObject(text=f"```{escape(data['note'])}```")),
        ContextBlock(elements=[MarkdownTextObject(text=how)]),
    ]
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}


TEMPLATES = {"audit_checkpoint": audit_checkpoint}
