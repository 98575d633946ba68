"""On PostgreSQL, watchers racing over the same events: each event counted once, each alert
raised once (one message, one audit event), however the batches interleave — and two clicks
on one alert decide it once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from models.incident import Incident
from models.usage import UsageEvent
from tests.harness.race import race
from tests.integration.usage.usage_world import (
    T0,
    acknowledge,
    alerts,
    audit_rows,
    daily,
    event,
    observe,
    open_incident,
    outbox_rows,
    playbook,
    watch,
)

pytestmark = pytest.mark.postgres

EVENTS = 600
WATCHERS = 3


def test_racing_watchers_count_each_event_once_and_raise_each_alert_once(pg_db) -> None:  # noqa: ANN001
    pb = playbook("undocumented_model", "unapproved_use_case", "first_use")
    # Every event carries what every alert is about, so every batch finds every alert.
    services = [f"svc-{n % 7}" for n in range(EVENTS)]
    observe(pg_db, *[event(started_at=T0 + timedelta(seconds=n), service=services[n],
                           request_model=f"gpt-x{n % 3}", use_case="UC-404", input_tokens=2)
                     for n in range(EVENTS)])

    def watcher():  # noqa: ANN202
        watched = []
        while (n := watch(pg_db, pb, limit=40).events):
            watched.append(n)
        return watched

    results = race([watcher] * WATCHERS)
    assert sum(map(sum, results)) == EVENTS
    assert sum(1 for r in results if r) > 1, "the watchers did not share the work"
    rows = daily(pg_db)
    assert sum(r.events for r in rows) == EVENTS
    assert sum(r.input_tokens for r in rows) == 2 * EVENTS
    assert len(rows) == len({(s, n % 3) for n, s in enumerate(services)})
    with pg_db.session() as s:
        assert s.scalar(select(func.count()).select_from(UsageEvent)
                        .where(UsageEvent.watched_at.is_(None))) == 0

    expected = ({("undocumented_model", f"openai/gpt-x{m}") for m in range(3)}
                | {("unapproved_use_case", "UC-404")})
    raised = alerts(pg_db)
    assert sorted((a.rule, a.key) for a in raised if a.rule != "first_use") == sorted(expected)
    # Which batch meets a caller first decides whether its first uses come as one alert about
    # the caller or one per model; either way every pair is told exactly once.
    told = Counter()
    for a in (a for a in raised if a.rule == "first_use"):
        who, _, model = a.key.partition("|")
        for m in ([model] if model else a.evidence["models"]):
            told[(who, m)] += 1
    callers = {f"service:{s}" for s in services} | {"user:U0ALICE"}
    assert told == Counter({(who, f"gpt-x{m}"): 1 for who in callers for m in range(3)})
    assert len({(a.rule, a.key) for a in raised}) == len(raised)  # each exactly once
    assert len(outbox_rows(pg_db)) == len(raised)
    assert len([a for a in audit_rows(pg_db) if a.action == "usage.alert_raised"]) == len(raised)


def test_racing_clicks_decide_an_alert_once(pg_db) -> None:  # noqa: ANN001
    pb = playbook("undocumented_model")
    observe(pg_db, event(request_model="gpt-x"), event(request_model="gpt-y"))
    watch(pg_db, pb)
    first, second = alerts(pg_db)

    acks = race([lambda u=u: acknowledge(pg_db, pb, first.id, u) for u in ("U0A1", "U0A2", "U0A3")])
    assert sorted(r.outcome for r in acks) == ["acknowledged", "already", "already"]
    winner = next(r for r in acks if r.outcome == "acknowledged")
    assert all("already acknowledged" in r.message for r in acks if r is not winner)

    opens = race([lambda u=u: open_incident(pg_db, pb, second.id, u) for u in ("U0B1", "U0B2", "U0B3")])
    assert sorted(r.outcome for r in opens) == ["already", "already", "incident"]
    with pg_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 1
    decided = [a.action for a in audit_rows(pg_db) if a.action != "usage.alert_raised"]
    assert sorted(decided) == sorted(["usage.alert_acknowledged", "usage.alert_incident_opened"]
                                     + ["usage.alert_already_decided"] * 4)
