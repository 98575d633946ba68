"""Slack user groups resolved through usergroups.users.list, against FakeSlack over HTTP."""

import pytest

from bot.directory import GroupDirectory
from bot.settings import Settings
from bot.slack import web_client
from services.playbook import load_playbook
from tests.harness.fake_slack import FakeSlack, Fault
from tests.harness.server import EXAMPLE_PLAYBOOK

PB = load_playbook(EXAMPLE_PLAYBOOK).playbook
LEGAL = PB.groups["legal"].usergroup


@pytest.fixture
def fake():
    with FakeSlack() as fake:
        fake.add_usergroup(LEGAL, ["U0LAW1", "U0LAW2"])
        yield fake


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def directory(fake: FakeSlack, ticks: Ticks) -> GroupDirectory:
    client = web_client(Settings(slack_bot_token="xoxb-test", slack_api_url=fake.base_url))
    return GroupDirectory(client, ttl=60, monotonic=ticks)


@pytest.mark.parametrize("answer", [{"ok": True}, {"ok": True, "users": "U0LAW1,U0LAW2"},
                                    {"ok": True, "users": {"U0LAW1": True}},
                                    {"ok": True, "users": [None, 7]}],
                         ids=["no-users", "users-a-string", "users-an-object", "users-not-ids"])
async def test_an_odd_answer_is_a_problem_reported_never_members_made_up(fake, answer):
    fake.inject_always("usergroups.users.list", Fault.answer(answer))
    resolution = await directory(fake, Ticks()).resolve(PB)
    assert "legal" not in resolution.members
    assert resolution.problems["legal"].startswith(f"user group {LEGAL}: usergroups.users.list answered")


async def test_an_odd_answer_after_a_good_one_keeps_the_members_known(fake):
    ticks = Ticks()
    groups = directory(fake, ticks)
    assert (await groups.resolve(PB)).members["legal"] == ["U0LAW1", "U0LAW2"]
    fake.inject_always("usergroups.users.list", Fault.answer({"ok": True, "users": "U0LAW1"}))
    ticks.now = 61  # past the cache's ttl: Slack is asked again
    resolution = await groups.resolve(PB)
    assert resolution.members["legal"] == ["U0LAW1", "U0LAW2"]
    assert "legal" not in resolution.problems
    assert [c.fault for c in fake.calls_to("usergroups.users.list")][-2:] == ["answer", "answer"]
