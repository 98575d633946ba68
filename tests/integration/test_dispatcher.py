"""The outbox dispatcher against a fake Slack over real HTTP, on a manual clock."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.clock import ManualClock
from bot.dispatcher import DispatchPolicy, Dispatcher
from bot.settings import Settings
from bot.slack import web_client
from models.outbox import FAILED, PENDING, SENT, OutboxMessage
from services import outbox
from tests.harness.fake_slack import FakeSlack, Fault
from tests.harness.paths import require_shared_file

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake():
    fake = FakeSlack(spec_path=require_shared_file("slack_web_openapi_v2.json"))
    fake.start()
    yield fake
    fake.stop()
    assert fake.violations == []


@pytest.fixture
def clock():
    return ManualClock(T0)


class Sleeps:
    """Pacing sleeps recorded instead of slept; they advance a fake monotonic clock."""

    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    async def sleep(self, seconds):
        self.slept.append(round(seconds, 3))
        self.now += seconds

    def monotonic(self):
        return self.now


@pytest.fixture
def make_dispatcher(db, fake, clock):
    def make(**policy):
        # The dispatcher's own client, exactly as the bot builds it.
        client = web_client(Settings(slack_bot_token="xoxb-test", slack_api_url=fake.base_url,
                                     slack_api_timeout=0.5), in_call_retries=False)
        sleeps = Sleeps()
        d = Dispatcher(db, client, clock, owner="test",
                       policy=DispatchPolicy(**{"channel_interval": 0, "retry_base": 2,
                                                **policy}),
                       sleep=sleeps.sleep, monotonic=sleeps.monotonic)
        d.sleeps = sleeps
        return d
    return make


def owe(db, clock, key, channel="C0GOV", text="hello", **kw):
    with db.session() as s:
        outbox.enqueue(s, key=key, method=kw.pop("method", "chat.postMessage"), channel=channel,
                       payload=kw.pop("payload", {"text": text}), now=clock.now(), **kw)


def row(db, key) -> OutboxMessage:
    with db.session() as s:
        return s.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()


async def test_posts_and_records_the_ts(db, fake, clock, make_dispatcher):
    owe(db, clock, "k1")
    assert await make_dispatcher().run_once() == 1
    [msg] = fake.messages("C0GOV")
    r = row(db, "k1")
    assert (r.status, r.result_ts, r.result_channel) == (SENT, msg["ts"], "C0GOV")
    assert msg["metadata"]["event_payload"]["key"] == "k1"


async def test_rate_limit_waits_for_retry_after_and_then_posts_once(db, fake, clock,
                                                                    make_dispatcher):
    fake.inject("chat.postMessage", Fault.rate_limited(retry_after=7))
    d = make_dispatcher()
    owe(db, clock, "k1")
    await d.run_once()
    r = row(db, "k1")
    assert r.status == PENDING and not r.maybe_sent
    assert r.next_attempt_at == T0 + timedelta(seconds=7)
    clock.advance(timedelta(seconds=6))
    assert await d.run_once() == 0
    clock.advance(timedelta(seconds=1))
    assert await d.run_once() == 1
    assert row(db, "k1").status == SENT
    assert len(fake.messages("C0GOV")) == 1
    assert [c.fault for c in fake.calls_to("chat.postMessage")] == ["rate_limited", None]


async def test_server_errors_back_off_then_deliver_exactly_once(db, fake, clock, make_dispatcher):
    fake.inject("chat.postMessage", Fault.server_error(500), Fault.server_error(503))
    d = make_dispatcher()
    owe(db, clock, "k1")
    await d.run_once()
    assert row(db, "k1").next_attempt_at == T0 + timedelta(seconds=2)
    clock.advance(timedelta(seconds=2))
    await d.run_once()
    assert row(db, "k1").next_attempt_at == T0 + timedelta(seconds=2 + 4)
    clock.advance(timedelta(seconds=4))
    await d.run_once()
    assert row(db, "k1").status == SENT
    assert len(fake.messages("C0GOV")) == 1
    # A 5xx may have been processed, so each retry first looked for the message.
    assert len(fake.calls_to("conversations.history")) == 2


@pytest.mark.parametrize("fault", [Fault.slow(3, apply=True), Fault.drop(apply=True)],
                         ids=["timeout-after-posting", "connection-dropped-after-posting"])
async def test_an_answer_lost_after_slack_posted_is_not_posted_twice(db, fake, clock,
                                                                     make_dispatcher, fault):
    fake.inject("chat.postMessage", fault)
    d = make_dispatcher()
    owe(db, clock, "k1")
    await d.run_once()
    r = row(db, "k1")
    assert r.status == PENDING and r.maybe_sent
    clock.advance(timedelta(seconds=2))
    await d.run_once()
    [msg] = fake.messages("C0GOV")
    r = row(db, "k1")
    assert (r.status, r.result_ts) == (SENT, msg["ts"])
    assert len(fake.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize("fault", [Fault.server_error(503), Fault.rate_limited(retry_after=1),
                                   Fault.drop(), Fault.slow(3)],
                         ids=["5xx", "429", "connection-dropped", "timeout"])
async def test_while_slack_cannot_say_whether_it_posted_nothing_is_posted_blind(
        db, fake, clock, make_dispatcher, fault):
    fake.inject("chat.postMessage", Fault.drop(apply=True))
    d = make_dispatcher()
    owe(db, clock, "k1")
    await d.run_once()
    # Always, not once: aiohttp itself repeats a GET whose kept-alive connection was dropped.
    fake.inject_always("conversations.history", fault)
    clock.advance(timedelta(seconds=2))
    await d.run_once()  # the look-up fails: try again later rather than post a second copy
    r = row(db, "k1")
    assert r.status == PENDING and r.maybe_sent and "could not check" in r.last_error
    assert len(fake.calls_to("chat.postMessage")) == 1
    fake.clear_faults()
    clock.advance(timedelta(seconds=10))
    await d.run_once()
    [msg] = fake.messages("C0GOV")
    assert (row(db, "k1").status, row(db, "k1").result_ts) == (SENT, msg["ts"])
    assert len(fake.calls_to("chat.postMessage")) == 1


async def test_on_its_last_attempt_a_message_slack_cannot_look_up_is_posted(db, fake, clock,
                                                                           make_dispatcher):
    fake.inject("chat.postMessage", Fault.server_error(500))
    fake.inject_always("conversations.history", Fault.server_error(503))
    d = make_dispatcher(max_attempts=3, retry_base=1, retry_cap=1)
    owe(db, clock, "k1")
    for _ in range(3):
        await d.run_once()
        clock.advance(timedelta(seconds=1))
    assert row(db, "k1").status == SENT, "never posting would lose it for good"
    assert len(fake.messages("C0GOV")) == 1


async def test_permanent_error_fails_the_message_and_frees_its_channel(db, fake, clock,
                                                                       make_dispatcher):
    fake.add_missing_channel("C0GONE")
    owe(db, clock, "k1", channel="C0GONE")
    owe(db, clock, "k2", channel="C0GONE")
    d = make_dispatcher()
    await d.run_once()
    assert row(db, "k1").status == FAILED
    assert "channel_not_found" in row(db, "k1").last_error
    await d.run_once()
    assert row(db, "k2").status == FAILED


async def test_gives_up_after_max_attempts(db, fake, clock, make_dispatcher):
    fake.inject_always("chat.postMessage", Fault.server_error(502))
    d = make_dispatcher(max_attempts=3, retry_base=1, retry_cap=1)
    owe(db, clock, "k1")
    for _ in range(3):
        await d.run_once()
        clock.advance(timedelta(seconds=1))
    r = row(db, "k1")
    assert r.status == FAILED and r.attempts == 3
    assert "gave up after 3 attempts" in r.last_error


async def test_replies_and_updates_use_the_parent_ts(db, fake, clock, make_dispatcher):
    owe(db, clock, "parent", text="request")
    owe(db, clock, "reply", text="in thread", thread_of="parent")
    owe(db, clock, "edit", method="chat.update", payload={"text": "request (approved)"},
        update_of="parent")
    d = make_dispatcher()
    while await d.run_once():
        pass
    parent_ts = row(db, "parent").result_ts
    [reply_call] = fake.calls_to("chat.postMessage")[1:]
    assert reply_call.args["thread_ts"] == parent_ts
    [update_call] = fake.calls_to("chat.update")
    assert update_call.args["ts"] == parent_ts and update_call.args["channel"] == "C0GOV"
    assert fake.messages("C0GOV")[0]["text"] == "request (approved)"


async def test_direct_message_to_a_user_records_the_dm_channel(db, fake, clock, make_dispatcher):
    fake.add_user("U0APPROVER", name="approver")
    owe(db, clock, "dm", channel="U0APPROVER", text="please review")
    await make_dispatcher().run_once()
    r = row(db, "dm")
    assert r.status == SENT and r.result_channel.startswith("D")


async def test_pacing_spaces_messages_to_one_channel(db, fake, clock, make_dispatcher):
    d = make_dispatcher(channel_interval=1.0)
    for i in range(3):
        owe(db, clock, f"k{i}", text=str(i))
    owe(db, clock, "other", channel="C0OTHER")
    while await d.run_once():
        pass
    assert [m["text"] for m in fake.messages("C0GOV")] == ["0", "1", "2"]
    # Two waits of a second for C0GOV's 2nd and 3rd message; none for the other channel.
    assert d.sleeps.slept == [1.0, 1.0]


async def test_a_template_that_cannot_render_fails_alone(db, fake, clock, make_dispatcher):
    def broken(data):
        raise ValueError("text attribute cannot exceed 75 characters")

    d = make_dispatcher()
    d.templates = {"broken": broken, "fine": lambda data: {"text": data["text"]}}
    with db.session() as s:
        outbox.enqueue(s, key="bad", method="chat.postMessage", channel="C0GOV",
                       template="broken", payload={}, now=clock.now())
        outbox.enqueue(s, key="good", method="chat.postMessage", channel="C0OTHER",
                       template="fine", payload={"text": "still delivered"}, now=clock.now())
    while await d.run_once():
        pass
    assert row(db, "bad").status == FAILED and "cannot exceed 75" in row(db, "bad").last_error
    assert row(db, "good").status == SENT
    assert [m["text"] for m in fake.messages("C0OTHER")] == ["still delivered"]


async def test_conversation_calls_record_the_channel_id_and_already_done_counts_as_sent(
        db, fake, clock, make_dispatcher):
    owe(db, clock, "create", channel=None, method="conversations.create",
        payload={"name": "ai-inc-20261125-test"})
    d = make_dispatcher()
    while await d.run_once():
        pass
    created = row(db, "create")
    assert created.status == SENT and created.result_channel.startswith("C")
    for key in ("invite-1", "invite-2"):  # the second finds the user already there
        owe(db, clock, key, channel=None, method="conversations.invite",
            payload={"channel": created.result_channel, "users": "U0SOMEONE"})
        while await d.run_once():
            pass
        assert row(db, key).status == SENT
    assert [c.args["users"] for c in fake.calls_to("conversations.invite")] == ["U0SOMEONE"] * 2


@pytest.mark.parametrize("answer", [{"ok": False, "error": "never_heard_of_it"},
                                    {"ok": False, "error": {"not": "a string"}},
                                    {"ok": False}],
                         ids=["unknown-error", "error-not-a-string", "no-error"])
async def test_a_refusal_slack_never_documented_fails_that_message_alone(db, fake, clock,
                                                                         make_dispatcher, answer):
    fake.inject("chat.postMessage", Fault.answer(answer))
    owe(db, clock, "odd", channel="C0GOV")
    owe(db, clock, "fine", channel="C0OTHER", text="still delivered")
    d = make_dispatcher()
    while await d.run_once():
        pass
    assert row(db, "odd").status == FAILED
    assert row(db, "fine").status == SENT
    assert [m["text"] for m in fake.messages("C0OTHER")] == ["still delivered"]


async def test_a_429_whose_retry_after_is_not_seconds_is_retried_by_back_off(db, fake, clock,
                                                                            make_dispatcher):
    fake.inject("chat.postMessage", Fault.answer({"ok": False, "error": "ratelimited"}, status=429,
                                                 headers={"Retry-After": "soon"}))
    d = make_dispatcher()
    owe(db, clock, "k1")
    await d.run_once()
    r = row(db, "k1")
    # A 429 was not processed: no look-up before the retry, which comes after the back-off.
    assert r.status == PENDING and not r.maybe_sent
    assert r.next_attempt_at == T0 + timedelta(seconds=2)
    clock.advance(timedelta(seconds=2))
    await d.run_once()
    assert row(db, "k1").status == SENT
    assert fake.calls_to("conversations.history") == []


async def test_a_post_answered_without_its_ts_is_found_by_its_key_not_posted_again(
        db, fake, clock, make_dispatcher):
    fake.inject("chat.postMessage", Fault.answer({"ok": True}, apply=True))
    d = make_dispatcher()
    owe(db, clock, "k1")
    await d.run_once()
    r = row(db, "k1")
    assert r.status == PENDING and r.maybe_sent and "without a ts" in r.last_error
    clock.advance(timedelta(seconds=2))
    await d.run_once()
    [msg] = fake.messages("C0GOV")
    assert (row(db, "k1").status, row(db, "k1").result_ts) == (SENT, msg["ts"])
    assert len(fake.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize(("method", "answer"), [
    ("conversations.history", {"ok": True, "messages": None}),
    ("conversations.history", {"ok": True, "messages": [None, "x", {"metadata": "nope"},
                                                        {"metadata": {"event_payload": "k1"}}]}),
    ("conversations.open", {"ok": True, "channel": None}),
], ids=["messages-null", "messages-junk", "open-without-channel"])
async def test_a_look_up_answered_oddly_posts_again_rather_than_never(db, fake, clock, make_dispatcher,
                                                                     method, answer):
    fake.inject("chat.postMessage", Fault.server_error(500))
    fake.inject_always(method, Fault.answer(answer))
    d = make_dispatcher()
    owe(db, clock, "k1", channel="U0DM")
    await d.run_once()
    clock.advance(timedelta(seconds=2))
    await d.run_once()
    assert row(db, "k1").status == SENT
    assert len(fake.messages("U0DM")) == 1


async def test_a_publish_answered_with_a_view_of_another_shape_is_delivered(db, fake, clock,
                                                                           make_dispatcher):
    fake.inject("views.publish", Fault.answer({"ok": True, "view": "not an object"}, apply=True))
    owe(db, clock, "home", channel=None, method="views.publish",
        payload={"user_id": "U0USER", "view": {"type": "home", "blocks": []}})
    await make_dispatcher().run_once()
    r = row(db, "home")
    assert r.status == SENT and r.result_channel is None
