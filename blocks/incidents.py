"""AI incidents in Slack: announcement, pinned summary, pages, notices — and the modals.

Builders take the plain incident view from escalation/ (plus an `event` dict) and return
Web API payloads; they decide nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from blocks import values
from blocks.text import channel, clip, escape, link, md, mention
from services.wallclock import local_iso_time

ACK = "incident_ack"
UNACK = "incident_unack"
RESOLVE = "incident_resolve"
UPDATE = "incident_update"
SNOOZE = "incident_snooze"
TIMELINE = "incident_timeline"
REOPEN = "incident_reopen"

NEW = "incident_new"
RESOLVE_FORM = "incident_resolve_form"
UPDATE_FORM = "incident_update_form"
SHORTCUT = "report_ai_incident"

CATEGORIES = {
    "prompt_injection": "Prompt injection",
    "data_exposure": "Data exposure",
    "harmful_output": "Harmful or biased output",
    "model_outage": "Model outage",
    "vendor_change": "Vendor change",
    "other": "Other",
}
STATUS_WORDS = {
    "open": ":rotating_light: *OPEN* — paging until someone acknowledges",
    "acknowledged": ":eyes: *ACKNOWLEDGED*",
    "resolved": ":white_check_mark: *RESOLVED*",
}
TITLE_MAX = 150
DESCRIPTION_MAX = 3000
UPDATE_MAX = 3000
SNOOZE_CHOICES = {30: "30m", 60: "1h", 120: "2h"}  # minutes → button label




def _who(user: str | None) -> str:
    return mention(user, "Countersign")


def _when(iso: str | None, tz: str | None) -> str:
    """A moment as Slack shows it in each reader's own zone; where a client cannot, the
    fallback is the playbook's wall clock (`tz`, the view's `timezone`)."""
    if not iso:
        return ""
    epoch = int(datetime.fromisoformat(iso).timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{local_iso_time(iso, tz)}>"


def headline(view: dict[str, Any]) -> str:
    """Plain text (the header); `escape` it for mrkdwn and a message's `text`."""
    return clip(f"AI incident #{view['id']} [{view['severity']}]: {view['title']}", 150)


def _payload(text: str, blocks: list, **extra: Any) -> dict[str, Any]:
    return {"text": text, "blocks": [b.to_dict() for b in blocks], **extra}


def _buttons(view: dict[str, Any]) -> list:
    value = str(view["id"])
    status = view["status"]
    if status == "open":
        elements = [ButtonElement(text="Acknowledge", action_id=ACK, value=value, style="primary"),
                    ButtonElement(text="Post update", action_id=UPDATE, value=value),
                    ButtonElement(text="Resolve", action_id=RESOLVE, value=value)]
    elif status == "acknowledged":
        elements = [ButtonElement(text="Post update", action_id=UPDATE, value=value),
                    ButtonElement(text="Resolve", action_id=RESOLVE, value=value,
                                  style="primary"),
                    ButtonElement(text="Un-acknowledge", action_id=UNACK, value=value)]
    else:
        elements = [ButtonElement(text="Reopen", action_id=REOPEN, value=value)]
    elements.append(ButtonElement(text="Timeline", action_id=TIMELINE, value=value))
    return [ActionsBlock(block_id=f"incident-{value}", elements=elements)]


def _chain_line(view: dict[str, Any]) -> str:
    chain = view.get("chain") or {}
    steps = " → ".join(
        escape(s["target"]) + (f" (wait {escape(s['wait'])})" if s.get("wait") else "")
        for s in chain.get("steps", []))
    repeat = f", repeated {chain['repeat']}×" if chain.get("repeat") else ""
    return f"Escalation ({escape(chain.get('policy', '?'))}): {steps}{repeat}"


def _status_line(view: dict[str, Any]) -> str:
    status = STATUS_WORDS.get(view["status"], view["status"])
    if view["status"] == "acknowledged":
        status += f" by {_who(view.get('acknowledged_by'))} {_when(view.get('acknowledged_at'), view.get('timezone'))}"
    if view["status"] == "resolved":
        status += f" by {_who(view.get('resolved_by'))} {_when(view.get('resolved_at'), view.get('timezone'))}"
    return status


