from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Text, UniqueConstraint, text
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
        # The watcher's only question: which stored events has it not looked at yet.
        Index("ix_usage_event_unwatched", "id", sqlite_where=text("watched_at IS NULL"),
              postgresql_where=text("watched_at IS NULL")),
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
    # Set once the watcher has counted the event into usage_daily and checked it against the
    # rules; NULL until then (a flag, not a high-water id: batches commit out of id order).
    watched_at: datetime | None = Field(default=None)


class UsageDaily(SQLModel, table=True):
    """Events per day and who/what, kept after raw events expire (USAGE_RETENTION). The day is
    the playbook's local date. Dimensions are '' when unknown, never NULL, so the unique key
    holds on PostgreSQL too (NULLs are distinct there)."""

    __tablename__ = "usage_daily"
    __table_args__ = (
        UniqueConstraint("day", "service", "user_id", "model", "provider", "use_case",
                         name="uq_usage_daily"),
        Index("ix_usage_daily_model_day", "model", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    day: str = Field(max_length=10, index=True)  # YYYY-MM-DD
    service: str = Field(default="", max_length=200)
    user_id: str = Field(default="", max_length=200)
    model: str = Field(default="", max_length=200)
    provider: str = Field(default="", max_length=200)
    use_case: str = Field(default="", max_length=32)
    events: int = Field(default=0)
    input_tokens: int = Field(default=0, sa_type=BigInteger)
    output_tokens: int = Field(default=0, sa_type=BigInteger)
    cost_usd: float = Field(default=0.0)
    redaction_hits: int = Field(default=0)
    first_at: datetime
    last_at: datetime


class UsageFirstSeen(SQLModel, table=True):
    """When a service or person first used a model: the first-use rule's memory, kept forever
    (one row per pair, however many events)."""

    __tablename__ = "usage_first_seen"
    __table_args__ = (UniqueConstraint("who", "model", name="uq_usage_first_seen"),)

    id: int | None = Field(default=None, primary_key=True)
    who: str = Field(max_length=210)  # service:<name> or user:<id>
    model: str = Field(max_length=200)
    at: datetime


class UsageAlert(SQLModel, table=True):
    """One alert a watch rule raised: at most one per rule, key and day (the unique key is what
    keeps two watchers, or a rerun, from raising it twice)."""

    __tablename__ = "usage_alert"
    __table_args__ = (UniqueConstraint("rule", "key", "day", name="uq_usage_alert"),)

    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=32)
    key: str = Field(max_length=500)
    day: str = Field(max_length=10)
    raised_at: datetime = Field(index=True)
    status: str = Field(default="open", max_length=16)  # open, acknowledged, incident
    summary: str = Field(max_length=1000)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = Field(default=None)
    incident_id: int | None = Field(default=None)
