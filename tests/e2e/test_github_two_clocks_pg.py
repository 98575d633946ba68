"""Scaled out on PostgreSQL: two clocks work GitHub deliveries and deliver the outbox at once
(leader election off), and a burst of deliveries about one pull request still makes one
sign-off request and one check run per head commit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select

from models.approval import ApprovalRequest
from models.github import GitHubDelivery
from tests.e2e.test_github_app import (  # noqa: F401  (fixtures)
    CLAUDE, HEAD, INSTALLATION, NUMBER, OWNER, PLAYBOOK, REPO, SECRET, deliver, deliveries,
    fake_github, opened, runs)
from tests.e2e.waiting import until
from tests.harness import github_hooks

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def test_two_clocks_make_one_request_and_one_check_per_head(bot_factory, fake_slack, fake_github,
                                                            postgres_base_url, db):
    settings = dict(PLAYBOOK_PATH=str(PLAYBOOK), GITHUB_APP_ID=str(fake_github.app_id),
                    GITHUB_PRIVATE_KEY=fake_github.private_key_pem, GITHUB_WEBHOOK_SECRET=SECRET,
                    GITHUB_API_URL=fake_github.base_url)
    web = bot_factory("serve", CLOCK_IN_WEB="false", **settings).start()
    for _ in range(2):
        bot_factory("clock", CLOCK_LEADER_ELECTION="false", **settings).start(wait_healthy=False)
    first = opened(fake=fake_github)
    burst = [first] + [github_hooks.pull_request_event(action, installation_id=INSTALLATION,
                                                       head_sha=HEAD)
                       for action in ("reopened", "ready_for_review", "opened", "reopened") * 3]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda p: deliver(web, "pull_request", p), burst))
    assert [a.status_code for a in answers] == [202] * len(burst)
    until(lambda: len([d for d in deliveries(db) if d.status == "done"]) == len(burst), timeout=60,
          what="every delivery worked on")
    fake_github.wait_for_check(OWNER, REPO, HEAD, status="in_progress", timeout=30)
    with db.session() as s:
        assert len(s.exec(select(ApprovalRequest)).all()) == 1
        assert {d.status for d in s.exec(select(GitHubDelivery)).all()} == {"done"}
    assert len(runs(fake_github, HEAD)) == 1
    assert fake_github.violations() == []
