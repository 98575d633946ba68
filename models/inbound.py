from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

STARTED = "started"  # a process is handling it, until lease_until
DONE = "done"  # its listener completed: a redelivery is dropped
RELEASED = "released"  # its listener failed: a redelivery is handled afresh


class InboundDelivery(SQLModel, table=True):
    """Slack requests taken, keyed by event_id or trigger_id.

    Bolt does not deduplicate Slack's retries (X-Slack-Retry-Num); a unique key does. The key
    is claimed before the listener runs and settled after it, so a retry of a delivery whose
    listener failed, or whose process died, is handled rather than dropped.
    """

    __tablename__ = "inbound_delivery"

    key: str = Field(primary_key=True, max_length=128)
    received_at: datetime = Field(index=True)
    status: str = Field(default=DONE, max_length=16)
    owner: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = None
    # The request as it came, while it is started: what is replayed when its holder died
    # after the ack and before the work was done (bot/redelivery.py). Cleared once settled.
    body: str | None = Field(default=None, sa_type=Text)
    content_type: str | None = Field(default=None, max_length=100)
