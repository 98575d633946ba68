"""The secrets the bot holds — bot token, signing secret, app token, API tokens — never appear in
its output, at INFO or at DEBUG, after a run that touches every surface: commands, buttons,
forms, events, the HTTP API, and the errors (a forged signature, a malformed body, Slack
failing and answering oddly). Nor in anything the bot sent to Slack or answered over HTTP.

Each run also shows that it reached what it meant to (a sign-off decided, the gate answered,
the faults played, DEBUG lines written): a search of a log that never saw the secrets'
neighbourhood could not fail.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import httpx
import pytest

from blocks.approvals import APPROVE
from tests.e2e.approvals_support import ticked
from tests.e2e.waiting import outbox_drained, until
from tests.harness import payloads
from tests.harness.faults import Fault
from tests.harness.server import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET
from tests.harness.signing import SignedSlackClient
from tests.reliability import figures
from tests.reliability.hostile_input import ADMIN, PLAYBOOK, REQUESTER, REVIEWER

pytestmark = pytest.mark.e2e

API_TOKEN = "ci-secret-token-6c1f0e9b2a7d4c38b5e1"
OTHER_API_TOKEN = "deploy-secret-token-93ab57e2d04f6c18"
SECRETS = {"bot token": BOT_TOKEN, "signing secret": SIGNING_SECRET, "app token": APP_TOKEN,
           "API token": API_TOKEN, "another API token": OTHER_API_TOKEN}
APPROVALS = PLAYBOOK["channels"]["approvals"]


def workload(bot, slack: SignedSlackClient, fake, db) -> list[httpx.Response]:  # noqa: ANN001
    answers = []
    for user in (REQUESTER, REVIEWER, ADMIN):
        fake.add_user(user)
    # Slack failing and answering oddly while the bot works: errors it must log without secrets.
    fake.inject("chat.postMessage", Fault.server_error(503), Fault.answer({"ok": False, "error": "invalid_auth"}))
    fake.inject("views.publish", Fault.answer("not json at all", status=502))
    for command, text in (("/ai-approve", "help"), ("/ai-approve", "code https://github.com/acme/app/pull/7 Secret run"),
                          ("/ai-incident", "sev2 Secret run incident"), ("/ai-usecase", "list"), ("/ai-playbook", ""),
                          ("/ai-audit", "recent"), ("/ai-nope", "x")):
        answers.append(slack.command(command, text, user_id=REQUESTER))
    answers.append(slack.event({"type": "app_home_opened", "user": REQUESTER, "tab": "home"}))
    until(lambda: [m for m in fake.messages(APPROVALS) if m.get("blocks")], timeout=30,
          what="the sign-off request in its channel")
    request = [m for m in fake.messages(APPROVALS) if m.get("blocks")][0]
    checklist = PLAYBOOK["approvals"]["code"]["checklist"]
    answers.append(slack.block_action(APPROVE, user_id=REVIEWER, channel_id=APPROVALS, message_ts=request["ts"],
                                      state=ticked(request, *checklist)))
    until(lambda: fake.calls_to("chat.update"), timeout=30, what="the approved request's message updated")
    answers.append(slack.block_action(APPROVE, "not-a-request", user_id=REVIEWER))
    answers.append(slack.block_action("no_such_button", "1", user_id=REVIEWER))
    answers.append(slack.view_submission("approval_new", {}, private_metadata="x" * 300, user_id=REQUESTER))
    # Refused requests: their headers and bodies are what a careless log would print.
    answers.append(slack.command("/ai-approve", "help", signing="forged"))
    answers.append(slack.post_raw(urlencode({"payload": "[]"}), slack.signer.headers(urlencode({"payload": "[]"}))))
    with httpx.Client(base_url=bot.url, timeout=10) as api:
        for auth in (f"Bearer {API_TOKEN}", f"Bearer {OTHER_API_TOKEN}", f"Bearer {API_TOKEN}x", "Bearer wrong", None):
            headers = {"Authorization": auth} if auth else {}
            answers.append(api.get("/api/v1/gate", params={"ref": "https://github.com/acme/app/pull/7"},
                                   headers=headers))
        answers.append(api.get("/api/v1/gate", headers={"Authorization": f"Bearer {API_TOKEN}"}))
        answers.append(api.get("/metrics"))
    until(lambda: outbox_drained(db), timeout=30, what="every message the run owed Slack")
    return answers


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_no_secret_in_the_logs_of_a_full_run(bot_factory, fake_slack, db, level):  # noqa: ANN001
    bot = bot_factory(LOG_LEVEL=level, SLACK_APP_TOKEN=APP_TOKEN,
                      API_TOKENS=f"ci={API_TOKEN},deploy={OTHER_API_TOKEN}").start()
    with SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake_slack) as slack:
        answers = workload(bot, slack, fake_slack, db)
    bot.stop()  # shutdown lines too
    output = bot.output()

    # The run reached what the search is about.
    assert [a.status_code for a in answers if a.request.url.path == "/api/v1/gate"][:5] == [200, 200, 401, 401, 401]
    assert any(a.status_code == 401 for a in answers if a.request.url.path == "/slack/events")
    assert [c for c in fake_slack.calls if c.fault]
    assert "gate" in output
    if level == "DEBUG":
        assert '"level": "DEBUG"' in output

    places = {"bot output": output,
              "Web API arguments": json.dumps([c.args for c in fake_slack.calls]),
              "response_url posts": json.dumps(fake_slack.responses),
              "fake Slack's findings": json.dumps([fake_slack.violations, fake_slack.warnings]),
              "HTTP answers": "\n".join(a.text for a in answers)}
    seen = [f"{secret} in {place}" for secret, value in SECRETS.items()
            for place, text in places.items() if value in text]
    figures.add({"secret sightings": len(seen)})
    assert seen == []
