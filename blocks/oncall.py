"""Who is on call, as Slack answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from blocks.playbook import plain_answer
from blocks.text import escape, mention


def _local(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M %Z")


def _who(user: str | None) -> str:
    return mention(user)


def overview_answer(rotations: list[tuple[str, str | None, list]], *, tz: str) -> dict[str, Any]:
    """rotations: (name, on call now, upcoming handoffs with .at and .user)."""
    if not rotations:
        return plain_answer("The playbook defines no rotations.", title="On call")
    lines = []
    for name, now, upcoming in rotations:
        lines.append(f"*{escape(name)}*: {_who(now)} now")
        lines += [f"    from {_local(h.at, tz)}: {_who(h.user)}" + (" (override)" if h.override else "")
                  for h in upcoming]
    return plain_answer("\n".join(lines), title="On call", code=False)


def shifts_answer(user: str, shifts: list, *, tz: str) -> dict[str, Any]:
    """shifts: with .rotation, .start, .end, .override."""
    if not shifts:
        return plain_answer(f"{_who(user)} has no upcoming shifts.", title="Shifts")
    lines = [f"{_who(user)}:"] + [f"*{escape(s.rotation)}*: {_local(s.start, tz)} → {_local(s.end, tz)}"
                                  + (" (override)" if s.override else "") for s in shifts]
    return plain_answer("\n".join(lines), title="Upcoming shifts", code=False)


def oncall_override(data: dict[str, Any]) -> dict[str, Any]:
    """Template: a DM to the people an on-call override concerns."""
    override = data["override"]
    event = data.get("event") or {}
    verb = "cancelled" if event.get("type") == "override_cancelled" or override.get("cancelled") \
        else "set"
    text = (f"On-call override {verb}: {mention(override['user'])} covers *{escape(override['rotation'])}* "
            f"from {escape(override['start'])} to {escape(override['end'])} (by {mention(override['created_by'])}).")
    from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

    return {"text": text,
            "blocks": [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]}


TEMPLATES = {"oncall_override": oncall_override}
