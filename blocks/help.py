"""Help for every slash command: the catalogue and its Block Kit rendering."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.models.blocks import (
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from blocks.text import escape


@dataclass(frozen=True)
class Usage:
    text: str
    does: str


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    usages: tuple[Usage, ...]
    # First words the command understands ("" = no arguments; "@" = a user mention).
    words: tuple[str, ...] = ()


COMMANDS: tuple[Command, ...] = (
    Command("/ai-approve", "Human sign-off for AI-generated code, copy and launches.", (
        Usage("/ai-approve", "open a sign-off request form"),
        Usage("/ai-approve <kind> [internal|external] <reference> <title> [(AI tool)]",
              "request sign-off directly, e.g. `/ai-approve code https://github.com/acme/app/pull/42 "
              "Refactor billing retries (Copilot)`; kinds come from the playbook"),
        Usage("/ai-approve list", "requests waiting for you, and your own"),
    ), ("", "list")),
    Command("/ai-incident", "Report an AI incident and page whoever is on call.", (
        Usage("/ai-incident", "open an incident report form"),
        Usage("/ai-incident <severity> <title>", "report directly, e.g. "
              "`/ai-incident sev1 Prompt injection in support bot`; severities come from the "
              "playbook"),
        Usage("/ai-incident timeline [id]", "the timeline of this channel's (or that) incident"),
        Usage("\u22ee on a message → Report as AI incident", "report that message"),
    ), ("", "timeline")),
    Command("/ai-oncall", "Who is on call for AI incidents.", (
        Usage("/ai-oncall", "who is on call now, and the next handoffs"),
        Usage("/ai-oncall @user", "that person's upcoming shifts"),
        Usage("/ai-oncall override @user <rotation> <from> <to>", "cover a shift"),
    ), ("", "@", "override")),
    Command("/ai-usecase", "Document AI use cases and keep them current.", (
        Usage("/ai-usecase new", "document a new AI use case (a form; `edit` continues it)"),
        Usage("/ai-usecase list [mine|stale|due|proposed|approved|rejected|retired] [page]",
              "browse use cases, most pressing review first"),
        Usage("/ai-usecase show|edit <id>", "read the whole record, or change it"),
        Usage("/ai-usecase reviewed <id>", "say it is still accurate: the next review follows the playbook"),
        Usage("/ai-usecase retire <id>", "it is no longer in use: no more reminders"),
        Usage("/ai-usecase digest on|off", "a personal weekly digest by DM"),
    ), ("", "new", "list", "show", "edit", "reviewed", "retire", "digest")),
    Command("/ai-vendor", "Review third-party AI vendors.", (
        Usage("/ai-vendor new", "record a vendor for review"),
        Usage("/ai-vendor list [mine|stale|due|not_started|in_review|reviewed|requires_follow_up|rejected] "
              "[page]", "browse vendors and their review status"),
        Usage("/ai-vendor show|edit <id>", "read the whole record, or change it"),
        Usage("/ai-vendor reviewed <id>", "the reviewer signs the review off (not the assignee)"),
    ), ("", "new", "list", "show", "edit", "reviewed")),
    Command("/ai-playbook", "Read the AI playbook in force: who signs off, what is off limits.", (
        Usage("/ai-playbook", "the playbook at a glance, with who is on call now"),
        Usage("/ai-playbook explain <kind> [internal|external]", "who may sign off on a kind"),
        Usage("/ai-playbook explain <severity>", "who would be paged, and when"),
        Usage("/ai-playbook reload", "admins: load the playbook file again"),
    ), ("", "explain", "reload")),
    Command("/ai-audit", "Inspect the tamper-evident audit log.", (
        Usage("/ai-audit [filters]", "admins: the latest sealed events, newest first, with filters in any "
              "order — `actor:@user`, `action:approval.*` or an exact action, `entity:request:42`, "
              "`since:7d` or `since:2026-11-01`, `until:…` — e.g. "
              "`/ai-audit actor:@mara action:approval.* since:7d`"),
        Usage("/ai-audit request|incident|usecase|vendor <id>", "the history of one you take part in "
              "(your request or one you may decide, an incident you reported or were paged for, a record "
              "you keep, review or approve), e.g. `/ai-audit request 42`"),
        Usage("/ai-audit usage [since:7d] [until:…] [model:…] [user:@user] [usecase:UC-3]",
              "admins: AI calls seen — how many, by how many people and services, tokens, cost, the top "
              "models and people — e.g. `/ai-audit usage since:30d model:gpt-4o` (its dated versions too)"),
        Usage("/ai-audit verify", "admins: check that the log has not been altered"),
        Usage("/ai-audit checkpoint", "admins: write a checkpoint of the log now"),
    ), ("", "recent", "request", "incident", "usecase", "vendor", "usage", "verify", "checkpoint")),
)

BY_NAME = {c.name: c for c in COMMANDS}


def _command_section(command: Command) -> SectionBlock:
    # The catalogue is plain text: its `<kind>` placeholders must not read as Slack links.
    lines = [f"*{command.name}* — {escape(command.summary)}"]
    lines += [f"• `{escape(u.text)}` — {escape(u.does)}" for u in command.usages]
    lines.append(f"• `{command.name} help` — this help")
    return SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))


def help_message(focus: str | None = None, *, error: str | None = None) -> dict:
    """The ephemeral help: the asked-about command first, then every other command."""
    ordered = sorted(COMMANDS, key=lambda c: c.name != focus)
    blocks: list = []
    if error:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f":warning: {error}")))
    blocks.append(HeaderBlock(text="Countersign — AI governance in Slack"))
    for i, command in enumerate(ordered):
        if i == 1:
            blocks.append(DividerBlock())
        blocks.append(_command_section(command))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(
        text="Every decision is recorded in the audit log. Policies come from your team's playbook.")]))
    fallback = (f"{error}\n" if error else "") + "Countersign commands: " + ", ".join(
        c.name for c in ordered)
    return {"response_type": "ephemeral", "text": fallback,
            "blocks": [b.to_dict() for b in blocks]}


def not_available_message(command: str, sub: str, capability: str) -> dict:
    text = (f"`{command}{' ' + sub if sub else ''}` is not available yet: {capability} "
            f"arrives in a coming release. `{command} help` shows what each command does.")
    return {"response_type": "ephemeral", "text": text,
            "blocks": [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]}


def error_message(text: str) -> dict:
    """`text` is mrkdwn: whoever phrases it escapes the user text it quotes."""
    return {"response_type": "ephemeral", "text": text,
            "blocks": [SectionBlock(text=MarkdownTextObject(text=f":warning: {text}")).to_dict()]}
