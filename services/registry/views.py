"""Records as plain dicts for every surface (Slack, CLI, export), and the lists people ask for.

Each list is one query with a limit, plus one query for the vendor flags of the page shown:
the cost of a page never grows with the size of the registry (no per-row queries).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import String, cast, func, or_
from sqlmodel import Session, col, select

from models.registry import (
    IN_USE,
    RETIRED,
    REVIEWED,
    USECASE,
    VENDOR,
    UseCase,
    UseCaseVendor,
    Vendor,
)

from services.wallclock import days_until, local_day, zone_name

from . import fields
from .lookup import LINK_FIELD, MODELS, Record, linked_ids, nudge_recipient, ref

DEFAULT_SOON = timedelta(days=7)
FILTERS = ("all", "mine", "stale", "due", "mine_due")


def due_state(kind: str, record: Record, *, now: datetime, soon: timedelta = DEFAULT_SOON) -> str:
    if kind == USECASE and record.status == RETIRED:
        return "retired"
    if record.next_review_at <= now:
        return "overdue"
    if record.next_review_at - soon <= now:
        return "due_soon"
    return "current"


def record_summary(session: Session, kind: str, record: Record, *, now: datetime,
                   soon: timedelta = DEFAULT_SOON, flags: list[dict[str, Any]] | None = None,
                   tz: tzinfo = UTC) -> dict[str, Any]:
    """The few facts every list, nudge and digest line shows. `flags` (use cases) when known.
    `tz`, the playbook's zone: the days it names (`*_on`, `days_to_review`) are its calendar's."""
    summary = {
        "kind": kind, "id": record.id, "ref": ref(kind, record.id),
        "title": record.title if kind == USECASE else record.name,
        "owner": nudge_recipient(kind, record),
        "status": record.status if kind == USECASE else record.review_status,
        "risk": record.risk_tier if kind == USECASE else record.risk_level,
        "next_review_at": record.next_review_at.isoformat(),
        "last_reviewed_at": record.last_reviewed_at.isoformat() if record.last_reviewed_at else None,
        "last_reviewed_by": record.last_reviewed_by,
        "next_review_on": local_day(record.next_review_at, tz).isoformat(),
        "last_reviewed_on": local_day(record.last_reviewed_at, tz).isoformat() if record.last_reviewed_at else None,
        "timezone": zone_name(tz),
        "due_state": due_state(kind, record, now=now, soon=soon),
        # By the calendar: 15 days past the review date is 15 days overdue at any hour.
        "days_to_review": days_until(record.next_review_at, now, tz),
        "snoozes": record.snoozes,
    }
    if kind == USECASE:
        summary["flags"] = flags if flags is not None else vendor_flags(session, [record.id]).get(record.id, [])
    return summary


def record_view(session: Session, kind: str, record: Record, *, now: datetime,
                soon: timedelta = DEFAULT_SOON, history: list[Any] = (), tz: tzinfo = UTC) -> dict[str, Any]:
    """Everything on the record, for `show`, the edit form and the export."""
    view = record_summary(session, kind, record, now=now, soon=soon, tz=tz)
    for spec in fields.FIELDS[kind]:
        if spec.kind == fields.LINKS or spec.name == "next_review":
            continue
        view[spec.name] = getattr(record, spec.name)
    links = linked_ids(session, kind, record.id)
    other = MODELS[VENDOR if kind == USECASE else USECASE]
    label = other.name if kind == USECASE else other.title
    rows = session.exec(select(other.id, label, _status_col(other)).where(col(other.id).in_(links))
                        .order_by(other.id)).all() if links else []
    view[LINK_FIELD[kind]] = [{"id": i, "ref": ref(VENDOR if kind == USECASE else USECASE, i),
                               "title": t, "status": s} for i, t, s in rows]
    view.update({"created_by": record.created_by, "created_at": record.created_at.isoformat(),
                 "updated_at": record.updated_at.isoformat(), "state_version": record.state_version})
    view["history"] = [{"field": c.field, "old": c.old, "new": c.new, "by": c.by, "at": c.at.isoformat()}
                       for c in history]
    return view


def _status_col(model: type[UseCase | Vendor]):
    return model.status if model is UseCase else model.review_status


def vendor_flags(session: Session, use_case_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """For each use case, the vendors it names that are not (yet) reviewed: one query."""
    if not use_case_ids:
        return {}
    rows = session.exec(
        select(UseCaseVendor.use_case_id, Vendor.id, Vendor.name, Vendor.review_status)
        .join(Vendor, col(Vendor.id) == UseCaseVendor.vendor_id)
        .where(col(UseCaseVendor.use_case_id).in_(use_case_ids), Vendor.review_status != REVIEWED)
        .order_by(Vendor.id)
    ).all()
    flags: dict[int, list[dict[str, Any]]] = {}
    for use_case_id, vendor_id, name, status in rows:
        flags.setdefault(use_case_id, []).append(
            {"vendor_id": vendor_id, "ref": ref(VENDOR, vendor_id), "name": name, "review_status": status})
    return flags


def kept_by(kind: str, user: str):
    if kind == USECASE:
        # Contributors are a JSON list of user IDs; IDs are letters and digits only, so a quoted
        # match in its text form is exact on SQLite and PostgreSQL alike.
        return or_(UseCase.owner == user, cast(UseCase.contributors, String).like(f'%"{user}"%'))
    return or_(Vendor.assignee == user, Vendor.reviewer == user)


def _filtered(kind: str, which: str, *, user: str | None, now: datetime, soon: timedelta):
    model = MODELS[kind]
    query = select(model)
    if kind == USECASE and which in ("mine", "stale", "due", "mine_due"):
        query = query.where(col(UseCase.status).in_(IN_USE))
    if which in ("mine", "mine_due") and user:
        query = query.where(kept_by(kind, user))
    if which == "stale":
        query = query.where(model.next_review_at <= now)
    elif which in ("due", "mine_due"):
        query = query.where(model.next_review_at <= now + soon)
    elif which not in ("all", "mine"):
        query = query.where(_status_col(model) == which)
    return query


def list_records(session: Session, kind: str, *, which: str = "all", user: str | None = None,
                 now: datetime, soon: timedelta = DEFAULT_SOON, limit: int = 20,
                 offset: int = 0, tz: tzinfo = UTC) -> tuple[list[dict[str, Any]], int]:
    """A page of summaries (most pressing review first) and how many match in all."""
    model = MODELS[kind]
    query = _filtered(kind, which, user=user, now=now, soon=soon)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(model.next_review_at, model.id).limit(limit).offset(offset)).all()
    flags = vendor_flags(session, [r.id for r in rows]) if kind == USECASE else {}
    return [record_summary(session, kind, r, now=now, soon=soon, flags=flags.get(r.id, []), tz=tz)
            for r in rows], total


def soonest_first(summary: dict[str, Any]) -> tuple[str, int, int]:
    """The order of the per-kind queries (review date, then id), use cases before vendors on
    a shared date — so pages cut from a merged list neither repeat nor skip a record."""
    return summary["next_review_at"], summary["kind"] != USECASE, summary["id"]


def due_for(session: Session, *, user: str, now: datetime, soon: timedelta = DEFAULT_SOON,
            limit: int = 10, offset: int = 0, tz: tzinfo = UTC) -> tuple[list[dict[str, Any]], int]:
    """Use cases and vendors `user` keeps whose review is due soon or overdue, soonest first."""
    pages: list[dict[str, Any]] = []
    total = 0
    for kind in (USECASE, VENDOR):
        page, count = list_records(session, kind, which="mine_due", user=user, now=now, soon=soon,
                                   limit=limit + offset, tz=tz)
        pages += page
        total += count
    pages.sort(key=soonest_first)
    return pages[offset:offset + limit], total


def reviewing(session: Session, *, user: str, now: datetime, soon: timedelta = DEFAULT_SOON,
              limit: int = 10, offset: int = 0, tz: tzinfo = UTC) -> tuple[list[dict[str, Any]], int]:
    """Vendors whose review `user` signs off and that are not reviewed, soonest first."""
    query = select(Vendor).where(Vendor.reviewer == user,
                                 or_(Vendor.review_status != REVIEWED, Vendor.next_review_at <= now + soon))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Vendor.next_review_at, Vendor.id).limit(limit).offset(offset)).all()
    return [record_summary(session, VENDOR, r, now=now, soon=soon, tz=tz) for r in rows], total


def search(session: Session, kind: str, query: str, *, limit: int = 100) -> list[tuple[int, str]]:
    """(id, label) of records whose number or title matches `query`, newest first: what a
    form's search box offers once there are too many records to list."""
    model = MODELS[kind]
    label = model.title if kind == USECASE else model.name
    text = query.strip()
    if "\x00" in text:
        # No stored text holds a NUL (the inputs refuse it), and PostgreSQL refuses one in a query.
        return []
    number = text.upper().removeprefix("UC-").removeprefix("V-").removeprefix("#")
    matches = func.lower(label).contains(text.lower(), autoescape=True)
    if number.isdigit() and len(number) <= 9:
        matches = or_(matches, model.id == int(number))
    rows = session.exec(select(model.id, label).where(matches).order_by(col(model.id).desc()).limit(limit)).all()
    return [(i, f"{ref(kind, i)} {t}") for i, t in rows]


def choices(session: Session, kind: str, *, limit: int = 100) -> list[tuple[int, str]]:
    """(id, label) of records a form may link to, newest first (Slack lists at most 100)."""
    model = MODELS[kind]
    label = model.title if kind == USECASE else model.name
    query = select(model.id, label).order_by(col(model.id).desc()).limit(limit)
    if kind == USECASE:
        query = query.where(col(UseCase.status).in_(IN_USE))
    return [(i, f"{ref(kind, i)} {t}") for i, t in session.exec(query).all()]
