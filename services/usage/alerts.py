"""Usage alerts: raised once per rule, key and day; acknowledged or turned into an AI incident.

Raising inserts under the unique (rule, key, day): whichever watcher inserts first owes the
alert channel its message and writes `usage.alert_raised`, in its own transaction; any other
finds the row there and owes nothing. Acknowledge and Open incident are compare-and-sets on
`status` (open → acknowledged; open or acknowledged → incident), so of two clicks at once one
wins and the other is told who was first. Every click on an alert is audited, the refused
ones too.

Outbox keys: `usage_alert:<id>` (the message, chat.postMessage to the alert channel) and
`usage_alert:<id>:<status>` (its chat.update after a decision). Payloads are `view(...)`,
rendered by blocks/usage_alerts.py.

An incident opened from an alert takes the playbook's least severe severity — the last one the
playbook lists, as playbooks list them from most to least severe — and the clicker is told so; its
description is the alert's evidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

import escalation
from blocks.text import mention
from models.usage import UsageAlert
from services import audit, outbox
from services.playbook.loader import LoadedPlaybook
from services.playbook.schema import Playbook
from services.usage.rules import Candidate
from services.wallclock import local_time, zone

ENTITY = "usage_alert"
T_ALERT = "usage_alert"
SYSTEM_ACTOR = "countersign"
OPEN, ACKNOWLEDGED, INCIDENT = "open", "acknowledged", "incident"
ACKNOWLEDGE, OPEN_INCIDENT = "acknowledge", "open_incident"
TITLE_MAX = 150  # escalation's
DESCRIPTION_MAX = 3000
AFFECTED_MAX = 200
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def channel_of(pb: Playbook) -> str:
    return pb.channels.resolve(pb.usage.channel) or pb.channels.governance


def message_key(alert_id: int) -> str:
    return f"usage_alert:{alert_id}"


def view(alert: UsageAlert, *, timezone: str) -> dict[str, Any]:
    """What the alert's message shows (the outbox payload)."""
    return {"id": alert.id, "rule": alert.rule, "key": alert.key, "day": alert.day,
            "summary": alert.summary, "evidence": alert.evidence, "status": alert.status,
            "decided_by": alert.decided_by,
            "decided_at": alert.decided_at.isoformat() if alert.decided_at else None,
            "incident_id": alert.incident_id, "raised_at": alert.raised_at.isoformat(),
            "timezone": timezone}


