"""The /slack/events boundary, end to end against the real bot: an unverifiable request is a 401
that writes nothing; a verified one that is malformed gets a 2xx (and an explanation where there
is a person to tell) or a 400 that says what is wrong — never a 5xx, never a traceback, never a
row; metrics carry no label from request content; a Slack retry of a delivery whose first
attempt failed, or whose process died, is still handled."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table on SQLModel.metadata)
from blocks import faults
from blocks.values import NOT_OURS
from handlers.shortcuts import NO_MESSAGE
from models.inbound import DONE, RELEASED, InboundDelivery
from tests.e2e.waiting import until
from tests.harness import payloads
from tests.harness.faults import Fault
from tests.harness.server import SIGNING_SECRET

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
BOOKKEEPING = {"inbound_delivery"}  # a request that reaches a listener is claimed, by design
# The start-up look-ups of the playbook's user groups; nothing a request causes.
STARTUP_CALLS = {"auth.test", "usergroups.users.list"}
INCIDENT = payloads.slash_command("/ai-incident", "sev2 Prompt injection in the support bot")


START_TIMEOUT = 90.0  # a loaded machine (the suite beside CPU burners) starts a bot slowly


@pytest.fixture
def bot(bot_factory):  # noqa: ANN001 - the e2e fixture, with room to start
    return bot_factory().start(timeout=START_TIMEOUT)


# -- helpers ------------------------------------------------------------------------------


def sign(raw: bytes, timestamp: int | str | None = None, secret: str = SIGNING_SECRET) -> dict:
    """Slack's v0 headers over the raw bytes, computed here rather than by the bot's code."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


_http = httpx.Client(timeout=10)  # one client: building one per request costs more than the request


def post(bot, raw: bytes | str, content_type: str = FORM, headers: dict | None = None,
         **extra: str) -> httpx.Response:
    raw = raw.encode() if isinstance(raw, str) else raw
    headers = sign(raw) if headers is None else headers
    return _http.post(f"{bot.url}/slack/events", content=raw,
                      headers={"Content-Type": content_type, **headers, **extra})


def form(payload: dict | str) -> str:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)})


def row_counts(db) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                for t in SQLModel.metadata.sorted_tables}


def domain(counts: dict[str, int]) -> dict[str, int]:
    return {name: n for name, n in counts.items() if name not in BOOKKEEPING}


def served(bot, response: httpx.Response) -> None:
    """Wait (bounded) for the request's access line: everything it logged is in by then."""
    request_id = response.headers["x-request-id"]
    bot.wait_for_log(lambda r: r.get("request_id") == request_id and "latency_ms" in r,
                     what=f"the access line of request {request_id}")


def faults_logged(bot) -> list[dict]:
    return bot.log_records(lambda r: r.get("level") in ("ERROR", "CRITICAL") or "exc_info" in r)


def explains(response: httpx.Response) -> bool:
    """A 2xx, or a 4xx whose JSON body says what is wrong."""
    if 200 <= response.status_code < 300:
        return True
    if 400 <= response.status_code < 500:
        try:
            return bool(response.json().get("error"))
        except ValueError:
            return False
    return False


def block_action(fake, action_id: str, value: str | None, **fields) -> tuple[str, dict]:
    trigger = payloads.new_trigger_id()
    payload = payloads.block_actions(action_id, value, trigger_id=trigger,
                                     response_url=fake.response_url(trigger))
    return trigger, {**payload, **fields}


def told(fake, trigger: str) -> list[str]:
    """What the person who sent `trigger` was told, once told (bounded wait)."""
    return [answer.get("text", "") for _, answer in fake.wait_for_responses(key=trigger)]


# -- signatures ---------------------------------------------------------------------------


def test_unverifiable_requests_are_401_and_write_nothing(bot, db, fake_slack):
    body = urlencode(INCIDENT).encode()
    now = int(time.time())
    good = sign(body)
    cases = {
        "no headers": {},
        "no timestamp": {"X-Slack-Signature": good["X-Slack-Signature"]},
        "no signature": {"X-Slack-Request-Timestamp": good["X-Slack-Request-Timestamp"]},
        "empty timestamp": sign(body, ""),
        "non-numeric timestamp": sign(body, "soon"),
        "float timestamp": sign(body, f"{now}.5"),
        "float-looking whole timestamp": sign(body, f"{now}.0"),
        "timestamp with underscores": sign(body, f"{now:_}"),  # int() takes it; Slack never sends it
        "non-ASCII signature": {**good, "X-Slack-Signature": ("v0=é" + "0" * 63).encode()},
        "upper-case hex signature": {**good, "X-Slack-Signature": good["X-Slack-Signature"].upper()},
        # Past the 5 minutes either way, with room for the time this loop takes to get there.
        "stale": sign(body, now - 301),
        "future": sign(body, now + 360),
        "forged": sign(body, secret="not-" + SIGNING_SECRET),
        "signed for another body": sign(body + b"&x=1"),
    }
    before = row_counts(db)
    wrong = {}
    for case, headers in cases.items():
        response = post(bot, body, headers=headers)
        served(bot, response)
        if response.status_code != 401 or "Countersign" in response.text:
            wrong[case] = (response.status_code, response.text[:200])
    assert wrong == {}
    assert row_counts(db) == before
    assert [c.method for c in fake_slack.calls if c.method not in STARTUP_CALLS] == []
    assert faults_logged(bot) == []
    # The same body, signed properly, does write: the checks above could have failed.
    assert post(bot, body).status_code == 200
    until(lambda: row_counts(db)["incident"] == before["incident"] + 1, timeout=10,
          what="the properly signed report's incident")


