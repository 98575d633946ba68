from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, text
from sqlmodel import Field, SQLModel


class AuditEvent(SQLModel, table=True):
    """One entry of the append-only log; written in the same transaction as the change.

    Writers leave the seal columns empty. The sequencer (services/audit_log/sealer.py) fills
    them once, in sealing order: `seq` is the event's position in the Merkle tree, `leaf_hash`
    the RFC 6962 leaf hash of its canonical encoding. On PostgreSQL a trigger refuses any other
    change (migration 0008)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        # "How many X since last week" (the digest) reads one action over a time range.
        Index("ix_audit_event_action_at", "action", "at"),
        # The sequencer's only question: which committed events are not sealed yet, oldest first.
        Index("ix_audit_event_unsealed", "id", sqlite_where=text("seq IS NULL"),
              postgresql_where=text("seq IS NULL")),
        Index("ix_audit_event_entity", "entity_type", "entity_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    request_id: str | None = Field(default=None, max_length=64)
    seq: int | None = Field(default=None, unique=True, index=True)
    leaf_hash: str | None = Field(default=None, max_length=64)
    sealed_at: datetime | None = Field(default=None)


class AuditLogState(SQLModel, table=True):
    """The sequencer's state: one row. `frontier` is the Merkle tree's compact range (the roots
    of its perfect subtrees, left to right, hex), so a batch extends the tree in O(batch · log n)
    without reading sealed events. `version` is the compare-and-set token two sequencers race on.
    `purged_size`/`purged_frontier`: where the oldest kept event starts after a purge, and the
    compact range of everything removed, so the rest stays verifiable."""

    __tablename__ = "audit_log_state"

    id: int = Field(default=1, primary_key=True)
    size: int = Field(default=0)
    frontier: list[str] = Field(default_factory=list, sa_type=JSON)
    version: int = Field(default=0)
    sealed_at: datetime | None = Field(default=None)
    purged_size: int = Field(default=0)
    purged_frontier: list[str] = Field(default_factory=list, sa_type=JSON)


class AuditCheckpoint(SQLModel, table=True):
    """A tree head: size, root and time, and the C2SP signed note that states it (unsigned when
    the bot has no AUDIT_SIGNING_KEY). `witnessed_at` is set once when it was posted to Slack."""

    __tablename__ = "audit_checkpoint"

    id: int | None = Field(default=None, primary_key=True)
    size: int = Field(unique=True)
    root_hash: str = Field(max_length=64)
    at: datetime
    note: str = Field(sa_column=Column(Text, nullable=False))
    key_name: str | None = Field(default=None, max_length=200)
    key_id: str | None = Field(default=None, max_length=8)
    witnessed_at: datetime | None = Field(default=None)
