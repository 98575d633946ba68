from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class InboundDelivery(SQLModel, table=True):
    """Slack requests already taken, keyed by event_id or trigger_id.

    Bolt does not deduplicate Slack's retries (X-Slack-Retry-Num); a unique key does.
    """

    __tablename__ = "inbound_delivery"

    key: str = Field(primary_key=True, max_length=128)
    received_at: datetime = Field(index=True)
