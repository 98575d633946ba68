"""Whether a person is deactivated, through users.info against FakeSlack over HTTP: asked once
and cached, and never a reason to hold an acknowledgement when Slack is slow or failing."""

import asyncio
import time

import pytest

from bot.people import People
from bot.settings import Settings
from bot.slack import web_client
from tests.harness.fake_slack import FakeSlack, Fault


@pytest.fixture
def fake():
    with FakeSlack() as fake:
        fake.add_user("U0HERE")
        fake.add_user("U0GONE", deleted=True)
        yield fake


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def people(fake: FakeSlack, ticks: Ticks, **options: float) -> People:
    client = web_client(Settings(slack_bot_token="xoxb-test", slack_api_url=fake.base_url))
    return People(client, ttl=60, monotonic=ticks, **options)


async def test_a_deactivated_account_is_told_apart_and_each_person_asked_once(fake):
    ticks = Ticks()
    directory = people(fake, ticks)
    answers = [await directory.deactivated(u) for u in ("U0HERE", "U0GONE", "U0NOBODY", "U0HERE", "U0GONE")]
    # Someone Slack does not know is not refused here: the action's own rules decide.
    assert answers == [False, True, False, False, True]
    assert sorted(c.args["user"] for c in fake.calls_to("users.info")) == ["U0GONE", "U0HERE", "U0NOBODY"]
    ticks.now = 61  # past the ttl: asked again
    assert await directory.deactivated("U0GONE") is True
    assert len(fake.calls_to("users.info")) == 4


async def test_slack_failing_lets_the_person_through_and_is_not_asked_again_at_once(fake):
    ticks = Ticks()
    # Waiting out the client's own retries of the 503s, so the failure is what is remembered
    # (a shorter wait races them: that is the slow-answer test's business).
    directory = people(fake, ticks, retry_after=30, wait=10)
    fake.inject_always("users.info", Fault.server_error(503))
    assert await directory.deactivated("U0GONE") is False
    asked = len(fake.calls_to("users.info"))
    assert await directory.deactivated("U0GONE") is False
    assert len(fake.calls_to("users.info")) == asked
    fake.clear_faults()
    ticks.now = 31
    assert await directory.deactivated("U0GONE") is True


@pytest.mark.parametrize("answer", [{"ok": True}, {"ok": True, "user": "U0GONE"},
                                    {"ok": True, "user": {"id": "U0GONE", "deleted": "yes"}}],
                         ids=["no-user", "user-a-string", "deleted-not-a-boolean"])
async def test_an_odd_answer_refuses_nobody(fake, answer):
    fake.inject_always("users.info", Fault.answer(answer))
    assert await people(fake, Ticks()).deactivated("U0GONE") is False


async def test_a_slow_answer_does_not_hold_the_request_and_is_used_once_it_comes(fake):
    directory = people(fake, Ticks(), wait=0.2)
    fake.inject("users.info", Fault.hang())
    started = time.monotonic()
    assert await directory.deactivated("U0GONE") is False
    assert time.monotonic() - started < 1.0
    fake.release_hangs()

    async def answered() -> bool:
        for _ in range(200):
            if await directory.deactivated("U0GONE"):
                return True
            await asyncio.sleep(0.02)
        return False

    assert await answered()
    assert len(fake.calls_to("users.info")) == 1  # the look-up that hung, finished in the background


async def test_an_answer_that_is_not_json_lets_the_person_through(fake):
    # A proxy's error page, or a URL too long for the server: SlackApiError with text, not a dict.
    directory = people(fake, Ticks())
    fake.inject("users.info", Fault.answer("<html>Bad Gateway</html>", status=502))
    assert await directory.deactivated("U0GONE") is False
    assert await directory.deactivated("U" + "9" * 12000) is False  # past the fake's URL limit
