"""Storage that scales: events counted into daily aggregates exactly once, batch by batch, and
raw events expiring after USAGE_RETENTION while the aggregates stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from models.usage import UsageEvent, UsageFirstSeen
from services.usage import retention
from tests.integration.usage.usage_world import (
    DAY,
    T0,
    audit_rows,
    daily,
    event,
    observe,
    playbook,
    raw_events,
    watch,
)

BERLIN_MIDNIGHT = T0.replace(hour=23)  # 00:00 on 2 December in Berlin


def dims(row):  # noqa: ANN001, ANN201
    return (row.day, row.service, row.user_id, row.model, row.provider, row.use_case)


def test_two_batches_add_up_per_day_and_dimension(db) -> None:  # noqa: ANN001
    pb = playbook()
    # The first batch takes three, the second two: the main row gets calls from both.
    observe(db,
            event(input_tokens=10, output_tokens=2, cost_usd=0.5, input_text="mail a@b.example"),
            event(service=None, user=None, provider=None, request_model="o3", use_case="UC-7"),
            event(started_at=T0 + timedelta(hours=1), input_tokens=5, output_tokens=1, cost_usd=0.25),
            event(started_at=T0 - timedelta(hours=1), input_tokens=1),
            event(started_at=BERLIN_MIDNIGHT, input_tokens=3))
    first = watch(db, pb, limit=3)
    assert first.events == 3
    after_one = {dims(r): r.events for r in daily(db)}
    assert sum(after_one.values()) == 3
    second = watch(db, pb, limit=3)
    assert second.events == 2
    assert watch(db, pb).events == 0  # everything is watched: nothing counted twice

    rows = {dims(r): r for r in daily(db)}
    main = rows[("2026-12-01", "support-bot", "alice@acme.example", "gpt-4o", "openai", "UC-1")]
    assert (main.events, main.input_tokens, main.output_tokens, main.cost_usd, main.redaction_hits) == (
        3, 16, 3, 0.75, 1)
    assert (main.first_at, main.last_at) == (T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    # Unknown dimensions are '' (so the unique key holds), the use case the event's own.
    assert rows[("2026-12-01", "", "", "o3", "", "UC-7")].events == 1
    # The day is Berlin's: 23:00 UTC on the 1st is the 2nd there.
    assert rows[("2026-12-02", "support-bot", "alice@acme.example", "gpt-4o", "openai", "UC-1")].events == 1
    assert len(rows) == 3
    assert all(e.watched_at == T0 for e in raw_events(db))
    with db.session() as s:
        firsts = sorted(s.exec(select(UsageFirstSeen.who, UsageFirstSeen.model)).all())
    assert firsts == [("service:support-bot", "gpt-4o"), ("user:U0ALICE", "gpt-4o")]


def test_a_batch_that_fails_counts_nothing(db, monkeypatch) -> None:  # noqa: ANN001
    from services.usage import alerts as alerts_module

    pb = playbook("unapproved_use_case")
    observe(db, event(use_case="UC-404"))

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("crash mid-batch")

    monkeypatch.setattr(alerts_module, "raise_alert", broken)
    with pytest.raises(RuntimeError):
        watch(db, pb)
    assert daily(db) == [] and raw_events(db)[0].watched_at is None
    monkeypatch.undo()
    assert watch(db, pb).events == 1
    assert [r.events for r in daily(db)] == [1]


def test_retention_forgets_only_old_watched_events_and_keeps_aggregates(db) -> None:  # noqa: ANN001
    pb = playbook()
    old = [event(started_at=T0 - 200 * DAY) for _ in range(7)]
    recent = [event(started_at=T0 - 10 * DAY) for _ in range(2)]
    observe(db, *old, *recent)
    watch(db, pb)
    late = event(started_at=T0 - 300 * DAY)  # stored, not yet watched
    observe(db, late)
    before = {dims(r): r.events for r in daily(db)}
    cutoff = T0 - 180 * DAY

    removed = []
    with db.session() as s:
        removed.append(retention.forget_before(s, cutoff=cutoff, now=T0, limit=3))
    while removed[-1]:
        with db.session() as s:
            removed.append(retention.forget_before(s, cutoff=cutoff, now=T0, limit=3))
    assert removed == [3, 3, 1, 0]  # bounded chunks
    kept = {e.key for e in raw_events(db)}
    assert kept == {e.key for e in recent} | {late.key}
    assert {dims(r): r.events for r in daily(db)} == before
    expired = audit_rows(db, "usage.expired")
    assert [a.payload["events"] for a in expired] == [3, 3, 1]
    assert expired[0].payload["started_before"] == cutoff.isoformat()

    # Once watched, the late one goes too; its day was counted first.
    watch(db, pb)
    with db.session() as s:
        assert retention.forget_before(s, cutoff=cutoff, now=T0) == 1
        assert s.scalar(select(func.count()).select_from(UsageEvent)) == 2
    assert sum(r.events for r in daily(db)) == 10
