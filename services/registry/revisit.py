"""Revisit nudges: durable timers that keep records current (the row is the timer).

A record's next review sets three timers, all tagged with that review date (`next_review`):
  revisit.soon   due_soon before it: DM "due soon"
  revisit.due    at it: DM "due now"; then again after renudge_after, 2×, 4× … ("overdue")
  revisit.raise  stale_grace after it: post to the governance channel
A timer whose tag no longer matches the record (reviewed since, date moved, retired) does
nothing, so each review date is nudged at most once per timer however often processes restart.
Snoozing moves the next DM only; the governance deadline stays where it was.

Timers carry what they need of the playbook (they fire without one): the back-off, the
snooze, and the time zone whose calendar counts days late. A timer that fires after its
moment has passed (a clock jump, a bot down for days) sends what is true now: a "due soon"
for a date already reached is not sent, the "due" nudge says it.

Payloads of the outbox templates (rendered by blocks/registry):
  registry_nudge  record summary + stage ("soon"|"due"|"overdue"), number, snoozes_left,
                  snooze_for (the playbook's snooze, e.g. "3d"), recipient
  registry_raise  record summary + days_overdue
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from models.registry import RETIRED, USECASE, UseCase, Vendor
from models.timer import PENDING, Timer
from services import audit, outbox, timers
from services.playbook.durations import format_duration
from services.playbook.schema import Playbook
from services.wallclock import days_until, local_day, zone

from . import lookup as records
from .authority import SYSTEM
from .errors import NotAllowed, RegistryInputError, UnknownRecord
from .views import record_summary

log = logging.getLogger(__name__)

SOON = "revisit.soon"
DUE = "revisit.due"
RAISE = "revisit.raise"
KINDS = (SOON, DUE, RAISE)
T_NUDGE = "registry_nudge"
T_RAISE = "registry_raise"


def timer_ref(kind: str, record_id: int) -> str:
    return f"{kind}:{record_id}"


def stamp(record: UseCase | Vendor) -> str:
    # In UTC whatever zone `now` came in: the database hands the value back in UTC.
    return record.next_review_at.astimezone(UTC).isoformat()


def schedule(session: Session, kind: str, record: UseCase | Vendor, *, playbook: Playbook,
             now: datetime) -> None:
    """(Re)set the timers for the record's current next review; earlier ones are cancelled."""
    cancel(session, kind, record.id)
    if kind == USECASE and record.status == RETIRED:
        return
    doc = playbook.documentation
    due = record.next_review_at
    tag = {"next_review": stamp(record)}
    if due - doc.due_soon > now:
        _set(session, SOON, kind, record.id, due - doc.due_soon, now, tag)
    # Already due (back from retirement, a date moved into the past): nudge now, not never.
    _set(session, DUE, kind, record.id, max(due, now), now, {**tag, **_nudging(playbook)})
    _set(session, RAISE, kind, record.id, due + doc.stale_grace, now,
         {**tag, "channel": playbook.channels.governance, "timezone": playbook.timezone})


def _nudging(playbook: Playbook) -> dict[str, Any]:
    doc = playbook.documentation
    return {"number": 1, "renudge_s": doc.renudge_after.total_seconds(), "max_snoozes": doc.max_snoozes,
            "snooze_s": doc.snooze.total_seconds(), "timezone": playbook.timezone}


def cancel(session: Session, kind: str, record_id: int, kinds: tuple[str, ...] = KINDS) -> None:
    for timer_kind in kinds:
        timers.cancel(session, kind=timer_kind, ref=timer_ref(kind, record_id))


def _set(session: Session, timer_kind: str, kind: str, record_id: int, due_at: datetime,
         now: datetime, payload: dict[str, Any]) -> None:
    # A review date set again after being moved away finds its cancelled timer, which comes
    # back; a fired one stays fired.
    timers.schedule_again(session, kind=timer_kind, ref=timer_ref(kind, record_id), due_at=due_at,
                          now=now, payload=payload)


def snooze(session: Session, kind: str, record_id: int, *, tag: str, user: str, now: datetime,
           playbook: Playbook) -> tuple[UseCase | Vendor, datetime]:
    """Put the next nudge off by the playbook's snooze; returns the record and when it comes."""
    record = records.get(session, kind, record_id, lock=True)
    if stamp(record) != tag or (kind == USECASE and record.status == RETIRED):
        raise RegistryInputError("id", f"{records.ref(kind, record_id)} was reviewed or changed "
                                       "since this reminder: nothing to snooze.")
    if user not in (*records.owners(kind, record), records.nudge_recipient(kind, record)):
        raise NotAllowed("id", f"Only the people who keep {records.ref(kind, record_id)} may snooze its review.")
    if now < record.next_review_at:
        raise RegistryInputError("id", f"{records.ref(kind, record_id)} is not due until "
                                       f"{local_day(record.next_review_at, playbook.tz)}: nothing to snooze yet.")
    doc = playbook.documentation
    if record.snoozes >= doc.max_snoozes:
        raise NotAllowed("id", f"This review was snoozed {record.snoozes} times, the most the playbook "
                               "allows: mark it reviewed or update it.")
    record.snoozes += 1
    session.add(record)
    pending = session.exec(select(Timer).where(Timer.kind == DUE, Timer.ref == timer_ref(kind, record_id),
                                               Timer.status == PENDING)).first()
    number = int((pending.payload or {}).get("number", 1)) if pending is not None else 1
    cancel(session, kind, record_id, kinds=(DUE,))
    until = now + doc.snooze
    # The back-off goes on from where it was: a snooze postpones the next nudge, nothing more.
    _set(session, DUE, kind, record_id, until, now, {"next_review": tag, **_nudging(playbook), "number": number})
    audit.append(session, at=now, actor=user, action=f"{kind}.review_snoozed", entity_type=kind,
                 entity_id=str(record_id), payload={"until": until.isoformat(), "snoozes": record.snoozes})
    return record, until


