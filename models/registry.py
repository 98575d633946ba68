"""The living documentation: AI use cases, third-party AI vendors, and what keeps them current.

Which fields a record has, their labels and limits live in `services/registry/fields.py`; the
columns here follow it. Free text is capped at 3,000 characters, Slack's own cap on a modal's
text input, so whatever a form can hold the table can hold.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

LONG = 3000

# Use-case statuses. Retired records keep their history and leave every reminder.
PROPOSED = "proposed"
APPROVED = "approved"
REJECTED = "rejected"
RETIRED = "retired"
USECASE_STATUSES = (PROPOSED, APPROVED, REJECTED, RETIRED)
IN_USE = (PROPOSED, APPROVED, REJECTED)  # an IN list, unlike "!= retired", can use the status index
PROHIBITED = "prohibited"  # the risk tier a use case is never approved in

# Vendor review statuses.
NOT_STARTED = "not_started"
IN_REVIEW = "in_review"
REVIEWED = "reviewed"
FOLLOW_UP = "requires_follow_up"
VENDOR_REJECTED = "rejected"  # reviewed and found unacceptable: use cases naming it are flagged
REVIEW_STATUSES = (NOT_STARTED, IN_REVIEW, REVIEWED, FOLLOW_UP, VENDOR_REJECTED)

USECASE = "usecase"
VENDOR = "vendor"
RECORD_TYPES = (USECASE, VENDOR)


class Revisited(SQLModel):
    """What every record kept current has: who made it, its reviews, the next one due."""

    created_by: str = Field(max_length=32)
    created_at: datetime
    updated_at: datetime
    last_reviewed_at: datetime | None = None
    last_reviewed_by: str | None = Field(default=None, max_length=32)
    next_review_at: datetime
    snoozes: int = 0
    state_version: int = 1


class UseCase(Revisited, table=True):
    """One documented AI use case (after IBM AI FactSheets / Model Cards / NIST AI RMF).

    `models` is a list of {provider, model, version, hosting}. `next_review_at` is when the
    record must be looked at again; the revisit timers are set for exactly that instant and
    do nothing once it moves (a review, an edit of the date).
    """

    __tablename__ = "use_case"
    __table_args__ = (
        Index("ix_use_case_owner", "owner", "next_review_at"),
        Index("ix_use_case_status_due", "status", "next_review_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=150)
    description: str = Field(default="", max_length=LONG)
    owner: str = Field(max_length=32)
    contributors: list[str] = Field(default_factory=list, sa_type=JSON)
    audience: str = Field(default="internal", max_length=16)
    purpose: str = Field(default="", max_length=LONG)
    intended_uses: str = Field(default="", max_length=LONG)
    out_of_scope_uses: str = Field(default="", max_length=LONG)
    risk_tier: str = Field(default="limited", max_length=16)
    models: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    training_data: str = Field(default="", max_length=LONG)
    features: str = Field(default="", max_length=LONG)
    inference_data: str = Field(default="", max_length=LONG)
    predictions: str = Field(default="", max_length=LONG)
    output_use: str = Field(default="", max_length=LONG)
    performance: str = Field(default="", max_length=LONG)
    drift: str = Field(default="", max_length=LONG)
    vulnerabilities: str = Field(default="", max_length=LONG)
    mitigations: str = Field(default="", max_length=LONG)
    privacy: str = Field(default="", max_length=LONG)
    security: str = Field(default="", max_length=LONG)
    oversight: str = Field(default="", max_length=LONG)
    access_policy: str = Field(default="", max_length=LONG)
    consent: str = Field(default="", max_length=LONG)
    status: str = Field(default=PROPOSED, max_length=16)


class Vendor(Revisited, table=True):
    """One third-party AI vendor under contractual and technical review.

    The assignee keeps the record and prepares the review; the reviewer signs it off. They
    must be different people (separation of duties).
    """

    __tablename__ = "vendor"
    __table_args__ = (
        Index("ix_vendor_reviewer", "reviewer", "next_review_at"),
        Index("ix_vendor_assignee", "assignee", "next_review_at"),
        Index("ix_vendor_review_due", "review_status", "next_review_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=150)
    website: str = Field(default="", max_length=500)
    contact: str = Field(default="", max_length=500)
    provides: str = Field(default="", max_length=LONG)
    data_ownership: str = Field(default="", max_length=LONG)
    trains_on_our_data: str = Field(default="unknown", max_length=16)
    retention: str = Field(default="", max_length=LONG)
    deployment: str = Field(default="cloud", max_length=16)
    certifications: str = Field(default="", max_length=LONG)
    data_sensitivity: str = Field(default="", max_length=LONG)
    injection_tested: str = Field(default="not_tested", max_length=16)
    injection_result: str = Field(default="", max_length=LONG)
    risk_level: str = Field(default="medium", max_length=16)
    contingency: str = Field(default="", max_length=LONG)
    review_status: str = Field(default=NOT_STARTED, max_length=24)
    assignee: str = Field(max_length=32)
    reviewer: str | None = Field(default=None, max_length=32)
    review_result: str = Field(default="", max_length=LONG)


class UseCaseVendor(SQLModel, table=True):
    """A use case relies on a vendor."""

    __tablename__ = "use_case_vendor"
    __table_args__ = (UniqueConstraint("use_case_id", "vendor_id", name="uq_use_case_vendor"),
                      Index("ix_use_case_vendor_vendor", "vendor_id"))

    id: int | None = Field(default=None, primary_key=True)
    use_case_id: int = Field(foreign_key="use_case.id")
    vendor_id: int = Field(foreign_key="vendor.id")


class RecordChange(SQLModel, table=True):
    """One field of one record changed: the per-field history a record shows."""

    __tablename__ = "record_change"
    __table_args__ = (Index("ix_record_change_record", "record_type", "record_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    record_type: str = Field(max_length=16)
    record_id: int
    field: str = Field(max_length=64)
    old: Any = Field(default=None, sa_type=JSON)
    new: Any = Field(default=None, sa_type=JSON)
    by: str = Field(max_length=32)
    at: datetime


class DigestRun(SQLModel, table=True):
    """A digest was owed for (scope, week): the team's, or one person's. Inserted under its
    unique constraint before anything is sent, so two clock processes send one."""

    __tablename__ = "digest_run"
    __table_args__ = (UniqueConstraint("scope", "week", name="uq_digest_run_week"),)

    id: int | None = Field(default=None, primary_key=True)
    # "team" (the workspace's digest), "user:<user id>", or "since" (week "-"), whose
    # due_at is when this database first had a digest schedule: nothing earlier is owed.
    scope: str = Field(max_length=64)
    week: str = Field(max_length=10)  # ISO week in the playbook's time zone, like 2026-W48
    due_at: datetime
    created_at: datetime


class DigestSubscriber(SQLModel, table=True):
    """Someone who asked for a personal weekly digest by DM."""

    __tablename__ = "digest_subscriber"

    user: str = Field(primary_key=True, max_length=32)
    since: datetime
