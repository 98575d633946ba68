"""On PostgreSQL, the same batch retried by several senders at once is stored once: each event
key is written by exactly one of them, and the others count it as a duplicate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from models.audit import AuditEvent
from models.usage import UsageEvent
from services.usage.event import Observation
from services.usage.store import store
from tests.harness.race import race

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ROUNDS = 10


def observation(n: int) -> Observation:
    return Observation(key=f"native:evt-{n}", source="native", started_at=T0 + timedelta(seconds=n),
                       request_model="gpt-4o", user="U0ALICE", input_text=f"prompt {n}")


def test_concurrent_retries_of_one_batch_store_each_event_once(pg_db) -> None:  # noqa: ANN001
    for round_ in range(ROUNDS):
        batch = [observation(round_ * 100 + n) for n in range(50)]

        def send(batch: list[Observation] = batch):  # noqa: ANN202
            with pg_db.session() as s:
                return store(s, batch, source="native", ingested_by="retrier", now=T0)

        results = race([send] * 4)
        assert sum(r.accepted for r in results) == 50, results
        assert sum(r.duplicates for r in results) == 150
    with pg_db.session() as s:
        assert s.scalar(select(func.count()).select_from(UsageEvent)) == ROUNDS * 50
        assert s.scalar(select(func.count(func.distinct(UsageEvent.key)))) == ROUNDS * 50
        audited = s.scalars(select(AuditEvent).where(AuditEvent.action == "usage.ingested")).all()
    # A retry that found everything already there changed nothing, and says nothing.
    assert sum(a.payload["accepted"] for a in audited) == ROUNDS * 50
    assert all(a.payload["accepted"] > 0 for a in audited)
