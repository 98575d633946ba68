"""Status updates: posting one, snoozing the reminders, and the reminder timer.

The severity's `update_every` sets the cadence: a reminder (`incident.update_reminder`) falls
due every `update_every` from the opening (or the reopening) until the incident is resolved —
acknowledged or not. Each one looks back to the previous reminder (sent or skipped; the opening
for the first): if someone posted an update since, it is skipped quietly; otherwise the incident
channel is asked for one (`incident.update_reminded`). Either way the next falls due
`update_every` later.

Snoozing (30, 60 or 120 minutes) moves the next reminder to the end of the snooze: it replaces
the pending one and is then the only reminder that counts (`Incident.next_reminder_at`; any
other reminder timer that still fires is a no-op), and the cadence carries on from there.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session

from models.incident import RESOLVED
from models.timer import Timer
from services.inputs import check_text

from . import record
from .errors import IncidentInputError
from .lifecycle import Outcome, deny, fresh, may_manage, when
from .limits import SNOOZE_MINUTES, UPDATE_MAX
from .queries import for_timer, lock
from .views import incident_view

log = logging.getLogger(__name__)


def post_update(session: Session, *, incident_id: int, user: str, text: str, now: datetime) -> Outcome:
    """Anyone may post a status update while the incident is not resolved."""
    errors: dict[str, str] = {}
    update_text = check_text(errors, "text", "The update", text, UPDATE_MAX, required="say where things stand")
    if errors:
        raise IncidentInputError.collect(errors)
    incident = lock(session, incident_id)
    if incident.status == RESOLVED:
        return deny(session, incident, user=user, now=now, attempted="post_update", code="resolved",
                    message="This incident is resolved; reopen it to post updates.")
    incident.last_update_at = now
    record.touch(incident, now)
    session.add(incident)
    session.flush()
    record.log(session, incident, now=now, actor=user, action="incident.update_posted", text=update_text)
    view = incident_view(session, incident)
    happened = record.event("update_posted", actor=user, now=now, text=update_text)
    record.to_place(session, incident, view, suffix=f"update:v{incident.state_version}", template=record.T_NOTICE,
                    event=happened, now=now)
    record.update_summary(session, incident, view, event=happened, now=now)
    return Outcome("posted", "Update posted.", incident)


def snooze_updates(session: Session, *, incident_id: int, user: str, minutes: int, now: datetime,
                   is_admin: bool = False) -> Outcome:
    """No status-update reminder for `minutes` (30, 60 or 120); the next comes when it ends.
    A snooze quiets the reminder for everyone, so only the responders may (as for resolve:
    anyone paged, the reporter, whoever acknowledged, or an admin); posting an update is open."""
    if minutes not in SNOOZE_MINUTES:
        raise IncidentInputError("minutes", f"Snooze for {', '.join(map(str, SNOOZE_MINUTES[:-1]))} or "
                                            f"{SNOOZE_MINUTES[-1]} minutes.")
    incident = fresh(session, incident_id)
    if incident.status == RESOLVED:
        return deny(session, incident, user=user, now=now, attempted="snooze_updates", code="resolved",
                    message="This incident is resolved; there are no update reminders to snooze.")
    if record.chain_of(incident).update_every is None:
        return deny(session, incident, user=user, now=now, attempted="snooze_updates", code="no_reminders",
                    message=f"{incident.severity} incidents have no status-update reminders to snooze.")
    if not may_manage(session, incident, user, is_admin):
        return deny(session, incident, user=user, now=now, attempted="snooze_updates", code="not_responder",
                    message="Only someone paged for this incident, its reporter, whoever acknowledged it, or a "
                            "Countersign admin can snooze its update reminders; anyone may post an update.")
    record.cancel_reminders(session, incident)  # timer rows first, as a firing reminder does
    incident = lock(session, incident_id)
    if incident.status == RESOLVED:
        return deny(session, incident, user=user, now=now, attempted="snooze_updates", code="resolved",
                    message="This incident is resolved; there are no update reminders to snooze.")
    until = now + timedelta(minutes=minutes)
    incident.update_snoozed_until = until
    record.schedule_reminder(session, incident, due_at=until, now=now)
    record.touch(incident, now)
    session.add(incident)
    session.flush()
    record.log(session, incident, now=now, actor=user, action="incident.updates_snoozed", minutes=minutes,
               until=record.iso(until))
    view = incident_view(session, incident)
    happened = record.event("snoozed", actor=user, now=now, minutes=minutes, until=record.iso(until))
    record.to_place(session, incident, view, suffix=f"snoozed:v{incident.state_version}", template=record.T_NOTICE,
                    event=happened, now=now)
    return Outcome("snoozed", f"Status-update reminders snoozed until {when(until, incident)}.", incident)


def fire_update_reminder(session: Session, timer: Timer, now: datetime) -> None:
    incident = for_timer(session, timer.ref)
    if incident is None:
        log.warning("timer %s for unknown incident %r", timer.kind, timer.ref)
        return
    if incident.status == RESOLVED or incident.next_reminder_at != timer.due_at:
        return  # resolved, or superseded by a snooze or a reopen
    every = record.chain_of(incident).update_every
    if every is None:
        return
    since = incident.last_reminder_at or incident.opened_at
    updated = incident.last_update_at is not None and incident.last_update_at > since
    incident.last_reminder_at = now
    record.schedule_reminder(session, incident, due_at=now + every, now=now)
    record.touch(incident, now)
    session.add(incident)
    session.flush()
    if updated:
        return  # someone posted an update since the last reminder
    record.log(session, incident, now=now, actor=record.SYSTEM_ACTOR, action="incident.update_reminded",
               since=record.iso(since))
    view = incident_view(session, incident)
    happened = record.event("update_reminder", actor=None, now=now, since=record.iso(since),
                            last_update_at=record.iso(incident.last_update_at))
    record.to_place(session, incident, view, suffix=f"reminder:v{incident.state_version}",
                    template=record.T_UPDATE_REMINDER, event=happened, now=now)
