"""The GitHub App end to end: octokit's example deliveries, signed as GitHub signs them, reach
the real server; sign-off happens in the fake Slack; the check run reaches the fake GitHub."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from blocks.approvals import APPROVE, REJECT
from models.approval import ApprovalRequest
from models.github import GitHubDelivery, PullRequestCheck
from tests.e2e.approvals_support import (APPROVALS, click, current, last_response, request_message,
                                         text_of, thread_replies, wait_message)
from tests.e2e.waiting import until
from tests.harness import github_hooks
from tests.harness.fake_github import FakeGitHub, GitHubFault, commit
from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient

pytestmark = pytest.mark.e2e

PLAYBOOK = Path(__file__).parent / "playbooks" / "github.yaml"
SECRET = "github-webhook-secret-0123456789"
INSTALLATION = 31337
OWNER, REPO, NUMBER = "Codertocat", "Hello-World", 2
URL = f"https://github.com/{OWNER}/{REPO}/pull/{NUMBER}"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
CLAUDE = "Add retries\n\nCo-authored-by: Claude <noreply@anthropic.com>\n"


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.add_installation(INSTALLATION)
    fake.start()
    yield fake
    fake.stop()
    assert fake.violations() == [], "\n".join(fake.violations())


@pytest.fixture
def github_bot(bot_factory, fake_github, clock_file):
    return bot_factory(PLAYBOOK_PATH=str(PLAYBOOK), CLOCK_OFFSET_FILE=str(clock_file),
                       GITHUB_APP_ID=str(fake_github.app_id),
                       GITHUB_PRIVATE_KEY=fake_github.private_key_pem, GITHUB_WEBHOOK_SECRET=SECRET,
                       GITHUB_API_URL=fake_github.base_url, GITHUB_API_TIMEOUT="2").start()


@pytest.fixture
def slack(github_bot, fake_slack):
    with SignedSlackClient(github_bot.url, SIGNING_SECRET, fake=fake_slack) as client:
        yield client


def deliver(bot, event: str, payload: dict, *, delivery_id: str | None = None,
            secret: str = SECRET) -> httpx.Response:
    body, headers = github_hooks.delivery(event, payload, secret=secret, delivery_id=delivery_id)
    return httpx.post(f"{bot.url}/github/webhook", content=body, headers=headers, timeout=10)


def opened(head: str = HEAD, *, commits: list[str] = (CLAUDE,), fake: FakeGitHub, **changes) -> dict:
    """The octokit example `opened` delivery; the fake GitHub holds the pull and its commits."""
    payload = github_hooks.pull_request_event("opened", installation_id=INSTALLATION, head_sha=head,
                                              **changes)
    fake.add_pull(OWNER, REPO, NUMBER, pull=payload["pull_request"], commits=[
        commit(head if i == len(commits) - 1 else f"{i:040x}", message)
        for i, message in enumerate(commits)])
    return payload


def deliveries(db) -> list[GitHubDelivery]:
    with db.session() as s:  # a new session each time: a long one would keep reading its snapshot
        return list(s.exec(select(GitHubDelivery)).all())


def runs(fake: FakeGitHub, head: str) -> list[dict]:
    return fake.check_runs(OWNER, REPO, head)


def test_an_ai_pull_request_is_signed_off_in_slack_and_its_check_turns_green(
        github_bot, slack, fake_slack, fake_github, db):
    answer = deliver(github_bot, "pull_request", opened(fake=fake_github))
    assert answer.status_code == 202 and answer.json()["duplicate"] is False
    message = request_message(fake_slack)
    text = text_of(message)
    assert f"{OWNER}/{REPO}#{NUMBER}" in text and URL in text
    # Text from GitHub is data: shown escaped, never as markup.
    assert "Co-authored-by: Claude &lt;noreply@anthropic.com&gt;" in text and "by Codertocat" in text
    run = fake_github.wait_for_check(OWNER, REPO, HEAD, status="in_progress")
    assert run["name"] == "Countersign sign-off"
    assert run["output"]["summary"] == "waiting for 2 of 2 approvals (reviewers)"
    # The link to the Slack thread follows once the request is posted.
    linked = fake_github.wait_for(lambda f: message["ts"].replace(".", "") in runs(f, HEAD)[-1]["details_url"],
                                  description="the run linked to the Slack thread")
    assert linked and runs(fake_github, HEAD)[-1]["details_url"].startswith("https://")

    # The author is reviewer U0REV1 in Slack: a reviewer, but never of their own pull request.
    click(slack, APPROVE, message, "U0REV1")
    assert "own request" in last_response(fake_slack, 1)["text"]
    click(slack, APPROVE, message, "U0REV2")
    wait_message(fake_slack, message["ts"], "1 of 2 approvals")
    fake_github.wait_for(lambda f: runs(f, HEAD)[-1]["output"]["summary"]
                         == "waiting for 1 of 2 approvals (reviewers)", description="1 of 2")
    click(slack, APPROVE, current(fake_slack, message["ts"]), "U0REV3")
    done = fake_github.wait_for_check(OWNER, REPO, HEAD, conclusion="success")
    assert done["status"] == "completed" and "U0REV2" in done["output"]["summary"] \
        and "U0REV3" in done["output"]["summary"] and "Playbook version" in done["output"]["summary"]
    assert len(runs(fake_github, HEAD)) == 1, "one check run per head commit"


def test_a_push_makes_a_new_check_on_the_new_head_and_dismisses_the_approvals(
        github_bot, slack, fake_slack, fake_github):
    deliver(github_bot, "pull_request", opened(fake=fake_github))
    message = request_message(fake_slack)
    fake_github.wait_for_check(OWNER, REPO, HEAD, status="in_progress")
    click(slack, APPROVE, message, "U0REV2")
    fake_github.wait_for(lambda f: runs(f, HEAD)[-1]["output"]["summary"].startswith("waiting for 1"),
                         description="the first approval on the check")
    new_head = "f" * 40
    fake_github.set_commits(OWNER, REPO, NUMBER, [commit(HEAD, CLAUDE), commit(new_head, "Address review")])
    pushed = github_hooks.pull_request_event("synchronize", installation_id=INSTALLATION, head_sha=new_head)
    assert deliver(github_bot, "pull_request", pushed).status_code == 202
    run = fake_github.wait_for_check(OWNER, REPO, new_head, status="in_progress")
    assert run["output"]["summary"] == "waiting for 2 of 2 approvals (reviewers)"
    wait_message(fake_slack, message["ts"], "0 of 2 approvals")
    assert "dismissed" in text_of(current(fake_slack, message["ts"])).lower() or \
        any("f" * 7 in text_of(r) for r in thread_replies(fake_slack, message))


def test_a_rejection_fails_the_check_with_its_reason(github_bot, slack, fake_slack, fake_github):
    deliver(github_bot, "pull_request", opened(fake=fake_github))
    message = request_message(fake_slack)
    fake_github.wait_for_check(OWNER, REPO, HEAD, status="in_progress")
    click(slack, REJECT, message, "U0REV2")
    fake_slack.wait_for("views.open")
    view_id = fake_slack.last_opened_view_id("approval_reason")
    slack.view_submission("approval_reason", {"reason": {"value": {
        "type": "plain_text_input", "value": "Logs a customer email"}}}, user_id="U0REV2", view_id=view_id)
    run = fake_github.wait_for_check(OWNER, REPO, HEAD, conclusion="failure")
    assert "Logs a customer email" in run["output"]["summary"] and "U0REV2" in run["output"]["summary"]


def test_a_pull_request_without_markers_gets_a_passing_check_and_no_request(
        github_bot, fake_slack, fake_github, db):
    deliver(github_bot, "pull_request", opened(commits=["Fix a typo"], fake=fake_github))
    run = fake_github.wait_for_check(OWNER, REPO, HEAD, conclusion="success")
    assert run["output"]["title"] == "No AI markers found"
    assert [a["identifier"] for a in run.get("actions") or []] == ["request_signoff"]
    with db.session() as s:
        assert s.exec(select(ApprovalRequest)).all() == []
    assert not [c for c in fake_slack.calls_to("chat.postMessage") if c.args.get("channel") == APPROVALS]


def test_a_label_the_team_adds_marks_the_pull_request(github_bot, fake_slack, fake_github):
    payload = opened(commits=["Plain commit"], fake=fake_github, labels=["ai-generated"])
    deliver(github_bot, "pull_request", payload)
    message = request_message(fake_slack)
    assert "label ai-generated" in text_of(message)
    fake_github.wait_for_check(OWNER, REPO, HEAD, status="in_progress")


@pytest.mark.parametrize("forge", ["missing", "wrong secret", "tampered body", "stale secret"])
def test_unsigned_or_forged_deliveries_are_refused_and_nothing_is_kept(github_bot, fake_github, db, forge):
    payload = opened(fake=fake_github)
    body, headers = github_hooks.delivery("pull_request", payload, secret=SECRET)
    if forge == "missing":
        del headers["X-Hub-Signature-256"]
    elif forge == "wrong secret":
        headers["X-Hub-Signature-256"] = github_hooks.sign(body, "not-the-secret-at-all")
    elif forge == "tampered body":
        body = body.replace(b'"opened"', b'"closed"', 1)
    else:  # signed with the secret before it was rotated
        headers["X-Hub-Signature-256"] = github_hooks.sign(body, SECRET + "-old")
    answer = httpx.post(f"{github_bot.url}/github/webhook", content=body, headers=headers, timeout=10)
    assert answer.status_code == 401
    with db.session() as s:
        assert s.exec(select(GitHubDelivery)).all() == []


def test_ping_is_answered_and_unknown_events_are_ignored(github_bot, db):
    ping = github_hooks.example("ping", "payload.json")
    body, headers = github_hooks.delivery("ping", ping, secret=SECRET)
    assert httpx.post(f"{github_bot.url}/github/webhook", content=body, headers=headers).status_code == 200
    body, headers = github_hooks.delivery("star", {"action": "created"}, secret=SECRET,
                                          validate_payload=False)
    answer = httpx.post(f"{github_bot.url}/github/webhook", content=body, headers=headers)
    assert answer.status_code == 202 and "star" in answer.json()["ignored"]
    with db.session() as s:
        assert s.exec(select(GitHubDelivery)).all() == []


def test_a_redelivery_is_taken_once(github_bot, fake_slack, fake_github, db):
    payload = opened(fake=fake_github)
    delivery_id = str(uuid.uuid4())
    assert deliver(github_bot, "pull_request", payload, delivery_id=delivery_id).json()["duplicate"] is False
    assert deliver(github_bot, "pull_request", payload, delivery_id=delivery_id).json()["duplicate"] is True
    request_message(fake_slack)
    fake_github.wait_for_check(OWNER, REPO, HEAD, status="in_progress")
    until(lambda: [d.status for d in deliveries(db)] == ["done"], timeout=10, what="the delivery settled")
    with db.session() as s:
        assert len(s.exec(select(ApprovalRequest)).all()) == 1


def test_github_down_delays_the_check_and_loses_nothing(github_bot, fake_slack, fake_github, db):
    fake_github.inject_always("checks.create", GitHubFault.server_error(502))
    fake_github.inject_always("pulls.list_commits", GitHubFault.server_error(503))
    deliver(github_bot, "pull_request", opened(fake=fake_github))
    # Reading the commits fails, again and again: the delivery waits, kept.
    fake_github.wait_for("pulls.list_commits", count=3)
    fake_github.clear_faults()
    fake_github.inject_always("checks.create", GitHubFault.server_error(502))
    request_message(fake_slack)
    fake_github.wait_for("checks.create", count=3)
    assert runs(fake_github, HEAD) == []
    fake_github.clear_faults()
    fake_github.wait_for_check(OWNER, REPO, HEAD, status="in_progress")
    with db.session() as s:
        assert len(s.exec(select(PullRequestCheck)).all()) == 1
    assert len(runs(fake_github, HEAD)) == 1


def signed(body: bytes, *, event: str = "pull_request", **headers: str) -> dict[str, str]:
    return {"X-GitHub-Event": event, "X-GitHub-Delivery": str(uuid.uuid4()),
            "Content-Type": "application/json", "X-Hub-Signature-256": github_hooks.sign(body, SECRET),
            **headers}


@pytest.mark.parametrize("body,headers,status,words", [
    (b"{not json", {}, 400, "not JSON"),
    (b'{"zen": 1}', {}, 400, "no action"),
    (b'{"action": "opened"}', {"X-GitHub-Delivery": ""}, 400, "X-GitHub-Delivery"),
    (b"payload=%7B%7D", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "application/json"),
])
def test_malformed_deliveries_are_told_why_and_nothing_is_kept(github_bot, db, body, headers, status, words):
    answer = httpx.post(f"{github_bot.url}/github/webhook", content=body,
                        headers=signed(body, **headers), timeout=10)
    assert answer.status_code == status and words in answer.json()["error"]
    with db.session() as s:
        assert s.exec(select(GitHubDelivery)).all() == []


def test_a_payload_that_is_no_pull_request_fails_its_delivery_and_nothing_else(github_bot, fake_slack, db):
    body = b'{"action": "opened", "pull_request": {"number": "two"}, "installation": {"id": 1}}'
    answer = httpx.post(f"{github_bot.url}/github/webhook", content=body, headers=signed(body), timeout=10)
    assert answer.status_code == 202
    [failed] = until(lambda: [d for d in deliveries(db) if d.status == "failed"], timeout=10,
                     what="the delivery failed")
    assert "not a pull_request payload GitHub sends: pull_request.number" in failed.last_error
    assert failed.body is None
    with db.session() as s:
        assert s.exec(select(ApprovalRequest)).all() == []
    metrics = httpx.get(f"{github_bot.url}/metrics").text
    assert 'countersign_github_webhooks_total{event="pull_request",status="202"} 1.0' in metrics


def test_closing_unmerged_cancels_the_request_and_fails_the_check(github_bot, fake_slack, fake_github):
    deliver(github_bot, "pull_request", opened(fake=fake_github))
    message = request_message(fake_slack)
    fake_github.wait_for_check(OWNER, REPO, HEAD, status="in_progress")
    closed = github_hooks.pull_request_event("closed", installation_id=INSTALLATION, head_sha=HEAD,
                                             merged=False)
    assert deliver(github_bot, "pull_request", closed).status_code == 202
    run = fake_github.wait_for_check(OWNER, REPO, HEAD, conclusion="failure")
    assert run["output"]["title"] == "Sign-off cancelled"
    wait_message(fake_slack, message["ts"], "CANCELLED")


def check_run(action: str, run: dict, fake: FakeGitHub, **changes) -> dict:
    return github_hooks.check_run_event(action, installation_id=INSTALLATION, repo_full_name=f"{OWNER}/{REPO}",
                                        head_sha=run["head_sha"], check_run_id=run["id"],
                                        app_id=fake.app_id, pull_numbers=[NUMBER], **changes)


def test_request_sign_off_on_the_check_asks_for_a_pull_request_nothing_marked(
        github_bot, fake_slack, fake_github):
    deliver(github_bot, "pull_request", opened(commits=["Plain commit"], fake=fake_github))
    passed = fake_github.wait_for_check(OWNER, REPO, HEAD, conclusion="success")
    pressed = check_run("requested_action", passed, fake_github, requested_action_id="request_signoff")
    assert deliver(github_bot, "check_run", pressed).status_code == 202
    message = request_message(fake_slack)
    assert "sign-off requested from GitHub by" in text_of(message)
    waiting = fake_github.wait_for_check(OWNER, REPO, HEAD, status="in_progress")
    assert waiting["id"] != passed["id"], "a new run, not the finished one reopened"
    assert waiting["output"]["summary"] == "waiting for 2 of 2 approvals (reviewers)"


def test_re_running_an_expired_check_asks_again(github_bot, fake_slack, fake_github, clock_file):
    deliver(github_bot, "pull_request", opened(fake=fake_github))
    request_message(fake_slack)
    fake_github.wait_for_check(OWNER, REPO, HEAD, status="in_progress")
    clock_file.write_text(str(3 * 86400))  # past the rule's expire_after (2d)
    expired = fake_github.wait_for_check(OWNER, REPO, HEAD, conclusion="failure", timeout=20)
    assert expired["output"]["title"] == "Sign-off expired"
    assert deliver(github_bot, "check_run", check_run("rerequested", expired, fake_github)).status_code == 202
    request_message(fake_slack, 1)
    again = fake_github.wait_for_check(OWNER, REPO, HEAD, status="in_progress")
    assert again["id"] != expired["id"]


def test_another_app_s_check_runs_are_left_alone(github_bot, fake_slack, fake_github, db):
    deliver(github_bot, "pull_request", opened(commits=["Plain"], fake=fake_github))
    run = fake_github.wait_for_check(OWNER, REPO, HEAD, conclusion="success")
    theirs = github_hooks.check_run_event("rerequested", installation_id=INSTALLATION,
                                          repo_full_name=f"{OWNER}/{REPO}", head_sha=HEAD,
                                          check_run_id=run["id"] + 1000, app_id=999, name="CI",
                                          pull_numbers=[NUMBER])
    deliver(github_bot, "check_run", theirs)
    until(lambda: [d.outcome for d in deliveries(db) if d.event == "check_run" and d.status == "done"],
          timeout=10, what="the check_run delivery settled")
    assert [d.outcome for d in deliveries(db) if d.event == "check_run"] == ["another app's check run"]
    assert len(runs(fake_github, HEAD)) == 1


def test_secondary_rate_limits_and_a_revoked_token_delay_the_check_but_lose_nothing(
        github_bot, fake_slack, fake_github):
    fake_github.inject("checks.create", GitHubFault.secondary_rate_limit(retry_after=1),
                       GitHubFault.rate_limited_429(retry_after=1), GitHubFault.primary_rate_limit(reset_in=2))
    deliver(github_bot, "pull_request", opened(fake=fake_github))
    message = request_message(fake_slack)
    fake_github.wait_for_check(OWNER, REPO, HEAD, status="in_progress")
    limited = [c for c in fake_github.calls_to("checks.create") if c.fault]
    answered = [c for c in fake_github.calls_to("checks.create") if not c.fault]
    assert len(limited) == 3 and len(answered) == 1
    assert limited[1].at - limited[0].at >= 0.9 and limited[2].at - limited[1].at >= 0.9, \
        "waited as long as retry-after asked"
    assert answered[0].at - limited[-1].at >= 0.9, "waited for x-ratelimit-reset"
    # GitHub stops taking the installation's token: the next call gets a new one.
    fake_github.expire_tokens()
    click(slack_client := SignedSlackClient(github_bot.url, SIGNING_SECRET, fake=fake_slack),
          APPROVE, message, "U0REV2")
    slack_client.close()
    fake_github.wait_for(lambda f: runs(f, HEAD)[-1]["output"]["summary"].startswith("waiting for 1"),
                         description="the approval reached the check", timeout=15)
    assert len(fake_github.calls_to("apps.create_installation_access_token")) >= 2


def test_a_create_that_timed_out_but_reached_github_is_found_not_doubled(github_bot, fake_slack, fake_github):
    # GitHub makes the run, but answers after the bot's 2 s timeout.
    fake_github.inject("checks.create", GitHubFault.slow(3, apply=True))
    deliver(github_bot, "pull_request", opened(fake=fake_github))
    request_message(fake_slack)
    fake_github.wait_for("checks.list_for_ref", timeout=20)
    fake_github.wait_for_check(OWNER, REPO, HEAD, status="in_progress")
    click(slack_client := SignedSlackClient(github_bot.url, SIGNING_SECRET, fake=fake_slack),
          APPROVE, request_message(fake_slack), "U0REV2")
    slack_client.close()
    fake_github.wait_for(lambda f: runs(f, HEAD)[-1]["output"]["summary"].startswith("waiting for 1"),
                         description="the approval updated the run it found", timeout=15)
    assert len(runs(fake_github, HEAD)) == 1
    assert len(fake_github.calls_to("checks.create")) == 1


def test_deliveries_and_checks_owed_when_the_bot_stops_are_done_after_a_restart(
        github_bot, fake_slack, fake_github, db):
    fake_github.inject_always("pulls.list_commits", GitHubFault.server_error(502))
    deliver(github_bot, "pull_request", opened(fake=fake_github))
    fake_github.wait_for("pulls.list_commits", count=2)
    github_bot.stop()
    assert [d.status for d in deliveries(db)] in (["pending"], ["working"])
    fake_github.clear_faults()
    github_bot.start()
    request_message(fake_slack)
    fake_github.wait_for_check(OWNER, REPO, HEAD, status="in_progress", timeout=20)
    until(lambda: [d.status for d in deliveries(db)] == ["done"], timeout=10, what="the delivery done")
    assert len(runs(fake_github, HEAD)) == 1


def test_a_delivery_a_killed_bot_was_working_on_is_taken_at_the_restart(
        github_bot, fake_slack, fake_github, db):
    # GitHub hangs on the commits: the bot is killed while it holds the delivery.
    fake_github.inject("pulls.list_commits", GitHubFault.slow(30, apply=False))
    deliver(github_bot, "pull_request", opened(fake=fake_github))
    until(lambda: [d.status for d in deliveries(db)] == ["working"], timeout=10, what="the delivery taken")
    github_bot.proc.kill()
    github_bot.proc.wait(timeout=10)
    fake_github.clear_faults()
    github_bot.start()
    # Taken at once, not when its 120 s lease runs out.
    fake_github.wait_for_check(OWNER, REPO, HEAD, status="in_progress", timeout=20)
    assert len(runs(fake_github, HEAD)) == 1


def test_github_down_for_a_minute_is_retried_with_back_off_and_delivered_once(
        bot_factory, fake_slack, fake_github, clock_file, db):
    # Production's back-off (2 s, 4 s, 8 s …), measured on the injected clock.
    bot = bot_factory(PLAYBOOK_PATH=str(PLAYBOOK), CLOCK_OFFSET_FILE=str(clock_file),
                      GITHUB_APP_ID=str(fake_github.app_id), GITHUB_PRIVATE_KEY=fake_github.private_key_pem,
                      GITHUB_WEBHOOK_SECRET=SECRET, GITHUB_API_URL=fake_github.base_url,
                      GITHUB_API_TIMEOUT="2", OUTBOX_RETRY_BASE="2").start()
    fake_github.inject_always("*", GitHubFault.server_error(503))
    deliver(bot, "pull_request", opened(fake=fake_github))
    fake_github.wait_for("apps.create_installation_access_token", count=1)
    offset, attempts = 0.0, 0
    while offset < 60:  # a minute of GitHub failing: each retry waits for its back-off to pass
        [kept] = until(lambda: [d for d in deliveries(db) if d.status == "pending" and d.attempts > attempts],
                       timeout=10, what=f"attempt {attempts + 1} failed and put back")
        attempts = kept.attempts
        wait = (kept.next_attempt_at - kept.received_at).total_seconds() - offset
        assert wait >= 2 * 2 ** (attempts - 1) - 1, "backed off, not retried at once"
        offset += wait + 0.5
        clock_file.write_text(str(offset))
    assert attempts >= 4 and "GitHub answered HTTP 503" in kept.last_error
    fake_github.clear_faults()
    clock_file.write_text(str(offset + 70))  # past the longest back-off so far
    request_message(fake_slack)
    fake_github.wait_for_check(OWNER, REPO, HEAD, status="in_progress", timeout=20)
    until(lambda: [d.status for d in deliveries(db)] == ["done"], timeout=10, what="the delivery done")
    assert len(runs(fake_github, HEAD)) == 1
    with db.session() as s:
        assert len(s.exec(select(ApprovalRequest)).all()) == 1
