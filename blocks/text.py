"""Text for Slack: user text made literal in mrkdwn, and long text fitted into Slack's limits
without losing it silently.

User text is data, never markup. In mrkdwn (section and context text, option text of mrkdwn
type) and in a message's top-level `text`, Slack reads `<…>` as a mention or link (`<!channel>`,
`<!here>`, `<!everyone>`, `<!subteam^S…>`, `<@U…>`, `<https://…|label>`) and `&…;` as an
entity. So every value a person typed passes through `escape` at the one place it enters such
text: the builders in blocks/, and the few services and handlers that phrase an mrkdwn sentence
themselves (their `message`s hold mentions they build, so the whole sentence cannot be escaped
after the fact). Only what we build stays live: `<@U…>` from user ids the payload or the
database gave us, `<#C…>`, `<!date^…>`, and `link()` for a URL that has been checked.

Plain text objects are shown literally by Slack — header blocks, button and option text of
plain_text type, modal titles, input labels, placeholders and initial values, and the messages
of `response_action: errors` — so they are never escaped (`&lt;` would be shown as typed).

Playbook text (checklist items, allowed and off-limits uses, severity descriptions) is written
by admins in a reviewed file, but the playbook does not offer mrkdwn, so it is escaped like any
other text: a pasted `<!channel>` there is shown, not sent. Emphasis such as `*bold*` or
`_italic_` still renders, since only `&`, `<` and `>` are replaced.
"""

from __future__ import annotations

import re

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

SECTION_LIMIT = 3000  # characters in one section's text
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Ids as Slack issues them; a mention is built only from one of these.
_USER = re.compile(r"^[UW][A-Z0-9]{1,40}$")
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{1,40}$")
_USERGROUP = re.compile(r"^S[A-Z0-9]{1,40}$")
# A URL we put inside <…|…>: nothing that could end the link or start another.
_LINKABLE = re.compile(r"^(?:https?|slack)://[^\s<>|\x00-\x1f\x7f]+$")


def escape(text: object, limit: int | None = None) -> str:
    """`text` as mrkdwn that shows it literally: `&`, `<`, `>` → `&amp;`, `&lt;`, `&gt;`.

    With `limit`, the escaped text is cut to at most `limit` characters (an ellipsis marks
    the cut) without splitting an entity — escaping can make a text several times longer.
    """
    raw = "" if text is None else str(text)
    escaped = raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if limit is None or len(escaped) <= limit:
        return escaped
    out: list[str] = []
    size = 0
    for char in raw:
        piece = _ENTITIES.get(char, char)
        if size + len(piece) > limit - 1:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out) + "…"


def plain(mrkdwn: str) -> str:
    """An mrkdwn sentence (a service's `message`) for a plain_text surface — the errors of a
    form — which shows text literally: `escape` undone, so `&amp;` reads `&` there again."""
    return mrkdwn.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def linkable(url: str | None) -> bool:
    """Whether `url` may stand inside `<…>` as a link: http(s) or slack://, and nothing in it
    (`|`, `<`, `>`, a space, a control character) that would end the link or smuggle markup."""
    return bool(url) and _LINKABLE.match(url) is not None


def link(url: str | None, label: str | None = None, *, limit: int | None = None) -> str:
    """`<url|label>` with the label escaped; a URL that is not `linkable` is shown as escaped
    text instead (so a typed `https://x|<!channel>` is seen, not sent)."""
    shown = escape(label if label is not None else (url or ""), limit)
    if not linkable(url):
        return shown
    return f"<{url}|{shown}>"


def mention(user: str | None, nobody: str = "nobody") -> str:
    """`<@U…>` for a Slack user id; anything else (never expected) shown as escaped text."""
    if not user:
        return nobody
    return f"<@{user}>" if _USER.match(user) else escape(user)


def channel(channel_id: str | None) -> str:
    """`<#C…>` for a Slack channel id; anything else shown as escaped text."""
    return f"<#{channel_id}>" if channel_id and _CHANNEL.match(channel_id) else escape(channel_id)


def usergroup(group_id: str | None) -> str:
    """`<!subteam^S…>` for a user group id from the playbook; anything else escaped."""
    return f"<!subteam^{group_id}>" if group_id and _USERGROUP.match(group_id) else escape(group_id)


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the cut marked with an ellipsis. For plain text
    (headers, buttons, option labels); mrkdwn from user text is `escape(text, limit)`."""
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