# --- timer handlers --------------------------------------------------------------------------


def _current(session: Session, timer: Timer) -> tuple[str, UseCase | Vendor] | None:
    kind, _, raw_id = timer.ref.partition(":")
    try:
        record = records.get(session, kind, int(raw_id), lock=True)
    except (UnknownRecord, KeyError, ValueError):  # nothing to nudge, and nothing to retry
        log.warning("revisit timer %s for unknown record %r", timer.kind, timer.ref)
        return None
    if (timer.payload or {}).get("next_review") != stamp(record):
        return None
    if kind == USECASE and record.status == RETIRED:
        return None
    return kind, record


def _key(kind: str, record: UseCase | Vendor, what: str) -> str:
    return f"revisit:{kind}:{record.id}:{stamp(record)}:{what}"


def _days_late(timer: Timer, record: UseCase | Vendor, now: datetime) -> int:
    """Calendar days past the review date, on the playbook's wall clock (0 on the day)."""
    return -days_until(record.next_review_at, now, zone(timer.payload.get("timezone")))


def _dm(session: Session, kind: str, record: UseCase | Vendor, timer: Timer, now: datetime, *,
        stage: str, number: int) -> None:
    user = records.nudge_recipient(kind, record)
    snooze_s = timer.payload.get("snooze_s")
    payload = {**record_summary(session, kind, record, now=now, tz=zone(timer.payload.get("timezone"))),
               "stage": stage, "number": number, "recipient": user, "tag": stamp(record),
               # A review can be put off once it is due; "due soon" only tells.
               "snoozes_left": 0 if stage == "soon" else max(0, timer.payload.get("max_snoozes", 0) - record.snoozes),
               # A timer set before timers carried it does not know the playbook's snooze.
               "snooze_for": format_duration(timedelta(seconds=snooze_s)) if snooze_s else None}
    outbox.enqueue(session, key=_key(kind, record, f"{stage}:{timer.due_at.isoformat()}"),
                   method="chat.postMessage", channel=user, template=T_NUDGE, payload=payload, now=now)
    audit.append(session, at=now, actor=SYSTEM, action=f"{kind}.review_nudged", entity_type=kind,
                 entity_id=str(record.id), payload={"stage": stage, "number": number, "user": user})


def fire_soon(session: Session, timer: Timer, now: datetime) -> None:
    found = _current(session, timer)
    # Late enough that the date has come (a clock jump, a bot down for days): the "due" timer,
    # due by now as well, says what is current; "due soon" would only contradict it.
    if found is not None and now < found[1].next_review_at:
        _dm(session, *found, timer, now, stage="soon", number=0)


def fire_due(session: Session, timer: Timer, now: datetime) -> None:
    found = _current(session, timer)
    if found is None:
        return
    kind, record = found
    number = int(timer.payload.get("number", 1))
    late = _days_late(timer, record, now) >= 1
    _dm(session, kind, record, timer, now, stage="overdue" if late else "due", number=number)
    wait = timedelta(seconds=float(timer.payload.get("renudge_s", 3 * 86400))) * (2 ** (number - 1))
    _set(session, DUE, kind, record.id, now + wait, now, {**timer.payload, "number": number + 1})


def fire_raise(session: Session, timer: Timer, now: datetime) -> None:
    found = _current(session, timer)
    if found is None:
        return
    kind, record = found
    days = max(0, _days_late(timer, record, now))
    summary = record_summary(session, kind, record, now=now, tz=zone(timer.payload.get("timezone")))
    outbox.enqueue(session, key=_key(kind, record, "raise"), method="chat.postMessage",
                   channel=timer.payload["channel"], template=T_RAISE,
                   payload={**summary, "days_overdue": days}, now=now)
    audit.append(session, at=now, actor=SYSTEM, action=f"{kind}.review_raised", entity_type=kind,
                 entity_id=str(record.id), payload={"channel": timer.payload["channel"], "days_overdue": days})


TIMER_HANDLERS = {SOON: fire_soon, DUE: fire_due, RAISE: fire_raise}
