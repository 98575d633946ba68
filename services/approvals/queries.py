"""Reading requests: the gate CI asks, and the lists App Home shows.

The lists take a fixed number of queries whatever the page size: requests, then the votes
and checklist confirmations of the whole page at once (`request_views`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists
from sqlmodel import Session, col, select

from models.approval import APPROVE, APPROVED, PENDING, ApprovalRequest, ApprovalVote
from services.playbook.snapshot import ApprovalPolicy

from .policy import GroupMembers, groups_of
from .refs import normalize_ref
from .views import iso, request_views


@dataclass(frozen=True)
class GateAnswer:
    """Whether a ref is signed off, as CI sees it.

    `approved` is true only when the latest request for the ref (highest id) is approved;
    `approved_by` lists the approvals of its current revision (also while it is not yet
    approved: the approvals so far). `etag` is a quoted strong ETag, ready for the header; it
    changes with any change of that request and when a newer request for the ref appears.
    """

    approved: bool
    status: str
    request_id: int
    revision: int
    approved_by: tuple[dict[str, Any], ...]  # {user, group, at (ISO), break_glass}
    playbook_version: int
    playbook_hash: str
    decided_at: datetime | None
    etag: str
    reference: str
    kind: str
    audience: str
    title: str
    requester: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "approved": self.approved, "status": self.status, "request_id": self.request_id,
            "revision": self.revision, "approved_by": list(self.approved_by),
            "playbook_version": self.playbook_version, "playbook_hash": self.playbook_hash,
            "decided_at": iso(self.decided_at), "reference": self.reference, "kind": self.kind,
            "audience": self.audience, "title": self.title, "requester": self.requester,
        }


def etag_of(request: ApprovalRequest) -> str:
    return f'"a{request.id}.{request.state_version}"'


def gate(session: Session, *, ref: str) -> GateAnswer | None:
    """None when no request was ever opened for `ref` (after normalize_ref)."""
    key = normalize_ref(ref)
    if not key:
        return None
    request = session.exec(
        select(ApprovalRequest).where(ApprovalRequest.ref_key == key).order_by(col(ApprovalRequest.id).desc()).limit(1)
    ).first()
    if request is None:
        return None
    approvals = session.exec(
        select(ApprovalVote)
        .where(ApprovalVote.request_id == request.id, ApprovalVote.revision == request.revision,
               col(ApprovalVote.dismissed).is_(False), ApprovalVote.decision == APPROVE)
        .order_by(col(ApprovalVote.id))
    ).all()
    return GateAnswer(
        approved=request.status == APPROVED,
        status=request.status,
        request_id=request.id,  # type: ignore[arg-type]
        revision=request.revision,
        approved_by=tuple({"user": v.user, "group": v.group_name, "at": iso(v.at), "break_glass": v.break_glass}
                          for v in approvals),
        playbook_version=request.playbook_version,
        playbook_hash=request.playbook_hash,
        decided_at=request.decided_at,
        etag=etag_of(request),
        reference=request.reference,
        kind=request.kind,
        audience=request.audience,
        title=request.title,
        requester=request.requester,
    )


def decidable_ids(session: Session, *, user: str, group_members: GroupMembers) -> list[int]:
    """Ids of the pending requests `user` may decide and has not decided on (current revision),
    oldest first.

    Eligibility lives in each request's frozen policy, which is the same for every request
    opened under one playbook version for one (kind, audience): so it is read and checked once
    per distinct policy, not once per request.
    """
    voted = exists().where(and_(ApprovalVote.request_id == ApprovalRequest.id,
                                ApprovalVote.revision == ApprovalRequest.revision,
                                ApprovalVote.user == user))
    candidates = session.exec(
        select(ApprovalRequest.id, ApprovalRequest.playbook_hash, ApprovalRequest.kind, ApprovalRequest.audience)
        .where(ApprovalRequest.status == PENDING, ApprovalRequest.requester != user, ~voted)
        .order_by(col(ApprovalRequest.id))
    ).all()
    first_of: dict[tuple[str, str, str], int] = {}
    for request_id, *key in candidates:
        first_of.setdefault(tuple(key), request_id)
    policies = dict(session.exec(
        select(ApprovalRequest.id, ApprovalRequest.policy).where(col(ApprovalRequest.id).in_(list(first_of.values())))
    ).all()) if first_of else {}
    eligible = {key: bool(groups_of(ApprovalPolicy.model_validate(policies[first]), group_members, user))
                for key, first in first_of.items()}
    return [request_id for request_id, *key in candidates if eligible[tuple(key)]]


def waiting_for(session: Session, *, user: str, group_members: GroupMembers, limit: int = 20,
                offset: int = 0) -> list[dict[str, Any]]:
    """Pending requests `user` may decide and has not decided on, oldest first, as views."""
    page = decidable_ids(session, user=user, group_members=group_members)[offset:offset + limit]
    if not page:
        return []
    requests = session.exec(select(ApprovalRequest).where(col(ApprovalRequest.id).in_(page))
                            .order_by(col(ApprovalRequest.id))).all()
    return request_views(session, requests)


def requested_by(session: Session, *, user: str, limit: int = 20, offset: int = 0,
                 statuses: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The user's own requests, newest first (optionally only those in `statuses`)."""
    query = select(ApprovalRequest).where(ApprovalRequest.requester == user)
    if statuses is not None:
        query = query.where(col(ApprovalRequest.status).in_(list(statuses)))
    page = session.exec(query.order_by(col(ApprovalRequest.id).desc()).offset(offset).limit(limit)).all()
    return request_views(session, page)