def raise_alert(session: Session, candidate: Candidate, *, now: datetime,
                playbook: Playbook) -> UsageAlert | None:
    """The alert, if this call raised it; None when it was raised already (by this watcher
    earlier that day, or by another at the same moment)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = {"rule": candidate.rule, "key": candidate.key, "day": candidate.day, "raised_at": now,
              "status": OPEN, "summary": candidate.summary, "evidence": candidate.evidence}
    stmt = (insert(UsageAlert).values(**values)
            .on_conflict_do_nothing(index_elements=["rule", "key", "day"]).returning(UsageAlert.id))
    alert_id = session.connection().execute(stmt).scalar()
    if alert_id is None:
        return None
    alert = UsageAlert(id=alert_id, **values)
    channel = channel_of(playbook)
    outbox.owe(session, key=message_key(alert_id), method="chat.postMessage", channel=channel,
               template=T_ALERT, payload=view(alert, timezone=playbook.timezone), now=now)
    audit.append(session, at=now, actor=SYSTEM_ACTOR, action="usage.alert_raised",
                 entity_type=ENTITY, entity_id=str(alert_id),
                 payload={"rule": candidate.rule, "key": candidate.key, "day": candidate.day,
                          "channel": channel, "summary": candidate.summary,
                          "evidence": candidate.evidence})
    return alert


@dataclass(frozen=True)
class Decision:
    """What became of a click. `outcome`: acknowledged · incident (the change happened) ·
    already (someone decided first: `message` says who and when) · unknown (no such alert) ·
    refused (nothing to open an incident with)."""

    outcome: str
    message: str  # mrkdwn for the person who clicked
    alert_id: int
    incident_id: int | None = None


def _log(session: Session, alert_id: int, *, now: datetime, actor: str, action: str,
         **payload: Any) -> None:
    audit.append(session, at=now, actor=actor, action=action, entity_type=ENTITY,
                 entity_id=str(alert_id), payload=payload)


def _take(session: Session, alert_id: int, *, user: str, now: datetime, to: str,
          from_: Sequence[str]) -> tuple[bool, UsageAlert | None]:
    won = session.exec(
        update(UsageAlert).where(col(UsageAlert.id) == alert_id, col(UsageAlert.status).in_(from_))
        .values(status=to, decided_by=user, decided_at=now).returning(UsageAlert.id)
    ).first() is not None
    return won, session.get(UsageAlert, alert_id, populate_existing=True)


def _when(moment: datetime | None, pb: Playbook) -> str:
    return local_time(moment, zone(pb.timezone)) if moment is not None else "earlier"


def _already(session: Session, alert: UsageAlert, *, user: str, now: datetime, attempted: str,
             pb: Playbook) -> Decision:
    _log(session, alert.id or 0, now=now, actor=user, action="usage.alert_already_decided",
         attempted=attempted, status=alert.status, decided_by=alert.decided_by)
    if alert.status == INCIDENT:
        done = f"already opened AI incident #{alert.incident_id} for this alert"
    else:
        done = "already acknowledged this alert"
    return Decision("already", f"{mention(alert.decided_by, 'someone')} {done} at "
                               f"{_when(alert.decided_at, pb)}.", alert.id or 0, alert.incident_id)


def _unknown(alert_id: int) -> Decision:
    # Not audited: no alert of ours carries this id, so no button we made sent it (a refused
    # request writes nothing, as everywhere else).
    return Decision("unknown", f"There is no usage alert #{alert_id}.", alert_id)


def _update_message(session: Session, alert: UsageAlert, *, now: datetime, pb: Playbook) -> None:
    outbox.owe(session, key=f"{message_key(alert.id or 0)}:{alert.status}", method="chat.update",
               channel=channel_of(pb), template=T_ALERT, update_of=message_key(alert.id or 0),
               payload=view(alert, timezone=pb.timezone), now=now)


def acknowledge(session: Session, *, alert_id: int, user: str, now: datetime,
                playbook: Playbook) -> Decision:
    won, alert = _take(session, alert_id, user=user, now=now, to=ACKNOWLEDGED, from_=(OPEN,))
    if alert is None:
        return _unknown(alert_id)
    if not won:
        return _already(session, alert, user=user, now=now, attempted=ACKNOWLEDGE, pb=playbook)
    _log(session, alert_id, now=now, actor=user, action="usage.alert_acknowledged",
         rule=alert.rule, key=alert.key, day=alert.day)
    _update_message(session, alert, now=now, pb=playbook)
    return Decision(ACKNOWLEDGED, "You acknowledged this usage alert; the message now says so.",
                    alert_id)


def least_severe(pb: Playbook) -> str | None:
    return next(reversed(pb.escalation.severities), None)


def _clean(text: str) -> str:
    return _CONTROL.sub("?", text)


def _names(evidence: Mapping[str, Any], name: str) -> str:
    shown = list(evidence.get(name) or [])
    more = (evidence.get("more") or {}).get(name)
    return (", ".join(shown) or "unknown") + (f" and {more} more" if more else "")


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in sorted(value.items()))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def incident_text(alert: UsageAlert, pb: Playbook) -> tuple[str, str, str | None]:
    """The incident's title, description and affected use case or model, from the alert."""
    ev = alert.evidence or {}
    tz = zone(pb.timezone)

    def at(name: str) -> str:
        iso = ev.get(name)
        return local_time(datetime.fromisoformat(iso), tz) if iso else "unknown"

    lines = [
        f"Raised by Countersign's AI usage watch: rule {alert.rule}, day {alert.day}, "
        f"usage alert #{alert.id}.",
        f"What: {alert.summary}",
        f"Who: services {_names(ev, 'services')}; people {_names(ev, 'people')}",
        f"Models: {_names(ev, 'models')} (providers: {_names(ev, 'providers')})",
        f"Use cases: {_names(ev, 'use_cases')}",
        f"Calls: {ev.get('events', 0)}, first seen {at('first_seen')}, last seen {at('last_seen')}",
    ]
    details = {k: v for k, v in ev.items() if k not in (
        "services", "people", "models", "providers", "use_cases", "events", "first_seen",
        "last_seen", "more")}
    if details:
        lines.append("Details: " + "; ".join(f"{k}: {_plain(v)}" for k, v in sorted(details.items())))
    description = _clean("\n".join(lines))
    if len(description) > DESCRIPTION_MAX:
        description = description[:DESCRIPTION_MAX - 1] + "…"
    title = _clean(f"AI usage: {alert.summary}")
    if len(title) > TITLE_MAX:
        title = title[:TITLE_MAX - 1] + "…"
    use_cases, models = ev.get("use_cases") or [], ev.get("models") or []
    affected = (use_cases[0] if len(use_cases) == 1 else models[0] if len(models) == 1 else None)
    return title, description, _clean(affected)[:AFFECTED_MAX] if affected else None


def open_incident(session: Session, *, alert_id: int, user: str, now: datetime,
                  playbook: LoadedPlaybook,
                  group_members: Mapping[str, Sequence[str]] | None = None) -> Decision:
    pb = playbook.playbook
    severity = least_severe(pb)
    if severity is None:
        if session.get(UsageAlert, alert_id) is None:
            return _unknown(alert_id)
        _log(session, alert_id, now=now, actor=user, action="usage.alert_refused",
             attempted=OPEN_INCIDENT, reason="the playbook defines no severities")
        return Decision("refused", "The playbook defines no incident severities "
                                   "(`escalation.severities`), so no incident can be opened.",
                        alert_id)
    won, alert = _take(session, alert_id, user=user, now=now, to=INCIDENT,
                       from_=(OPEN, ACKNOWLEDGED))
    if alert is None:
        return _unknown(alert_id)
    if not won:
        return _already(session, alert, user=user, now=now, attempted=OPEN_INCIDENT, pb=pb)
    title, description, affected = incident_text(alert, pb)
    incident = escalation.open_incident(
        session, playbook=playbook, severity=severity, title=title, reporter=user, now=now,
        category="data_exposure" if alert.rule == "personal_data" else "other",
        description=description, affected=affected, group_members=group_members)
    alert.incident_id = incident.id
    session.add(alert)
    session.flush()
    _log(session, alert_id, now=now, actor=user, action="usage.alert_incident_opened",
         rule=alert.rule, key=alert.key, day=alert.day, incident_id=incident.id, severity=severity)
    _update_message(session, alert, now=now, pb=pb)
    return Decision(INCIDENT, f"AI incident #{incident.id} is open with severity {severity} (the "
                              "playbook's least severe); on-call is being paged.",
                    alert_id, incident.id)