# -- malformed bodies ---------------------------------------------------------------------


def test_malformed_bodies_get_a_2xx_or_a_400_that_explains_and_write_nothing(bot, db, fake_slack):
    action = payloads.block_actions("approval_approve", "1:1")
    view = payloads.view_submission("approval_new", {})
    event = payloads.event_callback({"type": "app_home_opened", "user": "U0USER", "tab": "home"})
    no_user = {k: v for k, v in INCIDENT.items() if k != "user_id"}
    cases = {
        "payload not JSON": (form("{not json"), FORM),
        "payload empty": (form(""), FORM),
        "payload a list": (form([]), FORM),
        "payload null": (form("null"), FORM),
        "payload nested 10,000 deep": (form("[" * 10_000 + "]" * 10_000), FORM),
        "actions empty": (form({**action, "actions": []}), FORM),
        "view sent as a string": (form({**view, "view": "V0VIEW"}), FORM),
        "user missing": (form({k: v for k, v in action.items() if k != "user"}), FORM),
        "user a number": (form({**action, "user": 7}), FORM),
        "team a list": (form({**action, "team": ["T1"]}), FORM),
        "Events API body a list": (json.dumps([event]), JSON),
        "Events API body null": ("null", JSON),
        "event not an object": (json.dumps({**event, "event": "app_home_opened"}), JSON),
        "event without a type": (json.dumps({**event, "event": {"user": "U0USER"}}), JSON),
        "invalid UTF-8": (b"\xff\xfe\xfa" + json.dumps(event).encode(), JSON),
        "UTF-16": (json.dumps(event).encode("utf-16"), JSON),
        "a form that is neither": ("hello=world", FORM),
        "slash command without user_id": (urlencode(no_user), FORM),
    }
    before = row_counts(db)
    wrong = {}
    for case, (raw, content_type) in cases.items():
        response = post(bot, raw, content_type)
        served(bot, response)
        if not explains(response):
            wrong[case] = (response.status_code, response.text[:200])
    assert wrong == {}
    assert row_counts(db) == before  # refused at the boundary: not even claimed
    assert faults_logged(bot) == []
    answer = post(bot, urlencode(no_user)).json()
    assert answer["response_type"] == "ephemeral" and "did not say who" in answer["text"]


def test_hostile_button_values_are_explained_to_the_presser_and_change_nothing(bot, db, fake_slack):
    buttons = ["approval_approve", "approval_reject", "approval_changes", "approval_cancel",
               "approval_resubmit", "incident_ack", "incident_unack", "incident_resolve",
               "incident_snooze", "incident_timeline", "incident_reopen", "registry_edit",
               "registry_reviewed", "registry_still_accurate", "registry_snooze",
               "home_page_next_records"]
    values = ["abc", "-1", "9" * 20]  # the issue's; every other shape is in the parsers' unit tests
    before = row_counts(db)
    sent = []
    for action_id in buttons:
        for value in values:
            trigger, payload = block_action(fake_slack, action_id, value)
            response = post(bot, form(payload))
            assert response.status_code == 200, (action_id, value, response.text)
            sent.append((action_id, value, trigger))
    wrong = {(a, v): text for a, v, trigger in sent if (text := told(fake_slack, trigger)) != [NOT_OURS]}
    assert wrong == {}
    assert domain(row_counts(db)) == domain(before)
    assert faults_logged(bot) == []


def test_whoever_can_be_told_is_told_what_happened(bot, fake_slack):
    trigger = payloads.new_trigger_id()
    shortcut = payloads.message_shortcut("report_ai_incident", {"ts": "1.2"}, trigger_id=trigger,
                                         response_url=fake_slack.response_url(trigger))
    del shortcut["message"]
    assert post(bot, form(shortcut)).status_code == 200
    assert told(fake_slack, trigger) == [NO_MESSAGE]

    trigger, payload = block_action(fake_slack, f"not_ours_{secrets.token_hex(3)}", "1")
    assert post(bot, form(payload)).status_code == 200
    assert told(fake_slack, trigger) == [faults.UNKNOWN_BUTTON]

    unknown_form = post(bot, form(payloads.view_submission("not_our_form", {}))).json()
    assert unknown_form["response_action"] == "update"
    assert faults.UNKNOWN_FORM in json.dumps(unknown_form["view"])

    unknown_command = post(bot, urlencode(payloads.slash_command("/not-ours", "x"))).json()
    assert unknown_command["response_type"] == "ephemeral"
    assert unknown_command["text"] == faults.UNKNOWN_COMMAND

    # Bolt alone read any form containing "payload" as an empty interactive payload: a 404.
    asked = post(bot, urlencode(payloads.slash_command("/ai-approve", "help payload")))
    assert asked.status_code == 200 and "/ai-approve" in asked.json()["text"]
    served(bot, asked)
    assert faults_logged(bot) == []


