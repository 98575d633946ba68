"""Usage events into the database: one transaction per batch, idempotent by event key, and one
audit event saying who sent how many (the rows themselves are too many for the sealed log)."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from models.usage import UsageEvent
from services import audit, rows
from services.playbook.schema import Usage
from services.usage import keeping
from services.usage.event import Observation

NO_POLICY = Usage()


@dataclass(frozen=True)
class Stored:
    batch: str
    accepted: int  # new events written
    duplicates: int  # events already held (a retried delivery), not written again


def attributed(observation: Observation, usage: Usage) -> Observation:
    """With the use case the playbook gives its service, when the source named none."""
    if observation.use_case is not None:
        return observation
    use_case = usage.use_case_of(observation.service)
    return dataclasses.replace(observation, use_case=use_case) if use_case else observation


def store(session: Session, observations: list[Observation], *, source: str, ingested_by: str,
          now: datetime, rejected: int = 0, usage: Usage = NO_POLICY) -> Stored:
    """Write the batch in the caller's transaction, each event's content kept as the playbook
    says for its use case. A key seen twice in one batch is one event."""
    unique: dict[str, Observation] = {}
    for observation in observations:
        unique.setdefault(observation.key, observation)
    batch = []
    for observation in unique.values():
        observation = attributed(observation, usage)
        batch.append(keeping.row(observation, keep=usage.keep_for(observation.use_case),
                                 ingested_by=ingested_by, received_at=now))
    inserted = rows.insert_counting(session, UsageEvent, batch, "key")
    # Named by what it holds: the same events sent again are the same batch in the log.
    batch_id = hashlib.sha256("\n".join(sorted(unique)).encode()).hexdigest()[:16]
    result = Stored(batch=batch_id, accepted=inserted,
                    duplicates=len(observations) - inserted)
    if inserted or rejected:
        audit.append(session, at=now, actor=ingested_by, action="usage.ingested",
                     entity_type="usage_batch", entity_id=result.batch,
                     payload={"source": source, "accepted": result.accepted,
                              "duplicates": result.duplicates, "rejected": rejected})
    return result
