"""Usage events into the database: one transaction per batch, idempotent by event key, and one
audit event saying who sent how many (the rows themselves are too many for the sealed log)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from models.usage import UsageEvent
from services import audit, rows
from services.usage import keeping
from services.usage.event import Observation


@dataclass(frozen=True)
class Stored:
    batch: str
    accepted: int  # new events written
    duplicates: int  # events already held (a retried delivery), not written again


def store(session: Session, observations: list[Observation], *, source: str, ingested_by: str,
          now: datetime, rejected: int = 0, keep: str = keeping.DEFAULT_KEEP) -> Stored:
    """Write the batch in the caller's transaction. A key seen twice in one batch is one event."""
    unique: dict[str, Observation] = {}
    for observation in observations:
        unique.setdefault(observation.key, observation)
    batch = [keeping.row(o, keep=keep, ingested_by=ingested_by, received_at=now)
             for o in unique.values()]
    inserted = rows.insert_new(session, UsageEvent, batch, "key")
    result = Stored(batch=uuid.uuid4().hex[:16], accepted=len(inserted),
                    duplicates=len(observations) - len(inserted))
    if inserted or rejected:
        audit.append(session, at=now, actor=ingested_by, action="usage.ingested",
                     entity_type="usage_batch", entity_id=result.batch,
                     payload={"source": source, "accepted": result.accepted,
                              "duplicates": result.duplicates, "rejected": rejected})
    return result
