"""FakeSlack seen through the real slack_sdk clients the bot uses."""

import asyncio
import json
import re

import aiohttp
import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.harness import payloads
from tests.harness.fake_slack import FakeSlack, Fault
from tests.harness.paths import require_shared_file

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Sign-off needed*"}}
METADATA = {"event_type": "signoff_requested", "event_payload": {"request_id": "r-1"}}


@pytest.fixture
def fake():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def checked_fake():
    with FakeSlack(spec_path=str(require_shared_file("slack_web_openapi_v2.json"))) as fake:
        yield fake


def web_client(fake: FakeSlack, **kwargs) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=fake.base_url, **kwargs)


async def test_post_message_is_recorded_and_stored(fake):
    response = await web_client(fake).chat_postMessage(channel="C0CHAN", text="hello", blocks=[SECTION])

    [call] = fake.calls
    assert (call.method, call.token, call.fault) == ("chat.postMessage", "xoxb-test", None)
    assert call.args == {"channel": "C0CHAN", "text": "hello", "blocks": [SECTION]}
    assert response["channel"] == "C0CHAN"
    assert re.fullmatch(r"\d{10}\.\d{6}", response["ts"])
    [stored] = fake.messages("C0CHAN")
    assert (stored["ts"], stored["text"], stored["blocks"], stored["updated_count"]) == (
        response["ts"], "hello", [SECTION], 0)


def test_form_body_json_fields_and_token_argument_are_decoded(fake):
    httpx.post(fake.base_url + "chat.postMessage", data={
        "token": "xoxb-form", "channel": "C0CHAN", "text": "hi",
        "blocks": json.dumps([SECTION]), "metadata": json.dumps(METADATA),
    }).raise_for_status()

    [call] = fake.calls
    assert call.token == "xoxb-form"
    assert call.args == {"channel": "C0CHAN", "text": "hi", "blocks": [SECTION], "metadata": METADATA}


async def test_messages_dms_and_errors_behave_like_slack(fake):
    client = web_client(fake)
    first = await client.chat_postMessage(channel="U0USER", text="one")
    second = await client.chat_postMessage(channel="U0USER", text="two")
    dm = await client.conversations_open(users="U0USER")

    assert first["channel"] == second["channel"] == dm["channel"]["id"] == "D0USER"
    assert float(first["ts"]) < float(second["ts"])
    await client.chat_update(channel="D0USER", ts=first["ts"], text="one, edited")
    assert [(m["text"], m["updated_count"]) for m in fake.messages("U0USER")] == [("one, edited", 1), ("two", 0)]

    fake.add_missing_channel("C0GONE")
    for call, error in [
        (client.chat_update(channel="D0USER", ts="1.000000", text="x"), "message_not_found"),
        (client.chat_postMessage(channel="C0GONE", text="x"), "channel_not_found"),
        (client.conversations_create(name="Not Valid"), "invalid_name_specials"),
        (AsyncWebClient(token="xoxp-user", base_url=fake.base_url).auth_test(), "invalid_auth"),
        (client.apps_connections_open(app_token="xoxb-test"), "invalid_auth"),
    ]:
        with pytest.raises(SlackApiError) as raised:
            await call
        assert raised.value.response["error"] == error


async def test_directory_channels_and_pins(fake):
    client = web_client(fake)
    fake.add_user("U0ALICE", name="alice", real_name="Alice Liddell", tz="America/New_York")
    fake.add_usergroup("S0LEADS", ["U0ALICE"])

    user = (await client.users_info(user="U0ALICE"))["user"]
    assert (user["real_name"], user["tz"], user["is_bot"]) == ("Alice Liddell", "America/New_York", False)
    assert (await client.users_lookupByEmail(email="alice@example.com"))["user"]["id"] == "U0ALICE"
    assert (await client.usergroups_users_list(usergroup="S0LEADS"))["users"] == ["U0ALICE"]

    channel = (await client.conversations_create(name="cs-incident-7"))["channel"]["id"]
    await client.conversations_invite(channel=channel, users=["U0ALICE"])
    await client.conversations_setTopic(channel=channel, topic="Incident 7")
    assert (await client.conversations_info(channel=channel))["channel"]["topic"]["value"] == "Incident 7"
    posted = await client.chat_postMessage(channel=channel, text="pin me")
    await client.pins_add(channel=channel, timestamp=posted["ts"])
    assert fake.messages(channel)[0]["pinned"] is True

    for call, error in [
        (client.users_info(user="U0NOBODY"), "user_not_found"),
        (client.usergroups_users_list(usergroup="S0NONE"), "no_such_subteam"),
        (client.conversations_create(name="cs-incident-7"), "name_taken"),
        (client.conversations_invite(channel=channel, users=["U0ALICE"]), "already_in_channel"),
        (client.pins_add(channel=channel, timestamp=posted["ts"]), "already_pinned"),
    ]:
        with pytest.raises(SlackApiError) as raised:
            await call
        assert raised.value.response["error"] == error


