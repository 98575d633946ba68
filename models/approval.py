from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

# Request statuses. pending and changes_requested are open; the other four are final
# (an approved request can still be resubmitted as a new revision, which reopens it).
PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
CHANGES_REQUESTED = "changes_requested"
CANCELLED = "cancelled"
EXPIRED = "expired"
STATUSES = (PENDING, APPROVED, REJECTED, CHANGES_REQUESTED, CANCELLED, EXPIRED)
OPEN_STATUSES = (PENDING, CHANGES_REQUESTED)
FINAL_STATUSES = (APPROVED, REJECTED, CANCELLED, EXPIRED)

# What one approver says about one revision.
APPROVE = "approve"
REJECT = "reject"
REQUEST_CHANGES = "request_changes"
DECISIONS = (APPROVE, REJECT, REQUEST_CHANGES)


class ApprovalRequest(SQLModel, table=True):
    """One artifact (a PR, a commit, a copy doc, a launch) waiting for human sign-off.

    `policy` is the rule it was opened under, frozen: editing the playbook later never
    changes what this request needs. `state_version` grows with every change (ETags).
    """

    __tablename__ = "approval_request"
    __table_args__ = (Index("ix_approval_request_status", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    audience: str = Field(max_length=16)
    title: str = Field(max_length=150)
    reference: str = Field(max_length=500)
    ref_key: str = Field(max_length=500, index=True)
    ai_tool: str | None = Field(default=None, max_length=100)
    summary: str = Field(default="", max_length=2000)
    requester: str = Field(max_length=32, index=True)
    origin_channel: str | None = Field(default=None, max_length=32)
    channel: str = Field(max_length=32)
    status: str = Field(default=PENDING, max_length=24)
    revision: int = 1
    policy: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    playbook_hash: str = Field(max_length=64)
    playbook_version: int
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None = None
    expires_at: datetime | None = None
    reminders_sent: int = 0
    break_glass: bool = False
    state_version: int = 1
    message_key: str = Field(default="", max_length=200)
    use_case_id: int | None = Field(default=None, foreign_key="use_case.id")
    use_case_note: str | None = Field(default=None, max_length=1000)  # its standing when asked


class ApprovalVote(SQLModel, table=True):
    """One approver's decision on one revision; a resubmission dismisses older ones."""

    __tablename__ = "approval_vote"
    __table_args__ = (
        UniqueConstraint("request_id", "revision", "user", name="uq_approval_vote_once"),
        # "What has this person not decided yet" (App Home, digests) starts from the person.
        Index("ix_approval_vote_user", "user", "request_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="approval_request.id")
    revision: int
    user: str = Field(max_length=32)
    decision: str = Field(max_length=24)
    group_name: str | None = Field(default=None, max_length=64)  # the approver group it counts for
    reason: str | None = Field(default=None, max_length=2000)
    at: datetime
    dismissed: bool = False
    break_glass: bool = False


class ChecklistConfirmation(SQLModel, table=True):
    """An approver confirmed one checklist item for one revision (first confirmation stands)."""

    __tablename__ = "approval_checklist"
    __table_args__ = (
        UniqueConstraint("request_id", "revision", "item", name="uq_approval_checklist_item"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="approval_request.id")
    revision: int
    item: str = Field(max_length=64)
    user: str = Field(max_length=32)
    at: datetime
