"""Acknowledge, un-acknowledge, resolve, reopen: compare-and-set state changes under a row lock.

Each returns an `Outcome` rather than raising on refusal: a refusal is an audit event in the
caller's transaction (`incident.denied`), and an exception would roll it back. Bad input still
raises IncidentInputError, nothing written.

Lock order. A firing step timer holds its timer row (marked done first) and then locks the
incident; so a change that cancels step or reminder timers cancels them *before* locking the
incident — the same order, never a deadlock. `services.timers.cancel` also cancels a timer a
worker has claimed but not yet committed: whichever commits first wins, so a step already due
but not yet fired never pages after an acknowledgement commits (and a step that committed
first is simply a page that happened before the acknowledgement). A timer the cancel could not
see (set by a step committing meanwhile) fires later and finds the incident no longer open.

Who may do what ("anyone paged" spans every run of the incident: whoever was paged about it,
even before an un-acknowledge or a reopen restarted the chain, has been called to it):
- acknowledge: anyone paged for this incident in any run, or an admin; for a channel target, a
  press from the paged channel (`via_channel`) counts too;
- un-acknowledge, resolve, reopen, snooze the update reminders (updates.py): anyone paged, the
  reporter, whoever acknowledged, or an admin. Posting an update is open to anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from models.incident import ACKNOWLEDGED, OPEN, RESOLVED, Incident, IncidentPage
from services.inputs import check_text
from services.playbook.schema import Playbook
from services.registry import records as registry_records
from services.wallclock import local_time, zone

from . import record
from .engine import FIRST
from .errors import IncidentInputError, UnknownIncident
from .limits import SUMMARY_MAX, URL_MAX
from .queries import lock, paged_channels, pages_of
from .views import incident_view

REASON_MAX = 2000


@dataclass(frozen=True)
class Outcome:
    """What became of a request. `outcome` is one of:

    acknowledged · unacknowledged · resolved · reopened · posted (a status update) · snoozed —
    the change happened; already (someone got there first: `by` names them, `message` says
    when) · not_open / not_acknowledged / not_resolved (nothing to do in this state) · denied
    (not allowed: nothing recorded but the audit event; `code` names the rule).
    """

    outcome: str
    message: str
    incident: Incident
    code: str | None = None
    by: str | None = None


def mention(user: str | None) -> str:
    return f"<@{user}>" if user else "someone"


def when(moment: datetime | None, incident: Incident) -> str:
    """`moment` on the wall clock of the playbook the incident opened under."""
    return local_time(moment, zone(record.time_zone(incident))) if moment is not None else "earlier"


def fresh(session: Session, incident_id: int) -> Incident:
    """The incident as committed now, without a lock (to decide before taking one)."""
    incident = session.get(Incident, incident_id, populate_existing=True)
    if incident is None:
        raise UnknownIncident(incident_id)
    return incident


def was_paged(session: Session, incident: Incident, user: str) -> bool:
    return session.exec(
        select(IncidentPage.id).where(IncidentPage.incident_id == incident.id, IncidentPage.user == user).limit(1)
    ).first() is not None


def may_manage(session: Session, incident: Incident, user: str, is_admin: bool) -> bool:
    return (is_admin or user in (incident.reporter, incident.acknowledged_by)
            or was_paged(session, incident, user))


def deny(session: Session, incident: Incident, *, user: str, now: datetime, attempted: str, code: str,
         message: str) -> Outcome:
    record.log(session, incident, now=now, actor=user, action="incident.denied", attempted=attempted,
               code=code, reason=message)
    return Outcome("denied", message, incident, code)


def _already_acknowledged(incident: Incident) -> Outcome:
    return Outcome("already", f"{mention(incident.acknowledged_by)} already acknowledged this incident at "
                              f"{when(incident.acknowledged_at, incident)}.", incident, by=incident.acknowledged_by)


def _already_resolved(incident: Incident) -> Outcome:
    return Outcome("already", f"{mention(incident.resolved_by)} already resolved this incident at "
                              f"{when(incident.resolved_at, incident)}.", incident, by=incident.resolved_by)


def _announce(session: Session, incident: Incident, *, kind: str, actor: str, now: datetime,
              governance: bool = False, pages_of_run: int | None = None, **extra: Any) -> dict[str, Any]:
    """The messages every change owes: the summary rewritten, a notice where the incident is
    discussed (and in governance when asked), and the run's page messages rewritten."""
    view = incident_view(session, incident)
    happened = record.event(kind, actor=actor, now=now, **extra)
    version = incident.state_version
    record.update_summary(session, incident, view, event=happened, now=now)
    where = record.place(incident)
    if not (governance and where.channel == record.governance(incident)):
        record.to_place(session, incident, view, suffix=f"{kind}:v{version}", template=record.T_NOTICE,
                        event=happened, now=now)
    if governance:
        record.post(session, incident, view, suffix=f"{kind}:v{version}:governance", template=record.T_NOTICE,
                    channel=record.governance(incident), event=happened, now=now)
    if pages_of_run is not None:
        for page in pages_of(session, incident, run=pages_of_run):
            record.update_message(session, incident, view, of=page.outbox_key, channel=page.recipient,
                                  template=record.T_PAGE, event=happened, now=now, recipient=page.recipient)
    return view


