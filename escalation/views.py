"""An incident as plain JSON data: the one shape every outbox payload and listing carries.

`incident_view` is what renderers get (blocks/ turns it into Block Kit at send time), so it
holds everything needed to draw the summary, a page DM, a notice or a listing, and nothing that
is not JSON. Templates receive the view plus `event` and `recipient` (see record.py).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from models.incident import ACKNOWLEDGED, OPEN, RESOLVED, Incident
from services.playbook.durations import format_duration
from services.playbook.snapshot import EscalationChain

from .queries import pages_of
from .record import chain_of, governance, iso, summary_channel, time_zone

CATEGORY_LABELS = {
    "prompt_injection": "Prompt injection",
    "data_exposure": "Data exposure",
    "harmful_output": "Harmful or biased output",
    "model_outage": "Model outage",
    "vendor_change": "Vendor change",
    "other": "Other",
}

# What each category adds to the protocol checklist.
CATEGORY_STEPS = {
    "prompt_injection": ("evidence", "Keep the injected prompts and the outputs they caused as evidence"),
    "data_exposure": ("privacy", "Tell privacy/legal: what personal data went where (notification deadlines may apply)"),
    "harmful_output": ("reach", "Find who saw the output, and stop it being served again"),
    "model_outage": ("fallback", "Switch to the fallback (or turn the AI feature off) and tell users"),
    "vendor_change": ("contract", "Check the vendor's new terms against the contract and the data you send them"),
}


def incident_view(session: Session, incident: Incident) -> dict[str, Any]:
    chain = chain_of(incident)
    pages = pages_of(session, incident, run=incident.escalation_run)
    return {
        "id": incident.id,
        "severity": incident.severity,
        "severity_description": chain.description,
        "title": incident.title,
        "category": incident.category,
        "category_label": CATEGORY_LABELS.get(incident.category, incident.category),
        "description": incident.description,
        "reporter": incident.reporter,
        "source_permalink": incident.source_permalink,
        "affected": incident.affected,
        "status": incident.status,
        "final": incident.status == RESOLVED,
        "channel": incident.channel,
        "channel_name": incident.channel_name,
        "announce_channel": incident.announce_channel,
        "governance_channel": governance(incident),
        "summary_channel": summary_channel(incident),
        "opened_at": iso(incident.opened_at),
        "updated_at": iso(incident.updated_at),
        "acknowledged_by": incident.acknowledged_by,
        "acknowledged_at": iso(incident.acknowledged_at),
        "resolved_by": incident.resolved_by,
        "resolved_at": iso(incident.resolved_at),
        "resolution_summary": incident.resolution_summary,
        "postmortem_url": incident.postmortem_url,
        "revisit_usecase": incident.revisit_usecase,
        "last_update_at": iso(incident.last_update_at),
        "update_every": format_duration(chain.update_every) if chain.update_every else None,
        "update_snoozed_until": iso(incident.update_snoozed_until),
        "next_reminder_at": iso(incident.next_reminder_at) if incident.status != RESOLVED else None,
        "escalation_run": incident.escalation_run,
        "chain": chain_data(chain),
        "pages": [
            {"user": p.user, "channel": None if p.user else p.recipient, "target": p.target,
             "round": p.round, "step": p.step, "at": iso(p.at)}
            for p in pages
        ],
        "protocol": protocol(chain, incident.category),
        "actions": actions(incident, chain),
        "playbook_version": incident.playbook_version,
        "playbook_hash": incident.playbook_hash[:12],
        "state_version": incident.state_version,
        "timezone": time_zone(incident),
    }


def chain_data(chain: EscalationChain) -> dict[str, Any]:
    """The escalation policy as a person needs to see it (the view's "chain")."""
    return {
        "policy": chain.policy,
        "steps": [{"target": str(s.notify), "wait": format_duration(s.wait) if s.wait else None}
                  for s in chain.steps],
        "repeat": chain.repeat,
        "incident_channel": chain.incident_channel,
    }


def protocol(chain: EscalationChain, category: str) -> list[dict[str, str]]:
    """The protocol checklist pinned in the incident channel.

    The playbook defines the escalation (who is paged, when) and the update cadence; the rest
    is the standard incident protocol plus one item for the category.
    """
    every = f"every {format_duration(chain.update_every)}" if chain.update_every else "whenever something changes"
    items = [
        ("acknowledge", "Acknowledge: one responder takes the incident (this stops the paging)"),
        ("contain", "Contain: stop the harm (turn the feature off, block the input, revoke the key)"),
        ("assess", "Assess: who and what is affected (customers, data, the AI use case or vendor)"),
    ]
    if category in CATEGORY_STEPS:
        items.append(CATEGORY_STEPS[category])
    items += [
        ("updates", f"Post a status update {every}"),
        ("resolve", "Resolve with a summary, a postmortem link, and whether the use case's documentation "
                    "needs revisiting"),
    ]
    return [{"id": item_id, "text": text} for item_id, text in items]


def actions(incident: Incident, chain: EscalationChain) -> list[str]:
    """The buttons the incident's messages offer in its current state."""
    reminders = ["snooze_updates"] if chain.update_every else []
    if incident.status == OPEN:
        return ["acknowledge", "post_update", *reminders, "resolve", "timeline"]
    if incident.status == ACKNOWLEDGED:
        return ["unacknowledge", "post_update", *reminders, "resolve", "timeline"]
    return ["reopen", "timeline"]