def summary_blocks(view: dict[str, Any]) -> list:
    facts = [f"*{escape(view['title'])}*",
             f"Category: {CATEGORIES.get(view.get('category', 'other'), escape(view.get('category')))}",
             f"Reported by {_who(view['reporter'])} {_when(view.get('opened_at'), view.get('timezone'))}"]
    if view.get("affected"):
        facts.append(f"Affects: {escape(view['affected'])}")
    if view.get("source_permalink"):
        facts.append(f"Source: {link(view['source_permalink'], 'the reported message')}")
    blocks: list = [HeaderBlock(text=headline(view)), SectionBlock(text=md("\n".join(facts)))]
    if view.get("description"):
        blocks.append(SectionBlock(text=md(escape(view["description"], 2900))))
    blocks.append(SectionBlock(block_id="status", text=md(_status_line(view))))
    if view["status"] == "resolved" and view.get("resolution_summary"):
        text = f"*Resolution:* {escape(view['resolution_summary'], 2500)}"
        if view.get("postmortem_url"):
            text += f"\nPostmortem: {link(view['postmortem_url'], limit=400)}"
        blocks.append(SectionBlock(text=md(text)))
    checklist = view.get("protocol") or []
    if checklist and view["status"] != "resolved":
        blocks.append(SectionBlock(text=md("*Protocol*\n" + "\n".join(
            f"• {escape(item['text'], 300)}" for item in checklist[:20]))))
    pages = view.get("pages") or []
    if pages:
        paged = ", ".join(dict.fromkeys(_who(p["user"]) for p in pages if p.get("user")))
        blocks.append(ContextBlock(elements=[md(clip(f"Paged so far: {paged}", 2900))]))
    blocks.append(ContextBlock(elements=[md(clip(
        f"{_chain_line(view)} · playbook v{view.get('playbook_version')} "
        f"({escape(view.get('playbook_hash'))})", 2900))]))
    blocks += _buttons(view)
    return blocks


def incident_summary(view: dict[str, Any]) -> dict[str, Any]:
    """Template: the summary in the incident's channel, pinned, updated on every change."""
    return _payload(f"{escape(headline(view))} [{view['status']}]", summary_blocks(view))


def incident_announcement(view: dict[str, Any]) -> dict[str, Any]:
    where = f" — in {channel(view['channel'])}" if view.get("channel") else ""
    text = (f":rotating_light: {escape(headline(view))} — reported by {_who(view['reporter'])}"
            f"{where} · {STATUS_WORDS.get(view['status'], view['status'])}")
    return _payload(text, [SectionBlock(text=md(text))])


def _taken(view: dict[str, Any]) -> str:
    """Who took the incident off the pager, and when (a page DM once it is not open)."""
    tz = view.get("timezone")
    if view.get("acknowledged_by"):
        taken = (f"{_who(view['acknowledged_by'])} acknowledged it {_when(view.get('acknowledged_at'), tz)}; "
                 "paging has stopped.")
    else:
        taken = "Paging has stopped."
    if view["status"] == "resolved":
        taken += f" {_who(view.get('resolved_by'))} resolved it {_when(view.get('resolved_at'), tz)}."
    return taken


def incident_page(view: dict[str, Any]) -> dict[str, Any]:
    """Template: the DM that pages one person, with Acknowledge; rewritten in place once
    someone takes the incident, saying who and when instead."""
    event = view.get("event") or {}
    paged = f"{escape(headline(view))} ({escape(event.get('target', 'on call'))})"
    if view["status"] == "open":
        text = f":rotating_light: You are paged for {paged}. Acknowledge to stop the escalation."
    else:
        text = f"You were paged for {paged}. {_taken(view)}"
    value = str(view["id"])
    blocks: list = [SectionBlock(text=md(text)),
                    SectionBlock(text=md(escape(view.get("description") or view["title"], 2900)))]
    if view["status"] == "open":
        blocks.append(ActionsBlock(block_id=f"page-{value}", elements=[
            ButtonElement(text="Acknowledge", action_id=ACK, value=value, style="primary"),
            ButtonElement(text="Resolve", action_id=RESOLVE, value=value),
            ButtonElement(text="Timeline", action_id=TIMELINE, value=value)]))
    # Once someone took it, the first line says who and when; the buttons would be moot.
    if view.get("channel"):
        blocks.insert(1, ContextBlock(elements=[md(f"Incident channel: {channel(view['channel'])}")]))
    return _payload(text, blocks)


