"""The weekly digest as one Slack message: at most ten lines a section, the rest counted and
pointed to App Home, never dropped without a word."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)

from blocks.home import incident_line
from blocks.registry import summary_line
from blocks.text import clip, escape, link, md, mention, usergroup
from blocks.usage import digest_usage_blocks
from services.wallclock import local_iso_time

LINE_LIMIT = 280




def _home(view: dict[str, Any]) -> str:
    home = view.get("home_link")
    # Built from what Slack's auth.test and bots.info answered: linked only if it is a clean URL.
    return link(home, "App Home") if home else "Countersign's *Home* tab"


def _waiting_line(item: dict[str, Any]) -> str:
    holders = [mention(u) for u in item["holders"][:5]] + [usergroup(g) for g in item["holder_groups"][:2]]
    more = len(item["holders"]) - 5
    held = ", ".join(holders) + (f" +{more}" if more > 0 else "") if holders else "no approver left"
    return clip(f"*#{item['id']}* {escape(item['title'], 160)} ({escape(item['kind'])}, {escape(item['audience'])}) · "
                f"{item['age_days']} d old · by {mention(item['requester'])} · waiting on {held}", LINE_LIMIT)


def _incident_line(item: dict[str, Any]) -> str:
    return clip(f"{incident_line(item)} · {item['age_days']} d", LINE_LIMIT)


SECTIONS = (
    ("waiting", ":hourglass: Sign-offs waiting (oldest first)", _waiting_line),
    ("due", ":date: Records due or overdue for review", lambda s: clip(summary_line(s), LINE_LIMIT)),
    ("vendors", ":mag: Vendors needing review", lambda s: clip(summary_line(s), LINE_LIMIT)),
    ("flagged", ":warning: Use cases relying on vendors not reviewed", lambda s: clip(summary_line(s), LINE_LIMIT)),
    ("incidents", ":rotating_light: Open AI incidents", _incident_line),
)


def digest_blocks(view: dict[str, Any]) -> list:
    personal = view.get("personal")
    title = "Your weekly Countersign digest" if personal else "Weekly AI governance digest"
    blocks: list = [HeaderBlock(text=title),
                    ContextBlock(elements=[md(f"As of {local_iso_time(view['generated_at'], view.get('timezone'))}")])]
    for key, heading, line in SECTIONS:
        section = view.get(key) or {"total": 0, "items": []}
        if personal and key == "incidents":
            continue
        blocks.append(SectionBlock(text=md(f"*{heading}: {section['total']}*")))
        if section["items"]:
            blocks.append(SectionBlock(text=md(clip("\n".join(line(i) for i in section["items"]), 2990))))
        left = section["total"] - len(section["items"])
        if left > 0:
            blocks.append(ContextBlock(elements=[md(f"…and {left} more: see {_home(view)}.")]))
    changes = [c for c in view.get("changes") or [] if c["count"]]
    if not personal:
        blocks.append(DividerBlock())
        text = " · ".join(f"{c['count']} {escape(c['label'])}" for c in changes) if changes else "nothing recorded"
        blocks.append(SectionBlock(text=md(f"*Since last week:* {text}")))
        blocks += digest_usage_blocks(view.get("usage"), tz=view.get("timezone"))
    return blocks


def registry_digest(view: dict[str, Any]) -> dict[str, Any]:
    counts = ", ".join(f"{view[k]['total']} {k}" for k, _, _ in SECTIONS if view.get(k))
    return {"text": f"Weekly AI governance digest: {counts}",
            "blocks": [b.to_dict() for b in digest_blocks(view)]}


TEMPLATES = {"registry_digest": registry_digest}
