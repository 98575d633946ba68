from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Text
from sqlmodel import Field, SQLModel


class UsageEvent(SQLModel, table=True):
    """One AI call someone made, as telemetry reported it (services/usage/). Content is kept as
    the playbook says: SHA-256 digests always, a bounded redacted excerpt by default, full text
    only for a use case that allows it. `redactions` counts what was redacted, never what."""

    __tablename__ = "usage_event"
    __table_args__ = (
        # The views ask "what did X use since T": by time, and by each who/what over time.
        Index("ix_usage_event_model_at", "model", "started_at"),
        Index("ix_usage_event_service_at", "service", "started_at"),
        Index("ix_usage_event_user_at", "user_id", "started_at"),
        Index("ix_usage_event_use_case_at", "use_case", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Idempotency: a retried delivery (same client event id, same trace and span) is taken once.
    key: str = Field(max_length=200, unique=True)
    source: str = Field(max_length=16)
    ingested_by: str = Field(max_length=64)
    received_at: datetime
    started_at: datetime = Field(index=True)
    ended_at: datetime | None = Field(default=None)
    operation: str | None = Field(default=None, max_length=200)
    provider: str | None = Field(default=None, max_length=200)
    model: str | None = Field(default=None, max_length=200)
    request_model: str | None = Field(default=None, max_length=200)
    service: str | None = Field(default=None, max_length=200)
    user_id: str | None = Field(default=None, max_length=200)
    team: str | None = Field(default=None, max_length=200)
    use_case: str | None = Field(default=None, max_length=32)
    input_tokens: int | None = Field(default=None)
    output_tokens: int | None = Field(default=None)
    cost_usd: float | None = Field(default=None)
    error: str | None = Field(default=None, max_length=500)
    trace_id: str | None = Field(default=None, max_length=32)
    span_id: str | None = Field(default=None, max_length=16)
    keep: str = Field(max_length=8)  # digest, excerpt or full: how its content was kept
    input_digest: str | None = Field(default=None, max_length=64)
    output_digest: str | None = Field(default=None, max_length=64)
    # The redacted excerpt (keep=excerpt), the text as sent (keep=full), or nothing (digest).
    input_text: str | None = Field(default=None, sa_type=Text)
    output_text: str | None = Field(default=None, sa_type=Text)
    redactions: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    attributes: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