def incident_page_notice(view: dict[str, Any]) -> dict[str, Any]:
    event = view.get("event") or {}
    users = [_who(u) for u in event.get("users") or []] + [channel(c) for c in
                                                          event.get("channels") or []]
    text = (f":pager: Paging {', '.join(users) or 'nobody'} "
            f"({escape(event.get('target', ''))}, round {event.get('round', 1)}, "
            f"step {event.get('step', 1)}).")
    return _payload(text, [SectionBlock(text=md(text))])


def incident_notice(view: dict[str, Any]) -> dict[str, Any]:
    """Template: a one-line change in the incident's story (ack, un-ack, update, resolve…)."""
    event = view.get("event") or {}
    kind = event.get("type", "update")
    actor = _who(event.get("actor"))
    lines = {
        "acknowledged": f":eyes: {actor} acknowledged incident #{view['id']}; paging stops.",
        "unacknowledged": f":repeat: {actor} un-acknowledged incident #{view['id']}; "
                          "escalation restarts from the top.",
        "resolved": f":white_check_mark: {actor} resolved incident #{view['id']}.",
        "reopened": f":warning: {actor} reopened incident #{view['id']}; escalation restarts.",
        "update_posted": f":memo: Update from {actor}: {escape(event.get('text', ''), 2800)}",
        "snoozed": f":zzz: {actor} snoozed status-update reminders for "
                   f"{event.get('minutes', '?')} minutes.",
        "channel_failed": f":warning: Could not create a channel for incident #{view['id']} "
                          f"({escape(event.get('reason', 'unknown reason'))}); it continues here.",
    }
    text = lines.get(kind, f"Incident #{view['id']}: {escape(kind)} by {actor}")
    return _payload(text, [SectionBlock(text=md(text))])


def incident_step_skipped(view: dict[str, Any]) -> dict[str, Any]:
    event = view.get("event") or {}
    text = (f":warning: Incident #{view['id']} ({escape(view['severity'])}): nobody is on call for "
            f"{escape(event.get('target', 'a step'))}; skipped to the next step. Check the rotation.")
    return _payload(text, [SectionBlock(text=md(text))])


def incident_exhausted(view: dict[str, Any]) -> dict[str, Any]:
    text = (f":sos: {escape(headline(view))} — nobody acknowledged; the escalation chain ran out. "
            "Someone must take it now.")
    value = str(view["id"])
    return _payload(text, [SectionBlock(text=md(text)), ActionsBlock(
        block_id=f"exhausted-{value}", elements=[
            ButtonElement(text="Acknowledge", action_id=ACK, value=value, style="primary")])])


def incident_update_reminder(view: dict[str, Any]) -> dict[str, Any]:
    text = (f":hourglass: Incident #{view['id']} is still {view['status']}: time for a status "
            "update.")
    value = str(view["id"])
    return _payload(text, [SectionBlock(text=md(text)), ActionsBlock(
        block_id=f"remind-{value}", elements=[
            ButtonElement(text="Post update", action_id=UPDATE, value=value, style="primary"),
            *(ButtonElement(text=f"Snooze {label}", action_id=SNOOZE, value=f"{value}:{minutes}")
              for minutes, label in SNOOZE_CHOICES.items())])])


def parse_incident_value(value: object) -> int:
    """The incident id an incident button carries; ButtonValueError for anything else."""
    [incident_id] = values.parts(value, 1)
    return values.record_id(incident_id)


def parse_snooze_value(value: object) -> tuple[int, int]:
    """(incident id, minutes) from a Snooze button: only the choices we offer."""
    incident_id, minutes = values.parts(value, 2)
    chosen = values.number(minutes)
    if chosen not in SNOOZE_CHOICES:
        raise values.ButtonValueError(f"{chosen} minutes is not a snooze we offer")
    return values.record_id(incident_id), chosen


