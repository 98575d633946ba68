"""The dedicated incident channel: its name, its creation, and the work that waits for it.

Slack creates the channel when the outbox delivers `conversations.create`; the dispatcher
records the new channel's id in that row (`result_channel`). Everything that needs the id —
recording it on the incident, inviting the reporter and whoever was paged so far, posting the
summary — is done by the timer `incident.channel_ready`, which looks at the create row: sent →
do it; failed with `name_taken` (a Slack channel of that name exists outside our records) →
try the next free name; still on its way → look again a little later (2s, 4s, 8s, 16s, then
every 30s, at most CHANNEL_CHECKS times); failed, or never delivered → post the summary in the
announce channel instead and tell governance.

Pinning needs the summary's `ts`, which the dispatcher passes to a dependent message only as
`ts`/`thread_ts` while `pins.add` wants `timestamp`; so pinning is one more follow-up timer,
`incident.pin_summary`, that reads the summary's row once it is sent and owes `pins.add` with
plain arguments (given up quietly if the summary never goes out: nothing to pin).

Names: `ai-inc-<yyyymmdd>-<slug>` with the date in the playbook's time zone and the slug from
the title (lower-case a-z, 0-9 and dashes), at most 80 characters, and `-2`, `-3` … appended
against names other incidents already hold (a unique column, so two incidents opened at once
never get one name).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models.incident import Incident
from models.outbox import FAILED, SENT
from models.timer import Timer
from services import outbox

from . import record
from .queries import for_timer, paged_users
from .views import incident_view

log = logging.getLogger(__name__)

PREFIX = "ai-inc"
NAME_MAX = 80  # Slack's limit for a channel name
CHANNEL_CHECKS = 12  # about four and a half minutes of looking
PIN_CHECKS = 12
RENAMES = 3


def slug(title: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def channel_name(day: date, title: str, number: int = 1) -> str:
    """The channel name for the `number`-th incident of that title on that day (1: no suffix)."""
    base = f"{PREFIX}-{day:%Y%m%d}"
    suffix = f"-{number}" if number > 1 else ""
    room = NAME_MAX - len(base) - 1 - len(suffix)
    text = slug(title)[:room].strip("-") or "incident"
    return f"{base}-{text}{suffix}"


def taken_names(session: Session, day: date) -> set[str]:
    prefix = f"{PREFIX}-{day:%Y%m%d}-"
    return set(session.exec(
        select(Incident.channel_name).where(col(Incident.channel_name).startswith(prefix))
    ).all())


def free_name(session: Session, day: date, title: str, *, skip: set[str] | frozenset[str] = frozenset()) -> str:
    """The first name for `title` on `day` that no incident holds (nor is in `skip`)."""
    taken = taken_names(session, day) | set(skip)
    number = 1
    while (name := channel_name(day, title, number)) in taken:
        number += 1
    return name


def request_channel(session: Session, incident: Incident, *, now: datetime, number: int = 1,
                    renames: int = 0) -> None:
    """Owe Slack the channel's creation and look for it shortly."""
    create_key = record.call(session, incident, suffix=f"channel:{number}", method="conversations.create",
                             args={"name": incident.channel_name, "is_private": False}, now=now)
    record.schedule(session, kind=record.CHANNEL_READY, ref=record.ref(incident),
                    due_at=now + record.retry_delay(1), now=now,
                    payload={"attempt": 1, "create_key": create_key, "renames": renames})


def _incident_for(session: Session, timer: Timer) -> Incident | None:
    incident = for_timer(session, timer.ref)
    if incident is None:
        log.warning("timer %s for unknown incident %r", timer.kind, timer.ref)
    return incident


