"""Shared steps for the sign-off end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.fake_slack import FakeSlack
from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient

PLAYBOOK = Path(__file__).parent / "playbooks" / "approvals.yaml"
APPROVALS = "C0APPROVE"
GOVERNANCE = "C0GOV"
API_TOKEN = "ci-token-0123456789abcdef"
REQUESTER = "U0DEV"


@pytest.fixture
def approvals_bot(bot_factory, fake_slack, clock_file):
    fake_slack.add_usergroup("S0LEGAL", ["U0LEGAL1", "U0LEGAL2"])
    return bot_factory(PLAYBOOK_PATH=str(PLAYBOOK), CLOCK_OFFSET_FILE=str(clock_file),
                       API_TOKENS=f"github={API_TOKEN}").start()


@pytest.fixture
def slack(approvals_bot, fake_slack):
    with SignedSlackClient(approvals_bot.url, SIGNING_SECRET, fake=fake_slack) as client:
        yield client


def top_level(fake: FakeSlack) -> list[dict]:
    return [m for m in fake.messages(APPROVALS) if m.get("thread_ts") in (None, m["ts"])]


def request_message(fake: FakeSlack, index: int = 0) -> dict:
    """The index-th request posted in the approvals channel (thread replies aside)."""
    fake._poll(lambda: top_level(fake), index + 1, 10, "request messages")
    return top_level(fake)[index]


def current(fake: FakeSlack, ts: str) -> dict:
    return next(m for m in fake.messages(APPROVALS) if m["ts"] == ts)


def wait_message(fake: FakeSlack, ts: str, words: str, timeout: float = 10) -> dict:
    fake._poll(lambda: [1] if words in text_of(current(fake, ts)) else [], 1, timeout,
               f"the request message to say {words!r}")
    return current(fake, ts)


def text_of(payload: dict) -> str:
    parts = [payload.get("text") or ""]
    for block in payload.get("blocks") or []:
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        for el in block.get("elements") or []:
            if isinstance(el, dict) and isinstance(el.get("text"), (str, dict)):
                parts.append(el["text"] if isinstance(el["text"], str) else el["text"].get("text", ""))
    return "\n".join(parts)


def click(slack: SignedSlackClient, action_id: str, message: dict, user: str, *,
          channel: str = APPROVALS, state: dict | None = None):
    return slack.block_action(action_id, user_id=user, channel_id=channel,
                              message_ts=message["ts"], state=state)


def last_response(fake: FakeSlack, count: int) -> dict:
    return fake.wait_for_responses(count)[-1][1]


def thread_replies(fake: FakeSlack, message: dict) -> list[dict]:
    return [m for m in fake.messages(APPROVALS) if m.get("thread_ts") == message["ts"]
            and m["ts"] != message["ts"]]


def ask(slack: SignedSlackClient, text: str, user: str = REQUESTER):
    resp = slack.command("/ai-approve", text, user_id=user, channel_id="C0TEAM")
    assert resp.status_code == 200
    return resp


def ticked(message: dict, *items: str) -> dict:
    """The message's state.values with these checklist items ticked."""
    for block in message["blocks"]:
        if block.get("block_id", "").startswith("checklist-"):
            accessory = block["accessory"]
            options = [o for o in accessory["options"] if o["value"] in items]
            return {block["block_id"]: {accessory["action_id"]: {
                "type": "checkboxes", "selected_options": options}}}
    raise AssertionError("the message has no checklist")