# -- metrics ------------------------------------------------------------------------------


def test_metrics_are_labelled_only_by_names_we_defined(bot, fake_slack):
    marker = f"zz{secrets.token_hex(4)}"
    hostile = [
        form(block_action(fake_slack, f"{marker}_action", "1")[1]),
        form(payloads.view_submission(f"{marker}_view", {})),
        form(payloads.message_shortcut(f"{marker}_shortcut", {"ts": "1.2"}, trigger_id=marker,
                                       response_url=fake_slack.response_url(marker))),
        form(payloads.block_suggestion(f"{marker}_options", "q", block_id="b",
                                       view={"id": "V1", "blocks": []})),
        urlencode(payloads.slash_command(f"/{marker}", "x")),
    ]
    for raw in hostile:
        assert post(bot, raw).status_code == 200
    event = json.dumps(payloads.event_callback({"type": f"{marker}_event", "user": "U0USER"}))
    assert post(bot, event, JSON).status_code == 200
    assert post(bot, form(block_action(fake_slack, "approval_approve", "1:1")[1])).status_code == 200
    assert post(bot, form("[]")).status_code == 400
    assert post(bot, b"x=1", headers={}).status_code == 401

    exposed = _http.get(f"{bot.url}/metrics").text
    assert marker not in exposed
    kinds = {line.split('kind="')[1].split('"')[0] for line in exposed.splitlines()
             if line.startswith("countersign_slack_requests_total{")}
    assert {"action:other", "view:other", "shortcut:other", "options:other", "command:other",
            "event:other", "action:approval_approve", "refused", "unverified"} <= kinds


# -- Slack's retries ----------------------------------------------------------------------


def delivery(db, event_id: str) -> InboundDelivery | None:
    with db.session() as s:
        return s.get(InboundDelivery, f"event:{event_id}")


def home_opened() -> dict:
    return {"type": "app_home_opened", "user": "U0USER", "tab": "home", "channel": "D0USER"}


def published(fake) -> list:
    return [c for c in fake.calls if c.method == "views.publish" and c.fault is None]


def test_a_retry_of_a_delivery_whose_listener_failed_is_handled(slack, fake_slack, db, bot):
    # views.publish failing past the client's own retries makes the listener raise.
    fake_slack.inject("views.publish", *[Fault.server_error()] * 3)
    event_id = payloads.new_event_id()
    assert slack.event(home_opened(), event_id=event_id).status_code == 200
    until(lambda: (d := delivery(db, event_id)) is not None and d.status == RELEASED, timeout=20,
          what="the failed delivery released")
    assert published(fake_slack) == []

    assert slack.event(home_opened(), event_id=event_id, retry_num=1,
                       retry_reason="http_error").status_code == 200
    until(lambda: published(fake_slack), timeout=10, what="App Home published by the retry")
    until(lambda: delivery(db, event_id).status == DONE, timeout=10, what="the retry settled done")

    # Done now: a further retry is dropped.
    again = slack.event(home_opened(), event_id=event_id, retry_num=2)
    assert again.status_code == 200
    bot.wait_for_log(lambda r: f"event:{event_id} (retry 2)" in r.get("message", ""),
                     what="the done delivery's retry dropped")
    assert len(published(fake_slack)) == 1


def test_a_retry_after_the_process_died_mid_delivery_is_handled(bot_factory, fake_slack, db):
    # A long client timeout, so the first delivery is still waiting on Slack when it is killed.
    bot = bot_factory(SLACK_API_TIMEOUT="120").start(timeout=START_TIMEOUT)
    fake_slack.inject("views.publish", Fault.hang())
    event_id = payloads.new_event_id()
    body = json.dumps(payloads.event_callback(home_opened(), event_id=event_id))

    def retry(number: int) -> None:
        response = post(bot, body, JSON, **{"X-Slack-Retry-Num": str(number)})
        assert response.status_code == 200
        served(bot, response)

    def dropped(number: int) -> None:
        bot.wait_for_log(lambda r: f"event:{event_id} (retry {number})" in r.get("message", ""),
                         what=f"retry {number} dropped")

    assert post(bot, body, JSON).status_code == 200
    fake_slack.wait_for("views.publish")  # the first delivery is now held inside its listener
    retry(1)
    dropped(1)  # the first is still working

    bot.kill()
    fake_slack.clear_faults()
    fake_slack.release_hangs()
    # The restart releases what the dead process held (no lease to wait out) and replays it;
    # whichever of that and Slack's retry comes first handles it, once.
    bot.start(timeout=START_TIMEOUT)
    retry(2)
    until(lambda: published(fake_slack), timeout=10, what="App Home published by the retry")
    until(lambda: delivery(db, event_id).status == DONE, timeout=10, what="the retry settled done")
    retry(3)
    dropped(3)
    assert len(published(fake_slack)) == 1
