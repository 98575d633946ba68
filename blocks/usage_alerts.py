"""The usage alert message: what a watch rule saw, the evidence, and what was decided.

Everything in it came from telemetry (service, user, model and provider names) or the registry
(use case titles): all of it is escaped. Only mentions of Slack user ids are live.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    SectionBlock,
)

from blocks import values
from blocks.text import escape, md, mention
from services.wallclock import local_iso_time

ACKNOWLEDGE = "usage_alert_acknowledge"
OPEN_INCIDENT = "usage_alert_open_incident"
TEMPLATE = "usage_alert"

RULE_TITLES = {
    "undocumented_model": "Undocumented model",
    "unapproved_use_case": "Use case not approved",
    "not_allowed": "Use the playbook does not allow",
    "first_use": "First use of a model",
    "volume": "Unusual volume",
    "personal_data": "Personal data where none is documented",
}
_LISTS = (("services", "Services"), ("people", "People"), ("models", "Models"),
          ("providers", "Providers"), ("use_cases", "Use cases"))
_SHOWN_DETAILS = {"reasons": "Why", "problem": "Problem", "median": "Daily median",
                  "today": "That day", "redactions": "Redacted", "vendors": "Vendors"}
NAME_LIMIT = 200  # characters of one name shown
LIST_BUDGET = 420  # characters of one list of names (five lists and the counts fit a section)
DETAIL_LIMIT = 400  # characters of one of the rule's details


def alert_value(alert_id: int) -> str:
    return str(alert_id)


def parse_alert_value(value: object) -> int:
    return values.record_id(values.parts(value, 1)[0])


def _when(iso: str | None, tz: str | None) -> str:
    if not iso:
        return "unknown"
    epoch = int(datetime.fromisoformat(iso).timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{local_iso_time(iso, tz)}>"


def _person(name: str) -> str:
    return mention(name) if name else "unknown"


def _list(evidence: dict[str, Any], name: str) -> str:
    """The names as mrkdwn within LIST_BUDGET characters; those left out are counted."""
    names = [str(v) for v in evidence.get(name) or []]
    more = int((evidence.get("more") or {}).get(name) or 0)
    shown: list[str] = []
    size = 0
    for n in names:
        piece = _person(n) if name == "people" and len(n) <= 40 else escape(n, NAME_LIMIT)
        if size + len(piece) + 2 > LIST_BUDGET:
            break
        shown.append(piece)
        size += len(piece) + 2
    more += len(names) - len(shown)
    return (", ".join(shown) or "—") + (f" and {more} more" if more else "")


def _detail(value: Any) -> str:
    if isinstance(value, dict):
        text = ", ".join(f"{k}: {v}" for k, v in sorted(value.items()))
    elif isinstance(value, list):
        text = "; ".join(str(v) for v in value)
    else:
        text = str(value)
    return escape(text, DETAIL_LIMIT)


def _evidence_lines(data: dict[str, Any]) -> list[str]:
    """Who, what, which use case, how many calls, first and last seen: mrkdwn lines that fit
    one section together."""
    ev = data.get("evidence") or {}
    tz = data.get("timezone")
    lines = [f"*{label}:* {_list(ev, name)}" for name, label in _LISTS]
    lines.append(f"*Calls:* {int(ev.get('events') or 0)} · first seen {_when(ev.get('first_seen'), tz)}"
                 f" · last seen {_when(ev.get('last_seen'), tz)}")
    return lines


def _detail_lines(data: dict[str, Any]) -> list[str]:
    """What the rule itself found (its reasons, the counts it compared): one section."""
    ev = data.get("evidence") or {}
    return [f"*{label}:* {_detail(ev[name])}" for name, label in _SHOWN_DETAILS.items()
            if ev.get(name) not in (None, "", [], {})]


def _status_line(data: dict[str, Any]) -> str:
    tz = data.get("timezone")
    if data.get("status") == "acknowledged":
        return f":eyes: Acknowledged by {_person(data.get('decided_by') or '')} {_when(data.get('decided_at'), tz)}"
    if data.get("status") == "incident":
        return (f":rotating_light: AI incident #{int(data.get('incident_id') or 0)} opened by "
                f"{_person(data.get('decided_by') or '')} {_when(data.get('decided_at'), tz)}")
    return (f"Open · usage alert #{int(data['id'])} · rule `{escape(data.get('rule'))}` · "
            f"day {escape(data.get('day'))} · one alert per rule, subject and day")


def _buttons(data: dict[str, Any]) -> list[ButtonElement]:
    value = alert_value(int(data["id"]))
    buttons = []
    if data.get("status") == "open":
        buttons.append(ButtonElement(text="Acknowledge", action_id=ACKNOWLEDGE, value=value,
                                     style="primary"))
    if data.get("status") in ("open", "acknowledged"):
        buttons.append(ButtonElement(
            text="Open incident", action_id=OPEN_INCIDENT, value=value, style="danger",
            confirm=ConfirmObject(
                title="Open an AI incident?", confirm="Open incident", deny="Cancel",
                text="It opens with the playbook's least severe severity, prefilled with this "
                     "alert's evidence, and pages whoever is on call for it.")))
    return buttons


def usage_alert(data: dict[str, Any]) -> dict[str, Any]:
    title = RULE_TITLES.get(data.get("rule") or "", "Usage alert")
    summary = escape(data.get("summary"), 2000)
    blocks: list[Any] = [
        HeaderBlock(text=f"AI usage alert: {title}"),
        SectionBlock(text=md(summary or "—")),
        SectionBlock(text=md("\n".join(_evidence_lines(data)))),
    ]
    details = _detail_lines(data)
    if details:
        blocks.append(SectionBlock(text=md("\n".join(details))))
    blocks.append(ContextBlock(elements=[md(_status_line(data))]))
    buttons = _buttons(data)
    if buttons:
        blocks.append(ActionsBlock(block_id=f"usage_alert:{int(data['id'])}", elements=buttons))
    return {"text": f"AI usage alert: {title}: {escape(data.get('summary'), 300)}",
            "blocks": [b.to_dict() for b in blocks]}


TEMPLATES = {TEMPLATE: usage_alert}
