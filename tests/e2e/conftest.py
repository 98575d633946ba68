"""End-to-end fixtures: a fake Slack over loopback HTTP, the real bot process, a signer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.fake_slack import FakeSlack
from tests.harness.paths import require_shared_file
from tests.harness.server import EXAMPLE_PLAYBOOK, SIGNING_SECRET, BotProcess, bot_env
from tests.harness.signing import SignedSlackClient


def seed_example_workspace(fake: FakeSlack) -> None:
    """The Slack user groups the example playbook names exist, with members."""
    import yaml

    groups = yaml.safe_load(EXAMPLE_PLAYBOOK.read_text())["groups"]
    for i, group in enumerate(g for g in groups.values() if "usergroup" in g):
        fake.add_usergroup(group["usergroup"], [f"U0GROUP{i}A", f"U0GROUP{i}B"])


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    spec = require_shared_file("slack_web_openapi_v2.json")
    fake = FakeSlack(spec_path=spec)
    seed_example_workspace(fake)
    fake.start()
    yield fake
    fake.stop()
    # Every Web API call the bot made must name a real method with its required arguments.
    assert fake.violations == [], "\n".join(fake.violations)


@pytest.fixture
def clock_file(tmp_path):
    """The bot's injected clock (CLOCK_OFFSET_FILE): seconds ahead of real time, 0 to start."""
    path = tmp_path / "clock-offset"
    path.write_text("0")
    return path


@pytest.fixture
def bot_factory(db, database_url, fake_slack, tmp_path):  # noqa: ANN001
    """Make bot processes on the test's database and fake Slack; all stopped at the end."""
    started: list[BotProcess] = []

    def make(command: str = "serve", **overrides: str) -> BotProcess:
        env = bot_env(database_url=database_url, slack_api_url=fake_slack.base_url, **overrides)
        proc = BotProcess(command, env, tmp_path)
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.stop()


@pytest.fixture
def bot(bot_factory) -> BotProcess:  # noqa: ANN001
    return bot_factory().start()


@pytest.fixture
def slack(bot, fake_slack) -> Iterator[SignedSlackClient]:  # noqa: ANN001
    with SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake_slack) as client:
        yield client
