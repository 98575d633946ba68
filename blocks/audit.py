"""/ai-audit answers: pages of sealed audit events, refusals, verify and checkpoint results.

Everything in an event that came from a person — an actor that is not a Slack id, an entity
id, every payload value — is escaped; the only live markup is what we build: the actor's
mention from a checked id and the `<!date^…>` of the event's time.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    SectionBlock,
)

from blocks import values
from blocks.text import clip, code_sections, escape, md, mention

PREVIOUS = "audit_page_newer"  # ‹ Previous: the newer events (pages run newest first)
NEXT = "audit_page_older"  # Next ›: the older events
PAGE_ACTIONS = (PREVIOUS, NEXT)
VALUE_LIMIT = 2000  # Slack's cap on a button's value
SUMMARY_SHOWN = 180  # characters of a payload summary, escaped
ENTITY_WORDS = {"approval_request": "request", "incident": "incident", "usecase": "use case",
                "vendor": "vendor"}
EXAMPLES = ("`/ai-audit request 42`, `/ai-audit incident 7`, `/ai-audit usecase 3`, "
            "`/ai-audit vendor 2`")


def entity_label(entity_type: str, entity_id: str) -> str:
    """mrkdwn: `request 42`, or the log's own `type:id` for other entities."""
    if entity_type in ENTITY_WORDS:
        return f"{ENTITY_WORDS[entity_type]} {escape(entity_id, 70)}"
    return escape(f"{entity_type}:{entity_id}", 100)


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def payload_summary(payload: Any) -> str:
    """mrkdwn: `key: value, …` of an event's payload, each value and the whole cut short."""
    if not isinstance(payload, dict) or not payload:
        return ""
    # What a reader looks for first; the log stores keys sorted, so the rest follow in that order.
    ordered = sorted(payload.items(), key=lambda item: (item[0] not in LEADING_KEYS,
                                                        LEADING_KEYS.index(item[0])
                                                        if item[0] in LEADING_KEYS else 0))
    raw = ", ".join(f"{key}: {clip(_value_text(value), 60)}" for key, value in ordered)
    return escape(raw, SUMMARY_SHOWN)


LEADING_KEYS = ("title", "reason", "reference", "severity", "kind", "attempted", "code",
                "error", "size")


def _when(iso: str, tz: str) -> str:
    """Each reader sees the time in their own zone; the fallback is the playbook's."""
    moment = datetime.fromisoformat(iso)
    local = moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{local}>"


def event_line(event: dict[str, Any], *, tz: str) -> str:
    """One sealed event (services.audit_log.query.event_record) as one mrkdwn line."""
    line = (f"`#{int(event['seq'])}` {_when(event['at'], tz)} · {mention(event['actor'])} · "
            f"*{escape(event['action'], 70)}* · {entity_label(event['entity_type'], event['entity_id'])}")
    summary = payload_summary(event.get("payload"))
    return f"{line} · {summary}" if summary else line


def page_value(cursor: int, filter_text: str) -> str:
    value = f"{cursor}:{filter_text}"
    if len(value) > VALUE_LIMIT:  # the parser caps every filter word well below this
        raise ValueError(f"a page button's value of {len(value)} characters")
    return value


def parse_page_value(value: object) -> tuple[int, str]:
    """(seq cursor, filter words) from a page button; ButtonValueError for anything else. The
    words are still to be read back like any filter (services.audit_log.filter_text)."""
    if isinstance(value, str) and len(value) > VALUE_LIMIT:
        raise values.ButtonValueError("longer than any button holds")
    cursor, filter_text = values.parts(value, 2, rest=True)
    return values.number(cursor, low=0), filter_text


