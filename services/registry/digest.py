"""The weekly reminder digest: what it says, and the row that makes it happen once a week.

`build` gathers each section as (a page of items, the total): sign-offs waiting (oldest first,
with age and who still holds them), records due or overdue (soonest first, with owners),
vendors needing review, use cases flagged for their vendors, open incidents, counts of
what changed since a week before, and (the team's only) the week's AI usage. Every section is one bounded query plus, at most, one query
for the page shown, so a digest costs the same with 100 records or 100,000.

`claim` inserts the (scope, week) row under its unique constraint: the process whose insert
succeeds sends; any other finds the row and stays quiet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from escalation.queries import open_incident_page
from models.approval import PENDING, ApprovalRequest, ApprovalVote
from models.audit import AuditEvent
from models.registry import (
    IN_USE,
    REVIEWED,
    USECASE,
    VENDOR,
    DigestRun,
    DigestSubscriber,
    UseCase,
    UseCaseVendor,
    Vendor,
)
from services import audit
from services.approvals.policy import approver_users, policy_of
from services.approvals.queries import decidable_ids
from services.playbook.schema import Usage
from services.rows import insert_unless_exists
from services.usage import views as usage_views
from services.wallclock import zone_name

from .views import kept_by, list_records, record_summary, soonest_first, vendor_flags

T_DIGEST = "registry_digest"
ENTITY = "digest"
SECTION_LIMIT = 10

# Audit actions counted under "since last week", in the order shown.
CHANGES: tuple[tuple[str, str], ...] = (
    ("approval.requested", "sign-offs requested"),
    ("approval.approved", "sign-offs approved"),
    ("approval.rejected", "sign-offs rejected"),
    ("approval.expired", "sign-offs expired"),
    ("incident.opened", "incidents opened"),
    ("incident.resolved", "incidents resolved"),
    ("usecase.created", "use cases documented"),
    ("usecase.reviewed", "use cases reviewed"),
    ("usecase.retired", "use cases retired"),
    ("vendor.created", "vendors recorded"),
    ("vendor.reviewed", "vendor reviews signed off"),
)


def period_key(occurrence: datetime, tz: tzinfo, days_per_week: int) -> str:
    """The ISO week of a digest (2026-W48), or its ISO week date (2026-W48-1) when the
    schedule fires on several days of a week."""
    year, week, weekday = occurrence.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}" if days_per_week == 1 else f"{year}-W{week:02d}-{weekday}"


def claim(session: Session, *, scope: str, week: str, due_at: datetime, now: datetime) -> bool:
    """True for the one caller that owes this digest."""
    return insert_unless_exists(session, DigestRun, {"scope": scope, "week": week, "due_at": due_at,
                                                     "created_at": now}, unique=["scope", "week"])


def subscribers(session: Session) -> list[str]:
    return list(session.exec(select(DigestSubscriber.user).order_by(DigestSubscriber.user)).all())


def subscribe(session: Session, *, user: str, on: bool, now: datetime) -> bool:
    """Turn someone's personal digest on or off; True if that changed anything (and only then
    is it an event in the audit log)."""
    existing = session.get(DigestSubscriber, user)
    changed = False
    if on and existing is None:
        changed = insert_unless_exists(session, DigestSubscriber, {"user": user, "since": now}, unique=["user"])
    elif not on and existing is not None:
        session.delete(existing)
        session.flush()  # so asking again in this transaction finds it gone
        changed = True
    if changed:
        audit.append(session, at=now, actor=user, action="digest.subscribed" if on else "digest.unsubscribed",
                     entity_type=ENTITY, entity_id=personal_scope(user), payload={})
    return changed


def personal_scope(user: str) -> str:
    """The scope of someone's personal digest: its claim rows and its audit entity."""
    return f"user:{user}"


def build(session: Session, *, now: datetime, soon: timedelta,
          group_members: Mapping[str, Sequence[str]] | None = None,
          user: str | None = None, limit: int = SECTION_LIMIT, tz: tzinfo = UTC,
          usage: Usage | None = None) -> dict[str, Any]:
    """The digest's content. With `user`, only what concerns that person (a personal digest).
    `tz`: the playbook's zone, whose calendar counts the days and dates shown; `usage`: the
    playbook's attribution of AI calls (services/usage/views.py)."""
    digest = {
        "generated_at": now.isoformat(),
        "timezone": zone_name(tz),
        "personal": user,
        "waiting": _waiting(session, now=now, group_members=group_members, user=user, limit=limit),
        "due": _due(session, now=now, soon=soon, user=user, limit=limit, tz=tz),
        "vendors": _vendors(session, now=now, soon=soon, user=user, limit=limit, tz=tz),
        "flagged": _flagged(session, now=now, soon=soon, user=user, limit=limit, tz=tz),
        "incidents": _incidents(session, now=now, limit=limit) if user is None else _empty(),
        "changes": _changes(session, since=now - timedelta(days=7)) if user is None else [],
        # The team's only: whose AI calls these are is for the governance channel, not each DM.
        # A week is well inside USAGE_RETENTION, so raw events answer it.
        "usage": usage_views.week(session, since=now - timedelta(days=7), until=now, usage=usage, tz=tz)
        if user is None else None,
    }
    return digest