async def test_rate_limited_call_is_retried_by_the_sdk_handler(fake):
    fake.inject("chat.postMessage", Fault.rate_limited(retry_after=0))
    client = web_client(fake, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])

    await client.chat_postMessage(channel="C0CHAN", text="hi")

    assert [c.fault for c in fake.calls_to("chat.postMessage")] == ["rate_limited", None]
    assert len(fake.messages("C0CHAN")) == 1


async def test_rate_limit_without_handler_surfaces_429_and_retry_after(fake):
    fake.inject("chat.postMessage", Fault.rate_limited(retry_after=7))

    with pytest.raises(SlackApiError) as raised:
        await web_client(fake).chat_postMessage(channel="C0CHAN", text="hi")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"


async def test_server_error_is_surfaced_without_retry_and_has_no_effect(fake):
    fake.inject("chat.postMessage", Fault.server_error())

    with pytest.raises(SlackApiError) as raised:
        await web_client(fake).chat_postMessage(channel="C0CHAN", text="hi")

    assert raised.value.response.status_code == 500
    assert len(fake.calls) == 1
    assert fake.messages("C0CHAN") == []


async def test_drop_is_a_connection_error(fake):
    fake.inject("chat.postMessage", Fault.drop())

    with pytest.raises(aiohttp.ClientConnectionError):
        await web_client(fake, retry_handlers=[]).chat_postMessage(channel="C0CHAN", text="hi")

    assert fake.calls[0].fault == "drop"
    assert fake.messages("C0CHAN") == []


async def test_sdk_default_retry_after_an_applied_drop_posts_twice(fake):
    # AsyncWebClient retries connection errors once by default: after a drop that Slack had
    # already applied, the retry duplicates the message. Bots must not rely on "no answer = not posted".
    fake.inject("chat.postMessage", Fault.drop(apply=True))

    await web_client(fake).chat_postMessage(channel="C0CHAN", text="hi")

    assert [c.fault for c in fake.calls] == ["drop", None]
    assert [m["text"] for m in fake.messages("C0CHAN")] == ["hi", "hi"]


async def test_slow_answer_times_out_the_client_after_slack_posted(fake):
    fake.inject("chat.postMessage", Fault.slow(5))

    with pytest.raises(TimeoutError):
        await web_client(fake, timeout=1).chat_postMessage(channel="C0CHAN", text="hi")

    assert [m["text"] for m in fake.messages("C0CHAN")] == ["hi"]


async def test_hang_holds_the_answer_until_released(fake):
    fake.inject("chat.postMessage", Fault.hang())
    posting = asyncio.create_task(web_client(fake).chat_postMessage(channel="C0CHAN", text="hi"))

    # wait_for blocks; off the event loop, so the posting task can make progress meanwhile.
    await asyncio.to_thread(fake.wait_for, "chat.postMessage")
    await asyncio.sleep(0.2)
    assert not posting.done()
    assert len(fake.messages("C0CHAN")) == 1

    fake.release_hangs()
    assert (await asyncio.wait_for(posting, 5))["ok"]


async def test_inject_always_repeats_until_cleared(fake):
    fake.inject_always("auth.test", Fault.server_error(503))
    client = web_client(fake)
    for _ in range(2):
        with pytest.raises(SlackApiError):
            await client.auth_test()

    fake.clear_faults()

    assert (await client.auth_test())["user_id"] == "UBOT"
    assert [c.fault for c in fake.calls] == ["server_error", "server_error", None]


async def test_inject_always_on_every_method_yields_to_a_method_of_its_own(fake):
    fake.inject_always("*", Fault.server_error(503))
    fake.inject_always("auth.test", Fault.rate_limited(retry_after=1))
    client = web_client(fake)
    for call in (client.auth_test, lambda: client.chat_postMessage(channel="C0CHAN", text="x")):
        with pytest.raises(SlackApiError):
            await call()
    assert [c.fault for c in fake.calls] == ["rate_limited", "server_error"]
    assert fake.messages("C0CHAN") == []

    fake.clear_faults()

    assert (await client.chat_postMessage(channel="C0CHAN", text="x"))["ok"]


async def test_answer_plays_a_body_slack_does_not_document(fake):
    fake.inject("bots.info", Fault.answer({"ok": True}))
    fake.inject("chat.postMessage", Fault.answer({"ok": False, "error": "never_heard_of_it"}),
                Fault.answer({"ok": True, "ts": 17}, apply=True))
    client = web_client(fake)

    assert (await client.bots_info(bot="BBOT")).data == {"ok": True}
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel="C0CHAN", text="first")
    assert refused.value.response["error"] == "never_heard_of_it"
    assert (await client.chat_postMessage(channel="C0CHAN", text="second")).data == {"ok": True, "ts": 17}

    assert [m["text"] for m in fake.messages("C0CHAN")] == ["second"]  # only the applied one
    assert [c.fault for c in fake.calls] == ["answer"] * 3
    assert (await client.bots_info(bot="BBOT"))["bot"]["app_id"]  # one call per fault


