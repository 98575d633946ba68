from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# Delivery statuses: pending until worked on, then done, or failed once retries ran out.
PENDING = "pending"
WORKING = "working"
DONE = "done"
FAILED = "failed"


class GitHubDelivery(SQLModel, table=True):
    """A webhook delivery GitHub sent, kept from the acknowledgement until its work is done.

    GitHub never redelivers on its own, so a delivery is committed before it is answered and
    worked on afterwards (reading the pull request's commits may take longer than GitHub
    waits); the delivery id makes a manual redelivery a no-op.
    """

    __tablename__ = "github_delivery"
    __table_args__ = (Index("ix_github_delivery_due", "status", "next_attempt_at"),)

    delivery_id: str = Field(primary_key=True, max_length=64)
    event: str = Field(max_length=64)
    action: str | None = Field(default=None, max_length=64)
    received_at: datetime
    status: str = Field(default=PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime
    lease_until: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=128)
    # The payload as it came, until the delivery is settled.
    body: str | None = Field(default=None, sa_type=Text)
    outcome: str | None = Field(default=None, max_length=300)
    last_error: str | None = Field(default=None, max_length=500)


class PullRequestCheck(SQLModel, table=True):
    """The Countersign check run of one pull request head commit: one per (repository, SHA).

    A push makes a new head, so a new row and a new check run; `request_id` is the sign-off
    request the check mirrors (none when the pull request carries no AI markers).
    """

    __tablename__ = "pull_request_check"
    __table_args__ = (
        UniqueConstraint("repository", "head_sha", name="uq_pull_request_check_sha"),
        Index("ix_pull_request_check_request", "request_id", "id"),
        Index("ix_pull_request_check_pull", "repository", "number", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    repository: str = Field(max_length=140)  # owner/name
    number: int
    installation_id: int
    head_sha: str = Field(max_length=64)
    url: str = Field(max_length=500)  # the pull request's page
    request_id: int | None = Field(default=None, foreign_key="approval_request.id")
    markers: list[Any] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime
    # The outbox message that creates the check run; its result holds GitHub's id for it.
    create_key: str = Field(max_length=200)
