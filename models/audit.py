from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel


class AuditEvent(SQLModel, table=True):
    """One entry of the append-only log; written in the same transaction as the change."""

    __tablename__ = "audit_event"
    # "How many X since last week" (the digest) reads one action over a time range.
    __table_args__ = (Index("ix_audit_event_action_at", "action", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    request_id: str | None = Field(default=None, max_length=64)
