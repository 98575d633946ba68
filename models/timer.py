from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

PENDING = "pending"
FIRING = "firing"
DONE = "done"
CANCELLED = "cancelled"


class Timer(SQLModel, table=True):
    """A durable timer: the row is the timer, whatever process happens to fire it."""

    __tablename__ = "timer"
    __table_args__ = (
        UniqueConstraint("kind", "ref", "due_at", name="uq_timer_kind_ref_due"),
        Index("ix_timer_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    ref: str = Field(max_length=128, index=True)
    due_at: datetime
    status: str = Field(default=PENDING, max_length=16)
    lease_until: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=64)
    attempts: int = 0
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime
    fired_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)
