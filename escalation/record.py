"""How incident state changes write themselves down: audit events, outbox rows, timers.

Every outbox key starts `incident:{id}:` and names the event that owes the message (the run,
round and step of a page, the state version of a summary update, …), so each message is owed
exactly once however often a caller retries.

Payloads are `incident_view(...)` plus `event` (a dict: type, actor, at, and the type's own
fields) and `recipient` (the user or channel a DM or page goes to; None elsewhere). Templates
and where they go:
  incident_announcement     chat.postMessage · governance channel · event opened / channel_created (update)
  incident_summary          chat.postMessage (then chat.update, update_of the summary) · the incident
                            channel, else the announce channel (incidents, else governance)
  incident_page             chat.postMessage · DM to the paged user (channel = user id), or the
                            channel of a channel target; chat.update of it (update_of) when the
                            incident is acknowledged or resolved (the button is moot)
  incident_page_notice      chat.postMessage · `place` (below): who a step just paged
  incident_step_skipped     chat.postMessage · governance channel
  incident_exhausted        chat.postMessage · governance channel and a DM to each admin
  incident_notice           chat.postMessage · `place` (acknowledged, unacknowledged, resolved, reopened,
                            update_posted, snoozed), and governance (resolved, reopened, channel_failed)
  incident_update_reminder  chat.postMessage · `place`: time for a status update
  oncall_override           chat.postMessage · DM (see oncall.py; payload {override, event, recipient})
Web API calls without a template (payload = the call's arguments):
  conversations.create {name, is_private} · conversations.invite {channel, users, force} ·
  pins.add {channel, timestamp}

`place(incident)` is where talk about the incident goes: its own channel once it exists; else
the thread of its summary (posted in the announce channel); else — a dedicated channel still
being created — the thread of the governance announcement.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import update
from sqlmodel import Session, col

from models.incident import Incident
from models.timer import CANCELLED, PENDING, Timer
from services import audit, outbox, timers
from services.playbook.snapshot import EscalationChain

ENTITY = "incident"
SYSTEM_ACTOR = "countersign"

# Timer kinds.
STEP = "incident.step"
UPDATE_REMINDER = "incident.update_reminder"
CHANNEL_READY = "incident.channel_ready"
PIN_SUMMARY = "incident.pin_summary"

# Outbox templates (rendered by blocks/ at send time).
T_ANNOUNCEMENT = "incident_announcement"
T_SUMMARY = "incident_summary"
T_PAGE = "incident_page"
T_PAGE_NOTICE = "incident_page_notice"
T_STEP_SKIPPED = "incident_step_skipped"
T_EXHAUSTED = "incident_exhausted"
T_NOTICE = "incident_notice"
T_UPDATE_REMINDER = "incident_update_reminder"


def key(incident: Incident, suffix: str) -> str:
    return f"incident:{incident.id}:{suffix}"


def ref(incident: Incident) -> str:
    """The timer ref of the incident's reminder, channel and pin timers."""
    return f"incident:{incident.id}"


def step_ref(incident: Incident, run: int | None = None) -> str:
    """The timer ref of one run's step timers.

    The run is part of the ref because timers are unique by (kind, ref, due_at): a chain
    restarted at the very instant an earlier run's step fired must still get its own timer.
    """
    return f"incident:{incident.id}:run:{incident.escalation_run if run is None else run}"


def announce_key(incident: Incident) -> str:
    return key(incident, "announce")


def chain_of(incident: Incident) -> EscalationChain:
    return EscalationChain.model_validate(incident.chain)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def touch(incident: Incident, now: datetime) -> None:
    incident.updated_at = now
    incident.state_version += 1


def log(session: Session, incident: Incident, *, now: datetime, actor: str, action: str,
        **payload: Any) -> None:
    audit.append(session, at=now, actor=actor, action=action, entity_type=ENTITY,
                 entity_id=str(incident.id), payload={"run": incident.escalation_run, **payload})


def event(type: str, *, actor: str | None, now: datetime, **extra: Any) -> dict[str, Any]:
    """What happened, for the templates: {type, actor (None: Countersign itself), at, …}."""
    return {"type": type, "actor": actor, "at": iso(now), **extra}


class Place(NamedTuple):
    channel: str
    thread_of: str | None


def governance(incident: Incident) -> str:
    return incident.chain["governance_channel"]


def summary_channel(incident: Incident) -> str:
    return incident.channel or incident.announce_channel


def place(incident: Incident) -> Place:
    if incident.channel is not None:
        return Place(incident.channel, None)
    if incident.summary_key is not None:
        return Place(summary_channel(incident), incident.summary_key)
    return Place(governance(incident), announce_key(incident))


def post(session: Session, incident: Incident, view: dict[str, Any], *, suffix: str, template: str,
         channel: str, event: dict[str, Any], now: datetime, thread_of: str | None = None,
         recipient: str | None = None) -> str:
    message_key = key(incident, suffix)
    outbox.enqueue(session, key=message_key, method="chat.postMessage", channel=channel,
                   template=template, thread_of=thread_of,
                   payload={**view, "event": event, "recipient": recipient}, now=now)
    return message_key


