"""Usage alerts through the running bot: events posted over HTTP, the watcher on the bot's clock
raising an alert in the governance channel, and the Acknowledge and Open incident buttons."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from blocks.usage_alerts import ACKNOWLEDGE, OPEN_INCIDENT
from models.audit import AuditEvent
from models.incident import Incident
from services import tokens
from tests.harness.fake_slack import FakeSlack
from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient

pytestmark = pytest.mark.e2e

PLAYBOOK = Path(__file__).parent / "playbooks" / "usage.yaml"
GOVERNANCE = "C0GOV"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def usage_bot(bot_factory, db):  # noqa: ANN001, ANN201
    with db.session() as s:
        token = tokens.create(s, name="gateway", scopes="ingest", now=T0, actor="cli:test")
    return bot_factory(PLAYBOOK_PATH=str(PLAYBOOK), USAGE_WATCH_INTERVAL="0.2").start(), token


def post_events(bot, token: str, *events: dict) -> None:  # noqa: ANN001
    answer = httpx.post(f"{bot.url}/api/v1/ai-events", json={"events": list(events)}, timeout=30,
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text


def ai_call(n: int, model: str, **extra: str) -> dict:  # noqa: ANN003
    return {"id": f"evt-{n}", "started_at": datetime.now(UTC).isoformat(), "model": model,
            "provider": "openai", "service": "copy-writer", "user": "U0WRITER", **extra}


def alert_message(fake: FakeSlack, words: str) -> dict:
    fake._poll(lambda: [m for m in fake.messages(GOVERNANCE) if words in m["text"]], 1, 20,
               f"the usage alert about {words}")
    return next(m for m in fake.messages(GOVERNANCE) if words in m["text"])


def buttons(message: dict) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def button_value(message: dict, action_id: str) -> str:
    return next(e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == action_id)


def updates_of(fake: FakeSlack, ts: str) -> list[dict]:
    return [c.args for c in fake.calls_to("chat.update") if c.args.get("ts") == ts]


def answers(fake: FakeSlack, count: int) -> list[str]:
    return [body.get("text", "") for _, body in fake.wait_for_responses(count, timeout=20)]


def audited(db, action: str) -> list[AuditEvent]:  # noqa: ANN001
    with db.session() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_an_alert_reaches_slack_and_its_buttons_decide_it(usage_bot, fake_slack, db) -> None:  # noqa: ANN001
    bot, token = usage_bot
    post_events(bot, token, ai_call(1, "gpt-4o-mini", input="Draft the launch post"),
                ai_call(2, "gpt-4o-mini"), ai_call(3, "o9-experimental", user="U0OTHER"))
    mini = alert_message(fake_slack, "gpt-4o-mini")
    other = alert_message(fake_slack, "o9-experimental")
    assert "no approved use case documents it" in mini["text"]
    assert buttons(mini) == [ACKNOWLEDGE, OPEN_INCIDENT]
    shown = "\n".join(b["text"]["text"] for b in mini["blocks"] if b["type"] == "section")
    assert "*Services:* copy-writer" in shown and "*People:* <@U0WRITER>" in shown and "*Calls:* 2" in shown

    with SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake_slack) as slack:
        assert slack.block_action(ACKNOWLEDGE, user_id="U0BOB", channel_id=GOVERNANCE,
                                  message_ts=mini["ts"]).status_code == 200
        assert "You acknowledged this usage alert" in answers(fake_slack, 1)[-1]
        fake_slack._poll(lambda: updates_of(fake_slack, mini["ts"]), 1, 20, "the alert's update")
        [update] = updates_of(fake_slack, mini["ts"])
        assert buttons(update) == [OPEN_INCIDENT]
        assert any("Acknowledged by <@U0BOB>" in e["text"] for b in update["blocks"] if b["type"] == "context"
                   for e in b["elements"])
        alert_id = button_value(mini, ACKNOWLEDGE)
        assert [(a.actor, a.entity_id) for a in audited(db, "usage.alert_acknowledged")] == [
            ("U0BOB", alert_id)]

        # A click from a client still showing the message as it was: told who was first.
        slack.block_action(ACKNOWLEDGE, alert_id, user_id="U0CAROL", channel_id=GOVERNANCE,
                           message_ts=mini["ts"])
        assert "<@U0BOB> already acknowledged this alert" in answers(fake_slack, 2)[-1]

        slack.block_action(OPEN_INCIDENT, user_id="U0CAROL", channel_id=GOVERNANCE, message_ts=other["ts"])
        opened = answers(fake_slack, 3)[-1]
        assert "is open with severity sev3" in opened
        slack.block_action(OPEN_INCIDENT, button_value(other, OPEN_INCIDENT), user_id="U0DAVE",
                           channel_id=GOVERNANCE, message_ts=other["ts"])
        assert "<@U0CAROL> already opened AI incident" in answers(fake_slack, 4)[-1]

    with db.session() as s:
        [incident] = s.exec(select(Incident)).all()
    assert f"AI incident #{incident.id}" in opened
    assert (incident.severity, incident.reporter) == ("sev3", "U0CAROL")
    assert incident.title.startswith("AI usage: o9-experimental (openai) was used")
    for line in ("Who: services copy-writer; people U0OTHER", "Models: o9-experimental (providers: openai)",
                 "Calls: 1, first seen"):
        assert line in incident.description
    fake_slack._poll(lambda: updates_of(fake_slack, other["ts"]), 1, 20, "the alert's update")
    assert buttons(updates_of(fake_slack, other["ts"])[-1]) == []
    # The incident went out the way every incident does: announced in governance.
    fake_slack._poll(lambda: [m for m in fake_slack.messages(GOVERNANCE)
                              if f"#{incident.id}" in m["text"] and "usage alert" not in m["text"].lower()],
                     1, 20, "the incident's announcement")
    assert [a.actor for a in audited(db, "usage.alert_incident_opened")] == ["U0CAROL"]
    assert len(audited(db, "usage.alert_already_decided")) == 2
    # Two alerts, each posted once, however often the watcher ran meanwhile.
    assert len([m for m in fake_slack.messages(GOVERNANCE) if m["text"].startswith("AI usage alert")]) == 2