TEMPLATES = {
    "incident_summary": incident_summary,
    "incident_announcement": incident_announcement,
    "incident_page": incident_page,
    "incident_page_notice": incident_page_notice,
    "incident_notice": incident_notice,
    "incident_step_skipped": incident_step_skipped,
    "incident_exhausted": incident_exhausted,
    "incident_update_reminder": incident_update_reminder,
}


def _input(block_id: str, label: str, *, max_length: int, multiline: bool = False,
           optional: bool = False, initial: str | None = None, hint: str | None = None) -> InputBlock:
    return InputBlock(block_id=block_id, label=label, optional=optional, hint=hint,
                      element=PlainTextInputElement(action_id="value", multiline=multiline,
                                                    max_length=max_length,
                                                    initial_value=initial))


def new_incident_modal(*, severities: list[tuple[str, str]], metadata: str = "",
                       title: str | None = None, description: str | None = None) -> dict:
    """The /ai-incident form (and the message shortcut's, pre-filled)."""
    options = [Option(value=name, text=clip(f"{name} — {about}" if about else name, 75))
               for name, about in severities][:100]
    return View(type="modal", callback_id=NEW, title="Report AI incident", submit="Report",
                close="Cancel", private_metadata=metadata, blocks=[
                    InputBlock(block_id="severity", label="Severity",
                               element=StaticSelectElement(action_id="value", options=options)),
                    _input("title", "What happened, in one line", max_length=TITLE_MAX,
                           initial=title),
                    InputBlock(block_id="category", label="Category",
                               element=RadioButtonsElement(action_id="value", options=[
                                   Option(value=k, text=v) for k, v in CATEGORIES.items()])),
                    _input("description", "Details", max_length=DESCRIPTION_MAX,
                           multiline=True, optional=True, initial=description),
                    _input("affected", "Affected AI use case or vendor", max_length=200,
                           optional=True, hint="Name records as UC-12 or V-3: resolving with a "
                                               "revisit then makes them due for review"),
                ]).to_dict()


def resolve_modal(view: dict[str, Any]) -> dict:
    return View(type="modal", callback_id=RESOLVE_FORM, title="Resolve incident",
                submit="Resolve", close="Back", private_metadata=str(view["id"]), blocks=[
                    SectionBlock(text=md(f"*{escape(headline(view))}*")),
                    _input("summary", "What was done, and the outcome", max_length=3000,
                           multiline=True),
                    _input("postmortem", "Postmortem link", max_length=500, optional=True),
                    InputBlock(block_id="revisit", label="Revisit the affected use case's "
                               "documentation?", element=RadioButtonsElement(
                                   action_id="value", options=[
                                       Option(value="yes", text="Yes, schedule a revisit now"),
                                       Option(value="no", text="No")],
                                   initial_option=Option(value="no", text="No"))),
                ]).to_dict()


def update_modal(view: dict[str, Any]) -> dict:
    return View(type="modal", callback_id=UPDATE_FORM, title="Post an update", submit="Post",
                close="Back", private_metadata=str(view["id"]), blocks=[
                    SectionBlock(text=md(f"*{escape(headline(view))}*")),
                    _input("text", "Status update", max_length=UPDATE_MAX, multiline=True),
                ]).to_dict()


def timeline_answer(view: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """`entries` from escalation.timeline: each `text` is mrkdwn, user text in it escaped there."""
    lines = [f"{_when(e.get('at'), view.get('timezone'))} {e.get('text') or escape(e.get('action'))}"
             for e in entries]
    blocks: list = [HeaderBlock(text=clip(f"Timeline of incident #{view['id']}", 150))]
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append(SectionBlock(text=md("\n".join(chunk))))
            chunk = []
            if len(blocks) >= 45:
                break
        chunk.append(clip(line, 2900))
    if chunk and len(blocks) < 46:
        blocks.append(SectionBlock(text=md("\n".join(chunk))))
    shown = sum(b.text.text.count("\n") + 1 for b in blocks[1:])
    if shown < len(lines):
        blocks.append(ContextBlock(elements=[md(
            f"…and {len(lines) - shown} later entries, all kept in the audit log.")]))
    blocks.append(DividerBlock())
    return {"response_type": "ephemeral", "text": f"Timeline of incident #{view['id']}",
            "blocks": [b.to_dict() for b in blocks]}