def to_place(session: Session, incident: Incident, view: dict[str, Any], *, suffix: str, template: str,
             event: dict[str, Any], now: datetime) -> str:
    where = place(incident)
    return post(session, incident, view, suffix=suffix, template=template, channel=where.channel,
                thread_of=where.thread_of, event=event, now=now)


def direct(session: Session, incident: Incident, view: dict[str, Any], *, suffix: str, template: str,
           user: str, event: dict[str, Any], now: datetime) -> str:
    """A DM: the channel is the user's ID (chat.postMessage opens the app's DM with them)."""
    return post(session, incident, view, suffix=suffix, template=template, channel=user, event=event,
                now=now, recipient=user)


def post_summary(session: Session, incident: Incident, view: dict[str, Any], *, channel: str,
                 now: datetime) -> str:
    """The incident's summary message; its key is the message every later change updates."""
    summary_key = post(session, incident, view, suffix="summary", template=T_SUMMARY, channel=channel,
                       event=event("opened", actor=incident.reporter, now=now), now=now)
    incident.summary_key = summary_key
    return summary_key


def update_summary(session: Session, incident: Incident, view: dict[str, Any], *, event: dict[str, Any],
                   now: datetime) -> None:
    """Rewrite the summary with the current view (nothing yet to rewrite while its channel is
    being created: the summary is posted with the view of that moment)."""
    if incident.summary_key is None:
        return
    outbox.enqueue(session, key=key(incident, f"summary:v{incident.state_version}"), method="chat.update",
                   channel=summary_channel(incident), template=T_SUMMARY, update_of=incident.summary_key,
                   payload={**view, "event": event, "recipient": None}, now=now)


def update_message(session: Session, incident: Incident, view: dict[str, Any], *, of: str, channel: str,
                   template: str, event: dict[str, Any], now: datetime, recipient: str | None = None) -> None:
    """chat.update of an earlier message of this incident (a page DM whose button is now moot)."""
    outbox.enqueue(session, key=f"{of}:v{incident.state_version}", method="chat.update", channel=channel,
                   template=template, update_of=of,
                   payload={**view, "event": event, "recipient": recipient}, now=now)


def call(session: Session, incident: Incident, *, suffix: str, method: str, args: dict[str, Any],
         now: datetime, channel: str | None = None) -> str:
    """A Web API call without a template: the payload is its arguments."""
    message_key = key(incident, suffix)
    outbox.enqueue(session, key=message_key, method=method, channel=channel, payload=args, now=now)
    return message_key


def schedule(session: Session, *, kind: str, ref: str, due_at: datetime, now: datetime,
             payload: dict[str, Any]) -> Timer:
    """Schedule (kind, ref) at `due_at`; a timer cancelled at that exact instant comes back.

    Timers are unique by (kind, ref, due_at), so rescheduling at the instant of a cancelled
    one (a snooze ending exactly when the reminder it replaced was due) revives it.
    """
    timer = timers.schedule(session, kind=kind, ref=ref, due_at=due_at, now=now, payload=payload)
    if timer.status == CANCELLED:
        session.exec(
            update(Timer).where(col(Timer.id) == timer.id, Timer.status == CANCELLED)
            .values(status=PENDING, payload=payload, lease_until=None, claimed_by=None)
        )
        session.refresh(timer)
    return timer


def schedule_step(session: Session, incident: Incident, *, due_at: datetime, now: datetime,
                  round: int | None = None, step: int | None = None, exhausted: bool = False) -> Timer:
    payload: dict[str, Any] = {"run": incident.escalation_run}
    if exhausted:
        payload["exhausted"] = True
    else:
        payload.update(round=round, step=step)
    return schedule(session, kind=STEP, ref=step_ref(incident), due_at=due_at, now=now, payload=payload)


def schedule_reminder(session: Session, incident: Incident, *, due_at: datetime, now: datetime) -> None:
    """The next status-update reminder; the only one that counts (see Incident.next_reminder_at)."""
    schedule(session, kind=UPDATE_REMINDER, ref=ref(incident), due_at=due_at, now=now, payload={})
    incident.next_reminder_at = due_at


def cancel_steps(session: Session, incident: Incident) -> int:
    return timers.cancel(session, kind=STEP, ref=step_ref(incident))


def cancel_reminders(session: Session, incident: Incident) -> int:
    return timers.cancel(session, kind=UPDATE_REMINDER, ref=ref(incident))


def retry_delay(attempt: int) -> timedelta:
    """How long a follow-up timer waits before looking again: 2s, 4s, 8s, 16s, then 30s."""
    return timedelta(seconds=min(30, 2 ** attempt))


def roster_admins(incident: Incident) -> tuple[str, ...]:
    """The playbook admins frozen when the incident opened."""
    return tuple(incident.roster.get("admins", ()))


def time_zone(incident: Incident) -> str | None:
    """The playbook's time zone frozen when the incident opened: the one its times are shown in."""
    return (incident.roster or {}).get("timezone")