def fire_channel_ready(session: Session, timer: Timer, now: datetime) -> None:
    incident = _incident_for(session, timer)
    if incident is None or incident.channel is not None or incident.summary_key is not None:
        return  # set up already (or fallen back)
    payload: dict[str, Any] = timer.payload or {}
    attempt = int(payload.get("attempt", 1))
    renames = int(payload.get("renames", 0))
    create = outbox.parent_result(session, payload.get("create_key"))
    if create is None:
        _fall_back(session, incident, now=now, reason="the channel was never requested")
    elif create.status == SENT and create.result_channel:
        _ready(session, incident, channel=create.result_channel, now=now)
    elif create.status == FAILED:
        error = create.last_error or "unknown error"
        if "name_taken" in error and renames < RENAMES:
            _rename(session, incident, now=now, renames=renames + 1)
        else:
            _fall_back(session, incident, now=now, reason=f"Slack refused to create it: {error}")
    elif attempt < CHANNEL_CHECKS:
        record.schedule(session, kind=record.CHANNEL_READY, ref=record.ref(incident),
                        due_at=now + record.retry_delay(attempt + 1), now=now,
                        payload={**payload, "attempt": attempt + 1})
    else:
        _fall_back(session, incident, now=now,
                   reason=f"Slack had not created it after {CHANNEL_CHECKS} checks")


def _ready(session: Session, incident: Incident, *, channel: str, now: datetime) -> None:
    incident.channel = channel
    record.touch(incident, now)
    session.add(incident)
    session.flush()
    invited = list(dict.fromkeys([incident.reporter, *paged_users(session, incident)]))
    record.log(session, incident, now=now, actor=record.SYSTEM_ACTOR, action="incident.channel_created",
               channel=channel, name=incident.channel_name, invited=invited)
    record.call(session, incident, suffix="invite", method="conversations.invite", channel=channel,
                args={"channel": channel, "users": ",".join(invited), "force": True}, now=now)
    view = incident_view(session, incident)
    record.post_summary(session, incident, view, channel=channel, now=now)
    session.add(incident)
    happened = record.event("channel_created", actor=None, now=now, channel=channel)
    record.update_message(session, incident, view, of=record.announce_key(incident),
                          channel=record.governance(incident), template=record.T_ANNOUNCEMENT,
                          event=happened, now=now)
    record.schedule(session, kind=record.PIN_SUMMARY, ref=record.ref(incident),
                    due_at=now + record.retry_delay(1), now=now, payload={"attempt": 1})


def _rename(session: Session, incident: Incident, *, now: datetime, renames: int) -> None:
    taken = incident.channel_name
    day = incident.opened_at.astimezone(ZoneInfo(incident.roster["timezone"])).date()
    incident.channel_name = free_name(session, day, incident.title, skip={taken} if taken else set())
    record.touch(incident, now)
    session.add(incident)
    session.flush()
    record.log(session, incident, now=now, actor=record.SYSTEM_ACTOR, action="incident.channel_renamed",
               taken=taken, name=incident.channel_name)
    request_channel(session, incident, now=now, number=renames + 1, renames=renames)


def _fall_back(session: Session, incident: Incident, *, now: datetime, reason: str) -> None:
    name = incident.channel_name
    incident.channel_name = None
    record.touch(incident, now)
    session.add(incident)
    session.flush()
    record.log(session, incident, now=now, actor=record.SYSTEM_ACTOR, action="incident.channel_failed",
               name=name, reason=reason)
    view = incident_view(session, incident)
    record.post_summary(session, incident, view, channel=incident.announce_channel, now=now)
    session.add(incident)
    record.post(session, incident, view, suffix="channel-failed", template=record.T_NOTICE,
                channel=record.governance(incident),
                event=record.event("channel_failed", actor=None, now=now, name=name, reason=reason), now=now)


def fire_pin_summary(session: Session, timer: Timer, now: datetime) -> None:
    incident = _incident_for(session, timer)
    if incident is None or incident.channel is None or incident.summary_key is None:
        return
    attempt = int((timer.payload or {}).get("attempt", 1))
    summary = outbox.parent_result(session, incident.summary_key)
    if summary is not None and summary.status == SENT and summary.result_ts:
        record.call(session, incident, suffix="pin", method="pins.add", channel=incident.channel,
                    args={"channel": summary.result_channel or incident.channel, "timestamp": summary.result_ts},
                    now=now)
    elif summary is None or summary.status == FAILED:
        log.warning("incident %s: the summary was not posted; nothing to pin", incident.id)
    elif attempt < PIN_CHECKS:
        record.schedule(session, kind=record.PIN_SUMMARY, ref=record.ref(incident),
                        due_at=now + record.retry_delay(attempt + 1), now=now, payload={"attempt": attempt + 1})