def _empty() -> dict[str, Any]:
    return {"total": 0, "items": []}


def _waiting(session: Session, *, now: datetime, group_members: Mapping[str, Sequence[str]] | None,
             user: str | None, limit: int) -> dict[str, Any]:
    query = select(ApprovalRequest).where(ApprovalRequest.status == PENDING)
    if user is None:
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        page = list(session.exec(query.order_by(ApprovalRequest.created_at, ApprovalRequest.id)
                                 .limit(limit)).all())
        votes = _voters(session, page)
        items = [_waiting_item(r, votes, group_members, now) for r in page]
        return {"total": total, "items": items}
    ids = decidable_ids(session, user=user, group_members=group_members or {})
    page = list(session.exec(query.where(col(ApprovalRequest.id).in_(ids[:limit]))
                             .order_by(ApprovalRequest.created_at, ApprovalRequest.id)).all()) if ids else []
    votes = _voters(session, page)
    return {"total": len(ids), "items": [_waiting_item(r, votes, group_members, now) for r in page]}


def _voters(session: Session, requests: list[ApprovalRequest]) -> dict[int, set[str]]:
    if not requests:
        return {}
    revision = {r.id: r.revision for r in requests}
    rows = session.exec(select(ApprovalVote.request_id, ApprovalVote.revision, ApprovalVote.user)
                        .where(col(ApprovalVote.request_id).in_(list(revision)),
                               col(ApprovalVote.dismissed).is_(False))).all()
    voted: dict[int, set[str]] = {}
    for request_id, rev, who in rows:
        if rev == revision[request_id]:
            voted.setdefault(request_id, set()).add(who)
    return voted


def _waiting_item(request: ApprovalRequest, votes: dict[int, set[str]],
                  group_members: Mapping[str, Sequence[str]] | None, now: datetime) -> dict[str, Any]:
    policy = policy_of(request)
    voted = votes.get(request.id, set())
    holders = [u for u in approver_users(policy, group_members) if u not in voted and u != request.requester]
    unresolved = [g.usergroup for g in policy.approvers
                  if g.usergroup and not (group_members and g.name in group_members)]
    return {"id": request.id, "title": request.title, "kind": request.kind, "audience": request.audience,
            "requester": request.requester, "channel": request.channel,
            "age_days": max(0, (now - request.created_at).days),
            "created_at": request.created_at.isoformat(),
            "holders": holders, "holder_groups": unresolved}


def _due(session: Session, *, now: datetime, soon: timedelta, user: str | None, limit: int,
         tz: tzinfo) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    total = 0
    for kind in (USECASE, VENDOR):
        page, count = list_records(session, kind, which="due" if user is None else "mine_due",
                                   user=user, now=now, soon=soon, limit=limit, tz=tz)
        items += page
        total += count
    items.sort(key=soonest_first)
    return {"total": total, "items": items[:limit]}


def _vendors(session: Session, *, now: datetime, soon: timedelta, user: str | None, limit: int,
             tz: tzinfo) -> dict[str, Any]:
    query = select(Vendor).where(Vendor.review_status != REVIEWED)
    if user is not None:
        query = query.where(or_(Vendor.reviewer == user, Vendor.assignee == user))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Vendor.created_at, Vendor.id).limit(limit)).all()
    return {"total": total, "items": [record_summary(session, VENDOR, v, now=now, soon=soon, tz=tz) for v in rows]}


def _flagged(session: Session, *, now: datetime, soon: timedelta, user: str | None, limit: int,
             tz: tzinfo) -> dict[str, Any]:
    flagged_ids = (select(UseCaseVendor.use_case_id)
                   .join(Vendor, col(Vendor.id) == UseCaseVendor.vendor_id)
                   .where(Vendor.review_status != REVIEWED))
    query = select(UseCase).where(col(UseCase.id).in_(flagged_ids), col(UseCase.status).in_(IN_USE))
    if user is not None:
        query = query.where(kept_by(USECASE, user))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(UseCase.id).limit(limit)).all()
    flags = vendor_flags(session, [r.id for r in rows])
    return {"total": total, "items": [record_summary(session, USECASE, r, now=now, soon=soon,
                                                     flags=flags.get(r.id, []), tz=tz) for r in rows]}


def _incidents(session: Session, *, now: datetime, limit: int) -> dict[str, Any]:
    items, total = open_incident_page(session, limit=limit)
    for item in items:
        item["age_days"] = max(0, (now - datetime.fromisoformat(item["opened_at"])).days)
    return {"total": total, "items": items}


def _changes(session: Session, *, since: datetime) -> list[dict[str, Any]]:
    actions = [action for action, _ in CHANGES]
    counts = dict(session.exec(
        select(AuditEvent.action, func.count()).where(AuditEvent.at >= since, col(AuditEvent.action).in_(actions))
        .group_by(AuditEvent.action)
    ).all())
    return [{"action": action, "label": label, "count": counts.get(action, 0)} for action, label in CHANGES]
