"""Slash-command help and mistakes, through the real server with signed requests."""

import time

import pytest
from sqlmodel import select

from blocks.help import COMMANDS
from models.inbound import InboundDelivery

ALL_COMMANDS = [c.name for c in COMMANDS]


def text_of(body: dict) -> str:
    parts = [body.get("text", "")]
    for block in body.get("blocks", []):
        t = block.get("text")
        if isinstance(t, dict):
            parts.append(t.get("text", ""))
        for el in block.get("elements", []) or []:
            if isinstance(el, dict):
                parts.append(el.get("text", ""))
    return "\n".join(parts)


def test_ai_approve_help_is_ephemeral_lists_every_command_and_acks_fast(slack):
    started = time.perf_counter()
    resp = slack.command("/ai-approve", "help")
    elapsed = time.perf_counter() - started
    assert resp.status_code == 200
    body = resp.json()
    assert body["response_type"] == "ephemeral"
    text = text_of(body)
    for name in ALL_COMMANDS:
        assert name in text
    assert text.index("/ai-approve") < text.index("/ai-incident")
    assert elapsed < 3.0, f"ack took {elapsed:.2f}s; Slack gives up after 3s"


@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_help_works_on_every_command_and_puts_it_first(slack, command):
    body = slack.command(command, "help").json()
    text = text_of(body)
    first = min(text.find(c) for c in ALL_COMMANDS if c in text)
    assert text.find(command) == first


def test_unknown_subcommand_says_so_and_shows_help(slack):
    body = slack.command("/ai-incident", "frobnicate now").json()
    assert body["response_type"] == "ephemeral"
    assert "`frobnicate` is not something `/ai-incident` understands" in text_of(body)
    assert "/ai-oncall" in text_of(body)


def test_the_audit_log_command_is_built_and_says_who_may_read_what(slack):
    body = slack.command("/ai-audit", "recent", user_id="U0NOTADMIN").json()
    assert body["response_type"] == "ephemeral"
    assert "not available yet" not in body["text"]
    assert "Only the playbook's admins" in body["text"] and "`/ai-audit request 42`" in body["text"]


def test_oversize_text_is_refused_with_the_limit(slack):
    body = slack.command("/ai-approve", "code " + "x" * 5000).json()
    assert body["response_type"] == "ephemeral"
    assert "at most 3000" in body["text"]


def test_a_retried_slash_command_is_taken_once(slack, db):
    first = slack.command("/ai-approve", "help", trigger_id="trig-1")
    again = slack.command("/ai-approve", "help", trigger_id="trig-1", retry_num=1)
    assert "Countersign" in first.text
    assert again.status_code == 200 and again.text == ""
    with db.session() as s:
        assert s.exec(select(InboundDelivery.key)).all() == ["trigger:trig-1"]


def test_app_home_is_published_when_opened(slack, fake_slack):
    resp = slack.event({"type": "app_home_opened", "user": "U0USER", "tab": "home",
                        "channel": "D0USER", "event_ts": "1700000000.000100"})
    assert resp.status_code == 200
    [call] = fake_slack.wait_for("views.publish")
    assert call.args["user_id"] == "U0USER"
    assert call.args["view"]["type"] == "home"
    assert call.token == "xoxb-test-token"


def test_health_and_readiness(bot):
    import httpx

    assert httpx.get(f"{bot.url}/healthz").json() == {"ok": True}
    assert httpx.get(f"{bot.url}/readyz").json() == {"ok": True, "database": "ok"}
    metrics = httpx.get(f"{bot.url}/metrics").text
    assert "countersign_outbox_delivered_total" in metrics


def test_logs_are_one_json_object_per_line_with_request_fields(bot, slack):
    import json

    resp = slack.command("/ai-approve", "help", user_id="U0LOGGED")
    request_id = resp.headers["x-request-id"]
    # The access line is written after the response is sent: wait for it.
    [access] = bot.wait_for_log(lambda r: r.get("request_id") == request_id and "latency_ms" in r,
                                what="the request's access line")
    # Every complete line parses: no stray text. (The last may still be being written.)
    complete = bot.output().rpartition("\n")[0]
    for line in complete.splitlines():
        if line.strip():
            json.loads(line)
    assert access["team"] == "T0001"
    assert access["user"] == "U0LOGGED"
    assert access["action"] == "/ai-approve"
    assert access["status"] == 200
    assert access["latency_ms"] >= 0
