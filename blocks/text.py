"""Fitting long plain text into Slack's limits without losing it silently."""

from __future__ import annotations

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

SECTION_LIMIT = 3000  # characters in one section's text


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def code_sections(lines: list[str], *, max_sections: int, overflow: str,
                  code: bool = True) -> list[SectionBlock]:
    """Lines as sections (monospace unless `code` is false, so mentions render); what does
    not fit ends in one sentence saying so. `overflow` is formatted with {count}, the
    number of lines left out.
    """
    fence = "```" if code else ""
    budget = SECTION_LIMIT - 2 * len(fence) - 10
    chunks: list[list[str]] = [[]]
    size = 0
    shown = 0
    for line in lines:
        line = line if len(line) <= budget else line[: budget - 1] + "…"
        if size + len(line) + 1 > budget:
            if len(chunks) == max_sections:
                break
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
        shown += 1
    sections = [SectionBlock(text=MarkdownTextObject(
                    text=f"{fence}\n" + "\n".join(c) + f"\n{fence}" if code else "\n".join(c)))
                for c in chunks if c]
    if shown < len(lines):
        sections.append(SectionBlock(text=MarkdownTextObject(
            text=overflow.format(count=len(lines) - shown))))
    return sections
