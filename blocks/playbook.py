"""Messages about the playbook: governance notices and the /ai-playbook answers."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from blocks.text import code_sections, escape, mention

_MAX_SECTIONS = 40  # well inside 50 blocks per message


def _message(text: str, blocks: list) -> dict[str, Any]:
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}


def playbook_applied(data: dict[str, Any]) -> dict[str, Any]:
    text = (f"Playbook updated: `{escape(data['path'])}` version {escape(data['version'])} "
            f"(sha256 {escape(data['hash'])}, was {escape(data['previous'])}) is now in force.")
    return _message(text, [
        SectionBlock(text=MarkdownTextObject(text=f":white_check_mark: {text}")),
        ContextBlock(elements=[MarkdownTextObject(text=(
            f"Reloaded by {_who(data)}. Requests and incidents already open keep the policy "
            "they were opened under."))]),
    ])


def playbook_refused(data: dict[str, Any]) -> dict[str, Any]:
    issues: list[str] = data["issues"]
    text = (f"A change to the playbook `{escape(data['path'])}` (sha256 {escape(data['refused'])}) was refused: "
            f"{len(issues)} problem{'s' if len(issues) != 1 else ''}. Countersign keeps the "
            f"last valid playbook (sha256 {escape(data['kept'])}) in force.")
    blocks: list = [SectionBlock(text=MarkdownTextObject(text=f":no_entry: {text}"))]
    # An issue quotes what the file holds, which may be anything.
    blocks += code_sections([escape(i) for i in issues], max_sections=_MAX_SECTIONS,
                            overflow="…and {count} more: run `countersign playbook check` to see all.")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"Reload by {_who(data)}.")]))
    return _message(text, blocks)


def usergroup_unresolved(data: dict[str, Any]) -> dict[str, Any]:
    text = (f"The playbook group `{escape(data['group'])}` could not be resolved ({escape(data['error'])}). "
            "Nobody from it can approve or be paged until that is fixed.")
    return _message(text, [SectionBlock(text=MarkdownTextObject(text=f":warning: {text}"))])


def _who(data: dict[str, Any]) -> str:
    actor = data.get("actor", "system")
    who = mention(actor) if actor.startswith(("U", "W")) else escape(actor)
    return f"{who} ({escape(data.get('trigger', 'reload'))})"


def summary_answer(summary: str, *, short_hash: str, problems: dict[str, str]) -> dict[str, Any]:
    """The ephemeral /ai-playbook answer: the one-screen summary (plain text) everybody may read."""
    blocks: list = [HeaderBlock(text="Our AI playbook")]
    lines = summary.splitlines()
    blocks += code_sections([escape(line) for line in lines], max_sections=_MAX_SECTIONS,
                            overflow="…and {count} more lines: `countersign playbook check`.")
    if problems:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=":warning: Not resolved: " + "; ".join(
            f"`{escape(g)}` — {escape(e)}" for g, e in sorted(problems.items())))))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(
        text=f"sha256 {escape(short_hash)} · `/ai-playbook explain &lt;kind&gt; [internal|external]` · "
        "`/ai-playbook explain &lt;severity&gt;`")]))
    return {"response_type": "ephemeral", "text": escape(lines[0]) if lines else "Our AI playbook",
            "blocks": [b.to_dict() for b in blocks]}


def plain_answer(text: str, *, title: str | None = None, code: bool = True) -> dict[str, Any]:
    """An ephemeral answer of many lines of mrkdwn (user text in it escaped by the caller);
    `code=False` keeps @mentions clickable."""
    blocks: list = [HeaderBlock(text=title)] if title else []
    blocks += code_sections(text.splitlines(), max_sections=_MAX_SECTIONS,
                            overflow="…and {count} more lines.", code=code)
    return {"response_type": "ephemeral", "text": escape(title) if title else text[:200],
            "blocks": [b.to_dict() for b in blocks]}


def reload_answer(status: str, *, hash_: str, issues: list[str]) -> dict[str, Any]:
    if status == "applied":
        text = f"Reloaded: playbook sha256 {escape(hash_)} is now in force. The governance channel is told."
    elif status == "unchanged":
        text = f"The playbook file has not changed (sha256 {escape(hash_)}); nothing to reload."
    else:
        text = (f"Refused: the file has {len(issues)} problem{'s' if len(issues) != 1 else ''}; "
                f"sha256 {escape(hash_)} stays in force. The governance channel is told.")
    blocks: list = [SectionBlock(text=MarkdownTextObject(text=text))]
    if issues:
        blocks += code_sections([escape(i) for i in issues], max_sections=_MAX_SECTIONS,
                                overflow="…and {count} more: `countersign playbook check`.")
    return {"response_type": "ephemeral", "text": text, "blocks": [b.to_dict() for b in blocks]}