def acknowledge(session: Session, *, incident_id: int, user: str, now: datetime, is_admin: bool = False,
                via_channel: str | None = None) -> Outcome:
    """`user` takes the incident: the chain stops at once (see the module doc for who may)."""
    incident = fresh(session, incident_id)
    if incident.status == ACKNOWLEDGED:
        return _already_acknowledged(incident)
    if incident.status == RESOLVED:
        return Outcome("not_open", f"This incident was resolved by {mention(incident.resolved_by)} at "
                                   f"{when(incident.resolved_at, incident)}; there is nothing to acknowledge.",
                                   incident)
    paged = was_paged(session, incident, user)
    by_channel = via_channel is not None and via_channel in paged_channels(session, incident)
    if not (paged or is_admin or by_channel):
        return deny(session, incident, user=user, now=now, attempted="acknowledge", code="not_paged",
                    message="Only someone paged for this incident, or a Countersign admin, can acknowledge it.")
    record.cancel_steps(session, incident)  # timer rows first, as a firing step does
    incident = lock(session, incident_id)
    if incident.status == ACKNOWLEDGED:
        return _already_acknowledged(incident)
    if incident.status != OPEN:
        return _already_resolved(incident)
    incident.status = ACKNOWLEDGED
    incident.acknowledged_by = user
    incident.acknowledged_at = now
    record.touch(incident, now)
    session.add(incident)
    session.flush()
    record.log(session, incident, now=now, actor=user, action="incident.acknowledged",
               as_admin=is_admin and not paged and not by_channel, via_channel=via_channel if by_channel else None)
    _announce(session, incident, kind="acknowledged", actor=user, now=now, pages_of_run=incident.escalation_run)
    return Outcome("acknowledged", "You acknowledged this incident; paging has stopped. Post updates as you go, "
                                   "and resolve it when it is over.", incident)


def unacknowledge(session: Session, *, incident_id: int, user: str, now: datetime,
                  is_admin: bool = False) -> Outcome:
    """Hand the incident back: a new run of the chain starts from the first step, now."""
    incident = fresh(session, incident_id)
    if incident.status != ACKNOWLEDGED:
        return _not_acknowledged(incident)
    if not may_manage(session, incident, user, is_admin):
        return deny(session, incident, user=user, now=now, attempted="unacknowledge", code="not_responder",
                    message="Only someone paged for this incident, its reporter, whoever acknowledged it, or a "
                            "Countersign admin can un-acknowledge it.")
    incident = lock(session, incident_id)
    if incident.status != ACKNOWLEDGED:
        return _not_acknowledged(incident)
    previous = incident.acknowledged_by
    incident.status = OPEN
    incident.acknowledged_by = None
    incident.acknowledged_at = None
    incident.escalation_run += 1
    record.touch(incident, now)
    record.schedule_step(session, incident, due_at=now, now=now, round=FIRST.round, step=FIRST.step)
    session.add(incident)
    session.flush()
    record.log(session, incident, now=now, actor=user, action="incident.unacknowledged", previous=previous)
    _announce(session, incident, kind="unacknowledged", actor=user, now=now, previous=previous)
    return Outcome("unacknowledged", "Un-acknowledged: escalation restarts from the first step now.", incident)


def _not_acknowledged(incident: Incident) -> Outcome:
    if incident.status == RESOLVED:
        return Outcome("not_acknowledged", "This incident is resolved; reopen it instead.", incident)
    return Outcome("not_acknowledged", "This incident is not acknowledged; escalation is already running.",
                   incident)