def log_page(events: list[dict[str, Any]], *, title: str, filter_text: str, newer: bool, older: bool,
             tz: str, empty: str = "No sealed events match.") -> dict[str, Any]:
    """A page of sealed events, newest first, with Previous/Next when there are more.
    `filter_text` is the canonical filter (services.audit_log.filter_text.render); the
    buttons carry it back with the seq they continue from."""
    blocks: list = [HeaderBlock(text=clip(title, 150))]
    about = "Sealed events, newest first"
    if filter_text:
        about += f" · filter `{escape(filter_text, 900)}`"
    blocks.append(ContextBlock(elements=[md(about)]))
    if events:
        blocks += code_sections([event_line(e, tz=tz) for e in events], max_sections=10, code=False,
                                overflow="{count} more events did not fit; narrow the filter.")
    else:
        blocks.append(SectionBlock(text=md(escape(empty))))
    buttons = []
    if events and newer:
        buttons.append(ButtonElement(text="‹ Previous", action_id=PREVIOUS,
                                     value=page_value(int(events[0]["seq"]), filter_text)))
    if events and older:
        buttons.append(ButtonElement(text="Next ›", action_id=NEXT,
                                     value=page_value(int(events[-1]["seq"]), filter_text)))
    if buttons:
        blocks.append(ActionsBlock(block_id="audit-pager", elements=buttons))
    if events:
        shown = f"#{int(events[0]['seq'])} to #{int(events[-1]['seq'])}"
        blocks.append(ContextBlock(elements=[md(f"Showing {shown}.")]))
    text = f"{clip(title, 150)}: {len(events)} event{'s' if len(events) != 1 else ''}"
    return {"response_type": "ephemeral", "text": escape(text),
            "blocks": [b.to_dict() for b in blocks]}


def admins_only(admins: list[str] | tuple[str, ...], what: str = "read the whole audit log") -> dict[str, Any]:
    """The answer to someone who is not an admin asking for the log as a whole."""
    who = ", ".join(mention(a) for a in admins[:10])
    text = (f"Only the playbook's admins ({who}) may {escape(what)}; your request is in the audit "
            "log. You can read the history of what you take part in — a request you opened or may "
            "decide, an incident you reported or were paged for, a record you keep, review or "
            f"approve: {EXAMPLES}.")
    return _warning(text)


def refused(reason: str) -> dict[str, Any]:
    """An entity history refused: `reason` is plain text (the access rule's own words)."""
    return _warning(f"{escape(reason)} Your request is in the audit log. `/ai-audit help` shows what you "
                    "can read.")


def _warning(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": text,
            "blocks": [SectionBlock(text=md(f":warning: {text}")).to_dict()]}


def verify_answer(ok: bool, summary: str, warnings: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """The outcome of `/ai-audit verify`. `summary` and `warnings` are the verifier's plain
    text, which quotes what the database holds: escaped like any stored text."""
    head = (":white_check_mark: The audit log verifies." if ok else
            ":rotating_light: The audit log does *not* verify: it was altered, or events are missing.")
    text = f"{head} {escape(summary, 2500)}"
    blocks: list = [SectionBlock(text=md(text))]
    if warnings:
        blocks.append(ContextBlock(elements=[md(escape("; ".join(warnings), 2900))]))
    return {"response_type": "ephemeral", "text": text, "blocks": [b.to_dict() for b in blocks]}


def checkpoint_answer(size: int, root_hash: str, note: str) -> dict[str, Any]:
    """The checkpoint `/ai-audit checkpoint` wrote (or the latest, when the log had not grown),
    its signed note verbatim so it can be kept outside the database."""
    text = (f"Audit log checkpoint: {int(size)} events, root `{escape(root_hash, 80)}`. The governance "
            "channel keeps it as a witness; `countersign audit verify --checkpoint FILE` holds the log to "
            "the note below later.")
    blocks = [HeaderBlock(text=f"Audit log checkpoint: {int(size)} events"),
              SectionBlock(text=md(text)),
              SectionBlock(text=md(f"```{escape(note, 2900)}```"))]
    return {"response_type": "ephemeral", "text": text, "blocks": [b.to_dict() for b in blocks]}
