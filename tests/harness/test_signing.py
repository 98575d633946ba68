"""SlackSigner and SignedSlackClient against slack_sdk's verifier and a real Bolt AsyncApp."""

import asyncio
import time

import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.harness.fake_slack import FakeSlack
from tests.harness.signing import STALE_AGE_SECONDS, SignedSlackClient, SlackSigner

SECRET = "test-signing-secret"
APPROVE_BUTTON = {
    "type": "actions",
    "block_id": "decision",
    "elements": [{"type": "button", "action_id": "approve", "value": "req-42",
                  "text": {"type": "plain_text", "text": "Approve"}}],
}


def test_signature_verifies_with_slack_sdk():
    body = "token=x&command=%2Fcountersign&text=hello"
    headers = SlackSigner(SECRET).headers(body)
    verifier = SignatureVerifier(SECRET)

    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert not verifier.is_valid(body + "&x=1", headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    stale = SlackSigner(SECRET).headers(body, timestamp=int(time.time()) - STALE_AGE_SECONDS)
    assert not verifier.is_valid(body, stale["X-Slack-Request-Timestamp"], stale["X-Slack-Signature"])


async def until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.fixture
def fake():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def bolt(fake):
    """A Bolt AsyncApp on a loopback port, talking to the fake; yields (app, received payloads, url)."""
    app = AsyncApp(client=AsyncWebClient(token="xoxb-test", base_url=fake.base_url), signing_secret=SECRET)
    received: list[dict] = []

    @app.command("/countersign")
    async def command(ack, body, respond):
        received.append(body)
        await ack()
        await respond("on it")

    @app.action({"action_id": "approve", "block_id": "decision"})
    async def approve(ack, body):
        received.append(body)
        await ack()

    @app.view("request_modal")
    async def submit(ack, body):
        received.append(body)
        await ack(response_action="errors", errors={"reason": "Too short"})

    @app.message_shortcut("log_decision")
    async def shortcut(ack, body):
        received.append(body)
        await ack()

    @app.event("app_mention")
    async def mention(body, request):
        received.append({**body, "retry_num": request.headers.get("x-slack-retry-num")})

    runner = web.AppRunner(app.web_app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield app, received, f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_bolt_accepts_and_routes_every_payload_kind(fake, bolt):
    _, received, url = bolt
    posted = await AsyncWebClient(token="xoxb-test", base_url=fake.base_url).chat_postMessage(
        channel="C0CHAN", text="Sign-off needed", blocks=[APPROVE_BUTTON])
    opened = await AsyncWebClient(token="xoxb-test", base_url=fake.base_url).views_open(
        trigger_id="1.2.3", view={"type": "modal", "callback_id": "request_modal", "private_metadata": "req-42",
                                  "title": {"type": "plain_text", "text": "Request"}, "blocks": []})
    client = SignedSlackClient(url, SECRET, fake=fake)

    def send_all():
        with client:
            return [
                client.command("/countersign", "status", trigger_id="t-cmd"),
                client.block_action("approve", channel_id="C0CHAN", message_ts=posted["ts"]),
                client.view_submission("request_modal", {"reason": {"text": {"type": "plain_text_input",
                                                                             "value": "x"}}},
                                       view_id=opened["view"]["id"]),
                client.message_shortcut("log_decision", fake.messages("C0CHAN")[0]),
                client.event({"type": "app_mention", "user": "U0USER", "text": "<@UBOT> hi", "channel": "C0CHAN",
                              "ts": "1700000001.000100", "event_ts": "1700000001.000100"}, retry_num=1,
                             retry_reason="http_timeout"),
                client.url_verification("challenge-token"),
            ]

    responses = await asyncio.to_thread(send_all)

    assert [r.status_code for r in responses] == [200] * 6
    command, action, submission, shortcut = received[:4]
    assert command["text"] == "status"
    assert (action["actions"][0]["value"], action["message"]["ts"]) == ("req-42", posted["ts"])
    assert submission["view"]["private_metadata"] == "req-42"
    assert responses[2].json() == {"response_action": "errors", "errors": {"reason": "Too short"}}
    assert shortcut["message"]["text"] == "Sign-off needed"
    await asyncio.to_thread(fake.wait_for_responses, 1, 5, "t-cmd")
    assert fake.responses[0][1]["text"] == "on it"
    await until(lambda: len(received) == 5)  # Bolt runs event listeners after acking
    assert received[4]["event"]["type"] == "app_mention" and received[4]["retry_num"] == ["1"]
    assert responses[5].json() == {"challenge": "challenge-token"}


@pytest.mark.parametrize("signing", ["unsigned", "forged", "stale", "tampered"])
async def test_bolt_rejects_badly_signed_requests(bolt, signing):
    _, received, url = bolt

    def send():
        with SignedSlackClient(url, SECRET) as client:
            return client.command("/countersign", "status", signing=signing)

    response = await asyncio.to_thread(send)

    assert response.status_code == 401
    assert received == []
