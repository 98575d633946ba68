"""Who may read which part of the audit log.

The whole log — any filter, every entity — is the playbook's admins'. Anyone else may read the
history of one entity they take part in:

* a sign-off request they opened, voted on, or may decide (a member of one of its approver
  groups: the groups frozen in the request's policy, with members as the playbook resolves
  them now, or as frozen when the playbook no longer names the group);
* an incident they reported, were paged for, acknowledged or resolved;
* a use case they own or help keep (owner, contributors), a vendor they are the assignee or
  the reviewer of, and any record for the documentation approvers, who approve records.

A refusal is itself recorded (`audit.denied`) in a transaction of its own, so the reader's
attempt is on the log even though nothing was shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from models.approval import ApprovalRequest, ApprovalVote
from models.incident import Incident, IncidentPage
from models.registry import UseCase, Vendor
from services import audit
from services.approvals.policy import members_by_group, policy_of

DENIED = "audit.denied"
# What people type after /ai-audit → what the log calls the entity.
KINDS = {"request": "approval_request", "incident": "incident", "usecase": "usecase", "vendor": "vendor"}
WORD = {entity_type: word for word, entity_type in KINDS.items()}


@dataclass(frozen=True)
class Reader:
    """The person reading, and the playbook's people as resolved for this request."""

    user: str
    admins: frozenset[str] = frozenset()
    # Documentation approvers (besides the admins): they approve use cases and vendors.
    governors: frozenset[str] = frozenset()
    # The playbook's groups, name → members, as resolved now (Slack user groups included).
    group_members: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.user in self.admins


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    role: str | None  # why it is allowed: "admin", "requester", "paged", "owner", …
    reason: str = ""  # why not, as plain text for the reader (no markup)
    exists: bool = True


def _yes(role: str) -> Verdict:
    return Verdict(True, role)


def may_read(session: Session, reader: Reader, entity_type: str, entity_id: int) -> Verdict:
    """Whether `reader` may read the history of one entity, and in which capacity."""
    check = _CHECKS.get(entity_type)
    if check is None:
        raise ValueError(f"no reading rule for {entity_type}")
    found = check(session, reader, entity_id)
    if found is None:
        return Verdict(False, None, f"There is no {WORD[entity_type]} {entity_id}.", exists=False)
    if reader.is_admin:
        return _yes("admin")
    return found


def _request(session: Session, reader: Reader, request_id: int) -> Verdict | None:
    request = session.get(ApprovalRequest, request_id)
    if request is None:
        return None
    user = reader.user
    if user == request.requester:
        return _yes("requester")
    voted = session.exec(select(ApprovalVote.id).where(ApprovalVote.request_id == request_id,
                                                        ApprovalVote.user == user).limit(1)).first()
    if voted is not None:
        return _yes("voter")
    policy = policy_of(request)
    if any(user in members for members in members_by_group(policy, reader.group_members).values()):
        return _yes("approver")
    groups = ", ".join(policy.approver_group_names)
    return Verdict(False, None, f"Request {request_id} is not yours to read: only its requester, the "
                                f"approvers of {request.kind} requests ({groups}) and the playbook's admins "
                                "may see its history.")


def _incident(session: Session, reader: Reader, incident_id: int) -> Verdict | None:
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    user = reader.user
    if user == incident.reporter:
        return _yes("reporter")
    paged = session.exec(select(IncidentPage.id).where(IncidentPage.incident_id == incident_id,
                                                        IncidentPage.user == user).limit(1)).first()
    if paged is not None:
        return _yes("paged")
    if user in (incident.acknowledged_by, incident.resolved_by):
        return _yes("responder")
    return Verdict(False, None, f"Incident {incident_id} is not yours to read: only whoever reported it, the "
                                "people paged for it and the playbook's admins may see its history.")


def _usecase(session: Session, reader: Reader, record_id: int) -> Verdict | None:
    record = session.get(UseCase, record_id)
    if record is None:
        return None
    if reader.user == record.owner:
        return _yes("owner")
    if reader.user in (record.contributors or []):
        return _yes("contributor")
    if reader.user in reader.governors:
        return _yes("approver")
    return Verdict(False, None, f"Use case {record_id} is not yours to read: only its owner, its contributors, "
                                "the documentation approvers and the playbook's admins may see its history.")


def _vendor(session: Session, reader: Reader, record_id: int) -> Verdict | None:
    record = session.get(Vendor, record_id)
    if record is None:
        return None
    if reader.user == record.assignee:
        return _yes("assignee")
    if reader.user == record.reviewer:
        return _yes("reviewer")
    if reader.user in reader.governors:
        return _yes("approver")
    return Verdict(False, None, f"Vendor {record_id} is not yours to read: only its assignee, its reviewer, "
                                "the documentation approvers and the playbook's admins may see its history.")


_CHECKS = {"approval_request": _request, "incident": _incident, "usecase": _usecase, "vendor": _vendor}


# Why someone who is not an admin is refused the log as a whole (or verify, or a checkpoint).
ADMINS_ONLY = "only the playbook's admins may read the whole audit log"


def deny(session: Session, *, reader: Reader, now: datetime, asked: str, reason: str,
         entity: tuple[str, str] | None = None) -> None:
    """Record that `reader` was refused `asked` (what they typed or clicked, clipped): on the
    entity they asked about, or on their own record when they asked for the whole log. In the
    caller's transaction — its own, since nothing else was written."""
    entity_type, entity_id = entity or ("slack_user", reader.user)
    audit.append(session, at=now, actor=reader.user, action=DENIED, entity_type=entity_type,
                 entity_id=entity_id[:64], payload={"asked": asked[:200], "reason": reason[:300]})
