"""Hostile GitHub deliveries, signed with the App's secret (a compromised or buggy sender, or a
payload GitHub never meant): hostile text in every field the App reads, wrong types, garbage
in their place. Every one gets a 2xx or a 4xx, never a 5xx; every kept delivery settles (done
or failed) without a traceback; what reaches Slack is escaped text, never a ping."""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.github import GitHubDelivery
from tests.conftest import migrated_database, own_database_url
from tests.harness import github_hooks
from tests.harness.fake_github import FakeGitHub, commit
from tests.harness.fake_slack import FakeSlack
from tests.harness.server import BotProcess, bot_env
from tests.reliability.hostile_bot import BotLog
from tests.reliability.hostile_input import garbage, hostile_text
from tests.reliability.markup import leaks

pytestmark = pytest.mark.e2e

SECRET = "hostile-webhook-secret-0123456789"
PLAYBOOK = Path(__file__).parents[1] / "e2e" / "playbooks" / "github.yaml"
READ = (("pull_request", "title"), ("pull_request", "body"), ("pull_request", "html_url"),
        ("pull_request", "number"), ("pull_request", "head", "sha"), ("pull_request", "user", "login"),
        ("pull_request", "user", "id"), ("pull_request", "labels"), ("pull_request", "draft"),
        ("pull_request", "additions"), ("repository", "full_name"), ("installation", "id"), ("action",))
BASE = github_hooks.pull_request_event("opened", installation_id=5)
HEAD = BASE["pull_request"]["head"]["sha"]
NUMBER = BASE["pull_request"]["number"]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[tuple[BotProcess, FakeSlack, FakeGitHub, object]]:
    tmp = tmp_path_factory.mktemp("hostile-github")
    with own_database_url(tmp) as url, migrated_database(url) as db:
        slack, github = FakeSlack(), FakeGitHub()
        github.add_installation(5)
        slack.start()
        github.start()
        # Every pull request the fuzz names has a commit marked AI-made, so the work goes deep.
        for number in (NUMBER, 1, 2, 7, 2147483647):
            github.add_pull("Codertocat", "Hello-World", number,
                            commits=[commit(HEAD, "x\n\nCo-authored-by: Claude <noreply@anthropic.com>")])
        bot = BotProcess("serve", bot_env(
            database_url=url, slack_api_url=slack.base_url, PLAYBOOK_PATH=str(PLAYBOOK),
            GITHUB_APP_ID=str(github.app_id), GITHUB_PRIVATE_KEY=github.private_key_pem,
            GITHUB_WEBHOOK_SECRET=SECRET, GITHUB_API_URL=github.base_url, GITHUB_API_TIMEOUT="2"), tmp)
        bot.start()
        try:
            yield bot, slack, github, db
        finally:
            bot.stop()
            github.stop()
            slack.stop()


def put(payload: dict, path: tuple[str, ...], value: object) -> dict:
    changed = copy.deepcopy(payload)
    target = changed
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(target, dict) else {}
    if isinstance(target, dict):
        target[path[-1]] = value
    return changed


mutation = st.tuples(st.sampled_from(READ), st.one_of(hostile_text, garbage))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(mutations=st.lists(mutation, min_size=1, max_size=3))
def test_signed_hostile_deliveries_are_answered_and_settle(world, mutations):
    bot, slack, github, db = world
    payload = BASE
    for path, value in mutations:
        payload = put(payload, path, value)
    body = json.dumps(payload).encode()
    delivery = str(uuid.uuid4())
    answer = httpx.post(f"{bot.url}/github/webhook", content=body, timeout=10, headers={
        "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": delivery, "Content-Type": "application/json",
        "X-Hub-Signature-256": github_hooks.sign(body, SECRET)})
    assert answer.status_code in (202, 400), answer.text
    if answer.status_code == 400:
        assert answer.json()["error"]
        return

    def settled() -> GitHubDelivery | None:
        with db.session() as s:
            row = s.get(GitHubDelivery, delivery)
            return row if row is not None and row.status in ("done", "failed") else None

    deadline = time.monotonic() + 20
    while (row := settled()) is None:
        assert time.monotonic() < deadline, f"delivery {delivery} never settled"
        time.sleep(0.02)
    assert row.status in ("done", "failed")


def test_nothing_the_fuzz_sent_logged_a_traceback_or_pinged_anyone(world):
    bot, slack, github, db = world
    log = BotLog(next(bot.workdir.glob(f"{bot.name}-run*.log")))
    assert log.new_tracebacks() == []
    posted = [c for c in slack.calls if c.method in ("chat.postMessage", "chat.update")]
    assert posted, "the fuzz reached Slack"
    assert [leak for c in posted for leak in leaks(c.args)] == []
    assert github.violations() == []
