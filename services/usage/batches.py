"""One request body of any source read and stored: the whole of ingestion's work, as one call
that needs nothing but the body, the playbook's usage policy and a database session, so it can
run in a worker process as well as on a thread (bot/ingest_workers.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from services.playbook.schema import Usage
from services.usage import litellm, native, otlp, store
from services.usage.event import Observation, Rejected

SOURCES = ("otlp", "litellm", "native")


class BodyRefused(ValueError):
    """The body is not a batch of its source at all: answered 400, nothing kept."""


@dataclass(frozen=True)
class Batch:
    source: str  # otlp, litellm or native
    body: bytes
    json_encoded: bool  # OTLP only: JSON rather than protobuf
    ingested_by: str
    now: datetime
    usage: Usage


@dataclass
class Outcome:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)  # OTLP: why each span was rejected
    problems: list[dict[str, Any]] = field(default_factory=list)  # by index and field


def _read_otlp(batch: Batch, outcome: Outcome) -> list[Observation]:
    try:
        read = otlp.read(otlp.parse(batch.body, json_encoded=batch.json_encoded))
    except otlp.Malformed as exc:
        raise BodyRefused(str(exc)) from None
    outcome.reasons.extend(read.rejected)
    outcome.rejected = len(read.rejected)
    return read.observations


def _read_native(batch: Batch, outcome: Outcome) -> list[Observation]:
    try:
        kept, problems = native.batch(batch.body)
    except native.BatchError as exc:
        raise BodyRefused(str(exc)) from None
    outcome.problems.extend(p.as_dict() for p in problems)
    return kept


def _read_litellm(batch: Batch, outcome: Outcome) -> list[Observation]:
    try:
        records = litellm.records(batch.body)
    except litellm.BodyError as exc:
        raise BodyRefused(str(exc)) from None
    kept: list[Observation] = []
    for index, record in enumerate(records):
        try:
            kept.append(litellm.observation(record))
        except Rejected as exc:
            outcome.problems.append({"index": index, "field": exc.field, "message": exc.reason})
    return kept


_READERS = {"otlp": _read_otlp, "native": _read_native, "litellm": _read_litellm}


def ingest(session: Session, batch: Batch) -> Outcome:
    """Read `batch` and store what can be kept, in the caller's transaction; BodyRefused when
    the body is no batch (before anything is written)."""
    outcome = Outcome()
    observations = _READERS[batch.source](batch, outcome)
    if outcome.problems:
        outcome.rejected = len({p["index"] for p in outcome.problems})
    stored = store.store(session, observations, source=batch.source,
                         ingested_by=batch.ingested_by, now=batch.now,
                         rejected=outcome.rejected, usage=batch.usage)
    outcome.accepted, outcome.duplicates = stored.accepted, stored.duplicates
    return outcome
