"""Scaled out on PostgreSQL: two `countersign clock` processes both watching (leader election
off, so nothing but the row claims and the alerts' unique key keeps them apart) — every event
counted once into the aggregates, every alert raised and posted once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from models.usage import UsageAlert, UsageDaily, UsageEvent
from tests.e2e.usage_support import made_tokens

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PLAYBOOK = Path(__file__).parent / "playbooks" / "usage.yaml"  # undocumented_model only
MODELS = [f"exp-model-{n}" for n in range(12)]
EVENTS = 1200


def test_two_watching_clocks_raise_each_alert_once(bot_factory, fake_slack, postgres_base_url,  # noqa: ANN001
                                                    db) -> None:
    web = bot_factory("serve", CLOCK_IN_WEB="false", PLAYBOOK_PATH=str(PLAYBOOK)).start()
    token = made_tokens(db, "ingest")["ingest"]
    today = datetime.now(UTC).isoformat()
    for start in range(0, EVENTS, 400):
        events = [{"id": f"evt-{n}", "started_at": today, "model": MODELS[n % len(MODELS)],
                   "provider": "openai", "service": f"svc-{n % 5}", "input_tokens": 3}
                  for n in range(start, start + 400)]
        answer = httpx.post(f"{web.url}/api/v1/ai-events", json={"events": events}, timeout=60,
                            headers={"Authorization": f"Bearer {token}"})
        assert answer.json()["accepted"] == 400, answer.text
    for _ in range(2):
        bot_factory("clock", CLOCK_LEADER_ELECTION="false", USAGE_WATCH_INTERVAL="0.1",
                    PLAYBOOK_PATH=str(PLAYBOOK)).start(wait_healthy=False)

    def unwatched() -> int:
        with db.session() as s:
            return s.scalar(select(func.count()).select_from(UsageEvent)
                            .where(UsageEvent.watched_at.is_(None)))

    fake_slack._poll(lambda: [1] if unwatched() == 0 else [], 1, 60, "every event watched")
    fake_slack.wait_for("chat.postMessage", count=len(MODELS), timeout=30)
    with db.session() as s:
        alerts = s.scalars(select(UsageAlert)).all()
        counted = s.scalar(select(func.sum(UsageDaily.events)))
        tokens_in = s.scalar(select(func.sum(UsageDaily.input_tokens)))
    assert sorted(a.key for a in alerts) == sorted(f"openai/{m}" for m in MODELS)
    assert (counted, tokens_in) == (EVENTS, 3 * EVENTS)
    posted = [c for c in fake_slack.calls_to("chat.postMessage") if "was used" in c.args.get("text", "")]
    assert sorted(m for m in MODELS for c in posted if f"{m} (openai)" in c.args["text"]) == sorted(MODELS)