def resolve(session: Session, *, incident_id: int, user: str, now: datetime, summary: str,
            postmortem_url: str | None = None, revisit_usecase: bool = False, is_admin: bool = False,
            playbook: Playbook | None = None) -> Outcome:
    """End everything: paging, reminders. `summary` is required; `revisit_usecase` asks for the
    affected records' documentation to be revisited (`incident.revisit_requested`): records named
    in `affected` (`UC-12`, `V-3`) become due for review now, under `playbook`'s cadences."""
    errors: dict[str, str] = {}
    summary_text = check_text(errors, "summary", "The summary", summary, SUMMARY_MAX,
                              required="say what happened and what was done about it")
    url = check_text(errors, "postmortem_url", "The postmortem link", postmortem_url, URL_MAX)
    if url is not None and "postmortem_url" not in errors and not url.startswith(("https://", "http://")):
        errors["postmortem_url"] = "The postmortem link must be a web address starting with https://."
    if errors:
        raise IncidentInputError.collect(errors)
    incident = fresh(session, incident_id)
    if incident.status == RESOLVED:
        return _already_resolved(incident)
    if not may_manage(session, incident, user, is_admin):
        return deny(session, incident, user=user, now=now, attempted="resolve", code="not_responder",
                    message="Only someone paged for this incident, its reporter, whoever acknowledged it, or a "
                            "Countersign admin can resolve it.")
    record.cancel_steps(session, incident)  # timer rows first, as a firing timer does
    record.cancel_reminders(session, incident)
    incident = lock(session, incident_id)
    if incident.status == RESOLVED:
        return _already_resolved(incident)
    previous = incident.status
    incident.status = RESOLVED
    incident.resolved_by = user
    incident.resolved_at = now
    incident.resolution_summary = summary_text
    incident.postmortem_url = url
    incident.revisit_usecase = bool(revisit_usecase)
    incident.next_reminder_at = None
    record.touch(incident, now)
    session.add(incident)
    session.flush()
    record.log(session, incident, now=now, actor=user, action="incident.resolved", previous_status=previous,
               summary=summary_text, postmortem_url=url, revisit_usecase=incident.revisit_usecase)
    flagged: list[str] = []
    if incident.revisit_usecase:
        if playbook is not None:
            flagged = registry_records.revisit_now(session, incident.affected, actor=user, now=now,
                                                   playbook=playbook, reason=f"incident #{incident.id}")
        record.log(session, incident, now=now, actor=user, action="incident.revisit_requested",
                   affected=incident.affected, category=incident.category, records=flagged)
    _announce(session, incident, kind="resolved", actor=user, now=now, governance=True,
              pages_of_run=incident.escalation_run, summary=summary_text, postmortem_url=url,
              revisit_usecase=incident.revisit_usecase)
    return Outcome("resolved", "Resolved; paging and update reminders have stopped."
                   + (f" {', '.join(flagged)} {'is' if len(flagged) == 1 else 'are'} now due for review; "
                      "the owners are told." if flagged else
                      " The affected use case's documentation is flagged for a revisit." if revisit_usecase else ""),
                   incident)


def reopen(session: Session, *, incident_id: int, user: str, now: datetime, is_admin: bool = False,
           reason: str | None = None) -> Outcome:
    """A resolved incident is back: a new run of the chain from the first step, reminders again."""
    errors: dict[str, str] = {}
    reason_text = check_text(errors, "reason", "The reason", reason, REASON_MAX)
    if errors:
        raise IncidentInputError.collect(errors)
    incident = fresh(session, incident_id)
    if incident.status != RESOLVED:
        return Outcome("not_resolved", "This incident is not resolved; there is nothing to reopen.", incident)
    if not may_manage(session, incident, user, is_admin):
        return deny(session, incident, user=user, now=now, attempted="reopen", code="not_responder",
                    message="Only someone paged for this incident, its reporter, whoever acknowledged it, or a "
                            "Countersign admin can reopen it.")
    incident = lock(session, incident_id)
    if incident.status != RESOLVED:
        return Outcome("not_resolved", "This incident is not resolved; there is nothing to reopen.", incident)
    previous = {"resolved_by": incident.resolved_by, "summary": incident.resolution_summary}
    incident.status = OPEN
    incident.escalation_run += 1
    for name in ("acknowledged_by", "acknowledged_at", "resolved_by", "resolved_at", "resolution_summary",
                 "postmortem_url", "update_snoozed_until"):
        setattr(incident, name, None)
    incident.revisit_usecase = False
    incident.last_reminder_at = now  # "an update since the last reminder" counts from the reopen
    record.touch(incident, now)
    record.schedule_step(session, incident, due_at=now, now=now, round=FIRST.round, step=FIRST.step)
    every = record.chain_of(incident).update_every
    if every:
        record.schedule_reminder(session, incident, due_at=now + every, now=now)
    session.add(incident)
    session.flush()
    record.log(session, incident, now=now, actor=user, action="incident.reopened", reason=reason_text,
               previous_resolved_by=previous["resolved_by"], previous_summary=previous["summary"])
    _announce(session, incident, kind="reopened", actor=user, now=now, governance=True, reason=reason_text)
    return Outcome("reopened", "Reopened: escalation restarts from the first step now.", incident)
