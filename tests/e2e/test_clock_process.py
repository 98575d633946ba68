"""Scaled out: web processes without a clock, and `countersign clock` delivering."""

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from models.outbox import SENT, OutboxMessage
from services import outbox


def owe(db, key, channel="C0GOV"):
    with db.session() as s:
        outbox.enqueue(s, key=key, method="chat.postMessage", channel=channel,
                       payload={"text": key}, now=datetime.now(UTC))


def sent_count(db):
    with db.session() as s:
        return len(s.exec(select(OutboxMessage).where(OutboxMessage.status == SENT)).all())


def test_web_without_clock_delivers_nothing_and_clock_delivers(bot_factory, fake_slack, db):
    bot_factory("serve", CLOCK_IN_WEB="false").start()
    owe(db, "m1")
    clock = bot_factory("clock").start(wait_healthy=False)
    fake_slack.wait_for("chat.postMessage", timeout=20)
    fake_slack._poll(lambda: [1] * sent_count(db), 1, 10, "sent rows")
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert clock.proc.poll() is None


@pytest.mark.postgres
def test_two_clocks_on_postgresql_one_leads_and_the_other_takes_over(
        bot_factory, fake_slack, postgres_base_url, db):
    first = bot_factory("clock").start(wait_healthy=False)
    second = bot_factory("clock").start(wait_healthy=False)
    for i in range(20):
        owe(db, f"a{i}", channel=f"C0A{i}")
    fake_slack.wait_for("chat.postMessage", count=20, timeout=30)
    fake_slack._poll(lambda: [1] * sent_count(db), 20, 10, "sent rows")
    leaders = [p for p in (first, second) if "this process now leads the clock" in p.output()]
    assert len(leaders) == 1, "exactly one clock leads"
    leaders[0].kill()
    for i in range(20):
        owe(db, f"b{i}", channel=f"C0B{i}")
    fake_slack._poll(lambda: [1] * sent_count(db), 40, 30, "sent rows after failover")
    keys = [c.args["metadata"]["event_payload"]["key"] for c in fake_slack.calls_to("chat.postMessage")]
    assert sorted(keys) == sorted([f"a{i}" for i in range(20)] + [f"b{i}" for i in range(20)])
