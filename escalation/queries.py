"""Reading incidents: by id (locked for a state change, or not), their pages, the open ones."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from models.incident import ACTIVE_STATUSES, Incident, IncidentPage

from .errors import UnknownIncident


def get(session: Session, incident_id: int) -> Incident | None:
    """The incident, or None (no lock: for reading and rendering)."""
    return session.get(Incident, incident_id)


def get_incident(session: Session, incident_id: int) -> Incident:
    """The incident, or UnknownIncident (an IncidentInputError with field "incident_id")."""
    incident = get(session, incident_id)
    if incident is None:
        raise UnknownIncident(incident_id)
    return incident


def lock(session: Session, incident_id: int) -> Incident:
    """The incident, its row locked until the transaction ends; fresh from the database."""
    incident = session.get(Incident, incident_id, with_for_update=True, populate_existing=True)
    if incident is None:
        raise UnknownIncident(incident_id)
    return incident


def pages_of(session: Session, incident: Incident, run: int | None = None) -> list[IncidentPage]:
    """The incident's pages in the order they happened; only run `run`'s when given."""
    query = select(IncidentPage).where(IncidentPage.incident_id == incident.id)
    if run is not None:
        query = query.where(IncidentPage.run == run)
    return list(session.exec(query.order_by(col(IncidentPage.id))).all())


def paged_users(session: Session, incident: Incident) -> list[str]:
    """Everyone paged for this incident in any run, in the order first paged."""
    users = session.exec(
        select(IncidentPage.user).where(IncidentPage.incident_id == incident.id,
                                        col(IncidentPage.user).is_not(None))
        .order_by(col(IncidentPage.id))
    ).all()
    return list(dict.fromkeys(u for u in users if u))


def paged_channels(session: Session, incident: Incident) -> list[str]:
    """Channels paged for this incident (channel targets) in any run."""
    channels = session.exec(
        select(IncidentPage.recipient).where(IncidentPage.incident_id == incident.id,
                                             col(IncidentPage.user).is_(None))
    ).all()
    return list(dict.fromkeys(channels))


def open_incidents(session: Session, *, limit: int = 50) -> list[Incident]:
    """Incidents not yet resolved, newest first."""
    return list(session.exec(
        select(Incident).where(col(Incident.status).in_(ACTIVE_STATUSES))
        .order_by(col(Incident.id).desc()).limit(limit)
    ).all())


def open_incident_page(session: Session, *, limit: int, offset: int = 0) -> tuple[list[dict], int]:
    """A page of unresolved incidents, oldest first, as plain dicts; and how many in all."""
    query = select(Incident).where(col(Incident.status).in_(ACTIVE_STATUSES))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Incident.opened_at, Incident.id).limit(limit).offset(offset)).all()
    return [{"id": i.id, "title": i.title, "severity": i.severity, "status": i.status,
             "channel": i.channel or i.announce_channel, "acknowledged_by": i.acknowledged_by,
             "opened_at": i.opened_at.isoformat()} for i in rows], total


def for_timer(session: Session, ref: str) -> Incident | None:
    """The incident a timer ref (`incident:{id}` or `incident:{id}:run:{n}`) names, locked;
    None if there is no such incident (logged by the caller)."""
    try:
        return lock(session, int(ref.split(":")[1]))
    except (UnknownIncident, ValueError, IndexError):
        return None


def by_channel(session: Session, channel: str | None) -> Incident | None:
    """The incident whose dedicated channel is `channel` (the latest, should there be several)."""
    if not channel:
        return None
    return session.exec(
        select(Incident).where(Incident.channel == channel).order_by(col(Incident.id).desc()).limit(1)
    ).first()
