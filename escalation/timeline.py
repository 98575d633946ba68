"""An incident's timeline, read from the audit log: every page, acknowledgement, update,
resolve and reopen, in the order it happened.

Refusals (`incident.denied`) are in the audit log but not on the timeline.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from blocks.text import channel, escape, mention
from models.audit import AuditEvent

from .queries import get_incident
from .record import ENTITY, SYSTEM_ACTOR, iso

HIDDEN = frozenset({"incident.denied"})


def _who(user: str | None) -> str:
    return mention(user)


def _line(action: str, actor: str | None, raw: dict[str, Any]) -> str:
    """One line of mrkdwn saying what happened; every value from the event is escaped, since
    titles, updates, summaries and reasons are what people typed."""
    p = {key: escape(value) if isinstance(value, str) else value for key, value in raw.items()}
    step = f"step {p.get('step')} (round {p.get('round')})"
    lines = {
        "incident.opened": f"{_who(actor)} opened the incident ({p.get('severity')}: {p.get('title')})",
        "incident.paged": (f"Paged {_who(raw.get('user'))}" if raw.get("user") else f"Paged {channel(raw.get('channel'))}")
                          + f" — {p.get('target')}, {step}",
        "incident.step_skipped": f"Skipped {step}, {p.get('target')}: {p.get('reason')}",
        "incident.exhausted": "The escalation chain ran out with nobody acknowledging; governance and admins told",
        "incident.acknowledged": f"{_who(actor)} acknowledged",
        "incident.unacknowledged": f"{_who(actor)} un-acknowledged; escalation restarted",
        "incident.update_posted": f"{_who(actor)} posted an update: {p.get('text')}",
        "incident.update_reminded": "Asked for a status update",
        "incident.updates_snoozed": f"{_who(actor)} snoozed update reminders for {p.get('minutes')} minutes",
        "incident.resolved": f"{_who(actor)} resolved: {p.get('summary')}",
        "incident.revisit_requested": f"{_who(actor)} asked for the affected use case's documentation to be revisited",
        "incident.reopened": f"{_who(actor)} reopened" + (f": {p['reason']}" if p.get("reason") else ""),
        "incident.channel_created": f"Channel {channel(raw.get('channel'))} created",
        "incident.channel_renamed": f"Channel name {p.get('taken')} was taken in Slack; trying {p.get('name')}",
        "incident.channel_failed": f"No incident channel: {p.get('reason')}",
    }
    return lines.get(action, action)


def timeline(session: Session, incident_id: int) -> list[dict[str, Any]]:
    """The incident's events, oldest first: {id, at, action, kind, actor, run, details, text}.

    `actor` is None for what Countersign did by itself (pages, skips, reminders).
    """
    get_incident(session, incident_id)
    events = session.exec(
        select(AuditEvent).where(AuditEvent.entity_type == ENTITY, AuditEvent.entity_id == str(incident_id))
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    ).all()
    out = []
    for event in events:
        if event.action in HIDDEN:
            continue
        actor = None if event.actor == SYSTEM_ACTOR else event.actor
        payload = dict(event.payload or {})
        out.append({
            "id": event.id,
            "at": iso(event.at),
            "action": event.action,
            "kind": event.action.removeprefix("incident."),
            "actor": actor,
            "run": payload.get("run"),
            "details": payload,
            "text": _line(event.action, actor, payload),
        })
    return out
