"""The running bot delivers the outbox through 429s, 5xx and its own death: nothing lost,
nothing doubled. Messages are owed the way a state change owes them: committed rows."""

from datetime import UTC, datetime

import httpx
from sqlmodel import select

from models.outbox import SENT, OutboxMessage
from services import outbox
from tests.harness.fake_slack import Fault


def owe(db, key, channel, text=None):
    with db.session() as s:
        outbox.enqueue(s, key=key, method="chat.postMessage", channel=channel,
                       payload={"text": text or key}, now=datetime.now(UTC))


def delivered_keys(fake, channels):
    keys = []
    for channel in channels:
        for message in fake.messages(channel):
            keys.append(message["metadata"]["event_payload"]["key"])
    return keys


def wait_all_sent(db, fake, n, timeout=20):
    def sent():
        with db.session() as s:
            rows = s.exec(select(OutboxMessage)).all()
        return [r for r in rows if r.status == SENT]

    fake._poll(sent, n, timeout, "outbox rows sent")  # same polling and failure dump as calls
    with db.session() as s:
        return s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_delivery_through_rate_limits_and_server_errors(bot, fake_slack, db):
    fake_slack.inject("chat.postMessage", Fault.rate_limited(retry_after=1),
                      Fault.server_error(500), Fault.server_error(503), Fault.server_error(502))
    channels = ["C0APPROVE", "C0GOV"]
    for i in range(6):
        owe(db, f"msg-{i}", channels[i % 2], text=f"message {i}")
    rows = wait_all_sent(db, fake_slack, 6)
    keys = delivered_keys(fake_slack, channels)
    assert sorted(keys) == sorted(f"msg-{i}" for i in range(6))  # each exactly once
    # Order within each channel is the order owed.
    assert [m["text"] for m in fake_slack.messages("C0APPROVE")] == [
        "message 0", "message 2", "message 4"]
    faults = [c.fault for c in fake_slack.calls_to("chat.postMessage") if c.fault]
    assert sorted(faults) == ["rate_limited", "server_error", "server_error", "server_error"]
    assert all(r.result_ts for r in rows)
    metrics = httpx.get(f"{bot.url}/metrics").text
    assert 'countersign_outbox_delivered_total{method="chat.postMessage"} 6.0' in metrics


def test_a_dispatcher_killed_mid_delivery_resumes_without_posting_twice(bot_factory, fake_slack,
                                                                      db):
    bot = bot_factory().start()
    fake_slack.inject("chat.postMessage", Fault.hang())
    owe(db, "crash-1", "C0GOV", text="posted, but the bot died before hearing back")
    fake_slack.wait_for("chat.postMessage")
    bot.kill()  # SIGKILL while Slack has posted and the bot has not recorded it
    fake_slack.release_hangs()
    with db.session() as s:
        row = s.exec(select(OutboxMessage)).one()
    assert row.status == "sending" and row.result_ts is None

    bot.start()
    [row] = wait_all_sent(db, fake_slack, 1)
    [message] = fake_slack.messages("C0GOV")
    assert row.result_ts == message["ts"]
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert fake_slack.calls_to("conversations.history"), "the restarted bot looked first"


def test_a_dispatcher_killed_before_slack_posted_posts_after_restart(bot_factory, fake_slack, db):
    bot = bot_factory().start()
    fake_slack.inject("chat.postMessage", Fault.slow(30, apply=False))
    owe(db, "crash-2", "C0GOV")
    fake_slack.wait_for("chat.postMessage")
    bot.kill()
    bot.start()
    [row] = wait_all_sent(db, fake_slack, 1)
    assert [m["ts"] for m in fake_slack.messages("C0GOV")] == [row.result_ts]
