"""Opening an incident: validate everything first, then one transaction writes it all.

What opening owes, in that transaction: the incident (its chain and roster frozen), the audit
event `incident.opened`, a one-line announcement in the governance channel (always), and
either the dedicated channel's creation (severity with `incident_channel`; see channel.py) or
the summary in the announce channel (incidents, else governance); the first step's timer due
now (step 1 of round 1 fires at once) and, when the severity has `update_every`, the first
status-update reminder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from blocks.text import escape
from models.incident import CATEGORIES, OPEN, Incident
from services.inputs import check_text
from services.playbook.loader import LoadedPlaybook
from services.playbook.snapshot import UnknownName, escalation_chain

from . import record, roster
from .channel import free_name, request_channel
from .engine import FIRST
from .errors import IncidentInputError
from .limits import AFFECTED_MAX, DESCRIPTION_MAX, PERMALINK_MAX, TITLE_MAX
from .views import incident_view

GroupMembers = Mapping[str, Sequence[str]]

NAME_ATTEMPTS = 20  # each failed attempt means another incident just took that name


def open_incident(
    session: Session,
    *,
    playbook: LoadedPlaybook,
    severity: str,
    title: str,
    reporter: str,
    now: datetime,
    category: str = "other",
    description: str = "",
    source_permalink: str | None = None,
    affected: str | None = None,
    group_members: GroupMembers | None = None,
) -> Incident:
    """Record a new incident and start its escalation (see the module doc).

    `group_members` resolves the playbook's groups now (Slack user groups through
    usergroups.users.list); a group missing from it has its static members (a user group
    nobody resolved has none, and its step is skipped with governance told).
    Raises IncidentInputError naming every bad field before anything is written.
    """
    pb = playbook.playbook
    errors: dict[str, str] = {}
    chain = None
    try:
        chain = escalation_chain(pb, (severity or "").strip())
    except UnknownName as unknown:
        known = ", ".join(unknown.known) or "none (the playbook defines no severities)"
        errors["severity"] = f"'{escape(severity, 100)}' is not a severity in the playbook; use one of: {known}."
    title_text = check_text(errors, "title", "The title", title, TITLE_MAX,
                            required="say in a few words what went wrong")
    description_text = check_text(errors, "description", "The description", description, DESCRIPTION_MAX) or ""
    if category not in CATEGORIES:
        errors["category"] = f"'{escape(category, 100)}' is not a category; use one of: {', '.join(CATEGORIES)}."
    permalink = check_text(errors, "source_permalink", "The message link", source_permalink, PERMALINK_MAX)
    affected_text = check_text(errors, "affected", "The affected use case or vendor", affected, AFFECTED_MAX)
    if not (reporter or "").strip():
        errors["reporter"] = "The reporter is missing: the Slack user ID of whoever reports the incident."
    if errors or chain is None:
        raise IncidentInputError.collect(errors)

    incident = Incident(
        severity=chain.severity,
        title=title_text or "",
        category=category,
        description=description_text,
        reporter=reporter.strip(),
        source_permalink=permalink,
        affected=affected_text,
        status=OPEN,
        chain=chain.model_dump(mode="json"),
        roster=roster.take(pb, chain, group_members),
        playbook_hash=playbook.content_hash,
        playbook_version=playbook.version,
        announce_channel=chain.announce_channel,
        opened_at=now,
        updated_at=now,
    )
    _insert(session, incident, day=now.astimezone(pb.tz).date() if chain.incident_channel else None)

    record.log(session, incident, now=now, actor=incident.reporter, action="incident.opened",
               severity=incident.severity, title=incident.title, category=incident.category,
               policy=chain.policy, channel_name=incident.channel_name, affected=incident.affected,
               source_permalink=incident.source_permalink, playbook_hash=incident.playbook_hash)
    view = incident_view(session, incident)
    opened = record.event("opened", actor=incident.reporter, now=now)
    record.post(session, incident, view, suffix="announce", template=record.T_ANNOUNCEMENT,
                channel=record.governance(incident), event=opened, now=now)
    if chain.incident_channel:
        request_channel(session, incident, now=now)
    else:
        record.post_summary(session, incident, view, channel=incident.announce_channel, now=now)
    record.schedule_step(session, incident, due_at=now, now=now, round=FIRST.round, step=FIRST.step)
    if chain.update_every:
        record.schedule_reminder(session, incident, due_at=now + chain.update_every, now=now)
    session.add(incident)
    session.flush()
    return incident


def _insert(session: Session, incident: Incident, *, day: date | None) -> None:
    """Insert the incident; with a channel to create, under the first free channel name.

    The name column is unique: an incident opened at the same moment with the same title (on
    another process) makes this flush fail, and we take the next name.
    """
    if day is None:
        session.add(incident)
        session.flush()
        return
    tried: set[str] = set()
    for _ in range(NAME_ATTEMPTS):
        incident.channel_name = free_name(session, day, incident.title, skip=tried)
        try:
            with session.begin_nested():
                session.add(incident)
                session.flush()
            return
        except IntegrityError:
            tried.add(incident.channel_name)
            if incident in session:  # the savepoint's rollback normally expunges it already
                session.expunge(incident)
    raise RuntimeError(f"could not find a free channel name for '{incident.title}'")