async def test_answer_can_carry_headers(fake):
    fake.inject("auth.test", Fault.answer({"ok": False, "error": "ratelimited"}, status=429,
                                          headers={"Retry-After": "soon"}))
    with pytest.raises(SlackApiError) as limited:
        await web_client(fake).auth_test()
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "soon"


async def test_follow_clock_stamps_messages_by_the_given_time(fake):
    fake.follow_clock(lambda: 2_000_000_000.5)
    client = web_client(fake)
    first = await client.chat_postMessage(channel="C0CHAN", text="a")
    second = await client.chat_postMessage(channel="C0CHAN", text="b")
    assert first["ts"] == "2000000000.500000" and second["ts"] == "2000000000.500001"
    page = await client.conversations_history(channel="C0CHAN", oldest="1999999999")
    assert [m["text"] for m in page["messages"]] == ["b", "a"]


async def test_history_is_newest_first_and_returns_metadata_only_on_request(fake):
    client = web_client(fake)
    first = await client.chat_postMessage(channel="C0CHAN", text="first", metadata=METADATA)
    await client.chat_postMessage(channel="C0CHAN", text="reply", thread_ts=first["ts"])
    last = await client.chat_postMessage(channel="C0CHAN", text="last")

    plain = (await client.conversations_history(channel="C0CHAN"))["messages"]
    full = (await client.conversations_history(channel="C0CHAN", include_all_metadata=True))["messages"]
    older = await client.conversations_history(channel="C0CHAN", latest=last["ts"], limit=1)
    newer = await client.conversations_history(channel="C0CHAN", oldest=first["ts"])

    assert [m["text"] for m in plain] == ["last", "first"]  # thread replies are not history
    assert all("metadata" not in m for m in plain)
    assert full[1]["metadata"] == METADATA
    assert [m["text"] for m in older["messages"]] == ["first"]
    assert [m["text"] for m in newer["messages"]] == ["last"]


async def test_spec_checker_flags_missing_arguments_and_unknown_methods(checked_fake):
    client = web_client(checked_fake)
    await client.chat_postMessage(channel="C0CHAN", text="fine", metadata=METADATA)
    with pytest.raises(SlackApiError):
        await client.api_call("chat.update", json={"channel": "C0CHAN", "text": "no ts"})
    with pytest.raises(SlackApiError) as raised:
        await client.api_call("chat.teleport", json={"channel": "C0CHAN"})
    await client.apps_connections_open(app_token="xapp-1-test")

    assert raised.value.response["error"] == "unknown_method"
    assert checked_fake.violations == [
        "chat.update: missing required argument 'ts'",
        "chat.teleport: no such method in the spec",
    ]
    assert checked_fake.warnings == [
        "chat.postMessage: argument 'metadata' is not in the 2020 spec",
        "apps.connections.open: method is newer than the 2020 spec (not checked)",
    ]


def test_response_url_posts_are_recorded(fake):
    httpx.post(fake.response_url("trigger-1"), json={"text": "Done", "response_type": "ephemeral"})

    assert fake.wait_for_responses(key="trigger-1") == [("trigger-1", {"text": "Done", "response_type": "ephemeral"})]


def test_wait_for_failure_lists_what_was_called(fake):
    httpx.post(fake.base_url + "auth.test", headers={"Authorization": "Bearer xoxb-test"})

    with pytest.raises(AssertionError, match=r"expected 1 calls to chat.postMessage(.|\n)*auth.test"):
        fake.wait_for("chat.postMessage", timeout=0.1)


def test_reset_forgets_calls_and_messages_but_keeps_the_directory(fake):
    fake.add_user("U0ALICE", name="alice")
    fake.inject("users.info", Fault.server_error())
    httpx.post(fake.base_url + "chat.postMessage", data={"token": "xoxb-test", "channel": "C0CHAN", "text": "x"})

    fake.reset()

    assert fake.calls == [] and fake.messages("C0CHAN") == []
    answer = httpx.post(fake.base_url + "users.info", data={"token": "xoxb-test", "user": "U0ALICE"}).json()
    assert answer["ok"] and answer["user"]["name"] == "alice"  # and the injected fault is gone


async def test_socket_mode_round_trip_with_slack_sdk_client(fake):
    received: list[SocketModeRequest] = []

    async def acknowledge(client: SocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        await client.send_socket_mode_response(SocketModeResponse(request.envelope_id, {"text": "pong"}))

    client = SocketModeClient(app_token="xapp-1-test", web_client=AsyncWebClient(base_url=fake.base_url))
    client.socket_mode_request_listeners.append(acknowledge)
    await client.connect()
    try:
        await asyncio.to_thread(fake.socket_connected, 5)
        ack = await asyncio.to_thread(
            fake.socket_request, "slash_commands", payloads.slash_command("/countersign", "ping"), 5)
    finally:
        await client.close()

    [request] = received
    assert (request.type, request.payload["command"], request.payload["text"]) == (
        "slash_commands", "/countersign", "ping")
    assert ack == {"envelope_id": request.envelope_id, "payload": {"text": "pong"}}
    assert fake.calls_to("apps.connections.open")[0].token == "xapp-1-test"
