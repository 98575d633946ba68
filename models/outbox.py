from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"


class OutboxMessage(SQLModel, table=True):
    """A Web API call the bot owes Slack, committed with the state change that caused it."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # A channel's unsettled messages in order, found without walking its delivered history:
        # the claim's per-channel order check and its search for each channel's next message.
        Index("ix_outbox_channel_order", "channel", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    method: str = Field(max_length=64)
    channel: str | None = Field(default=None, max_length=32)
    # With a template, payload is domain data that blocks/ renders at send time, so
    # services never build Block Kit; without one, payload is the Web API arguments.
    template: str | None = Field(default=None, max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # Replies and updates name the outbox message whose `ts` they need.
    thread_of: str | None = Field(default=None, max_length=200)
    update_of: str | None = Field(default=None, max_length=200)
    status: str = Field(default=PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime
    lease_until: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=64)
    attempt_started_at: datetime | None = None
    # True when an earlier attempt may have reached Slack (timeout, 5xx, crash):
    # the next attempt first looks for the message before posting again.
    maybe_sent: bool = False
    created_at: datetime
    sent_at: datetime | None = None
    result_channel: str | None = Field(default=None, max_length=32)
    result_ts: str | None = Field(default=None, max_length=32)
    # What Slack answered (e.g. a created channel's id) for the flow that asked.
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    last_error: str | None = Field(default=None, max_length=500)
