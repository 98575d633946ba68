"""Shared steps for the registry end-to-end tests: the bot on an injected clock, real people
in the fake workspace, and filling the bot's own forms the way Slack reports them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.harness.fake_slack import FakeSlack
from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient

PLAYBOOK = Path(__file__).parent / "playbooks" / "registry.yaml"
GOVERNANCE = "C0GOV"
OWNER = "U0OWN"
HELPER = "U0HELP"
GOVERNOR = "U0GOV1"
REVIEWER = "U0REV"
PEOPLE = [OWNER, HELPER, GOVERNOR, "U0GOV2", REVIEWER, "U0LEAD1", "U0LEAD2", "U0ADMIN"]
DAY = 86400


@pytest.fixture
def registry_bot(bot_factory, fake_slack, clock_file):
    for user in PEOPLE:
        fake_slack.add_user(user)
    fake_slack.add_user("U0BOT", is_bot=True)
    fake_slack.add_user("U0GONE", deleted=True)
    return bot_factory(PLAYBOOK_PATH=str(PLAYBOOK), CLOCK_OFFSET_FILE=str(clock_file)).start()


@pytest.fixture
def slack(registry_bot, fake_slack):
    with SignedSlackClient(registry_bot.url, SIGNING_SECRET, fake=fake_slack) as client:
        yield client


def move(clock_file: Path, seconds: float) -> None:
    clock_file.write_text(str(seconds))


def element_state(element: dict[str, Any], answer: Any) -> dict[str, Any]:
    """What Slack reports for `element` holding `answer`, as in view_submission state.values."""
    kind = element["type"]
    if kind == "static_select":
        return {"type": kind, "selected_option": {"value": answer, "text": {"type": "plain_text", "text": answer}}
                if answer is not None else None}
    if kind == "multi_static_select":
        return {"type": kind, "selected_options": [{"value": v, "text": {"type": "plain_text", "text": v}}
                                                   for v in answer or []]}
    if kind == "users_select":
        return {"type": kind, "selected_user": answer}
    if kind == "multi_users_select":
        return {"type": kind, "selected_users": list(answer or [])}
    if kind == "datepicker":
        return {"type": kind, "selected_date": answer}
    return {"type": kind, "value": answer}


def initial_answer(element: dict[str, Any]) -> Any:
    """What the form shows before anyone types: its initial value, as an answer."""
    if "initial_option" in element:
        return element["initial_option"]["value"]
    if "initial_options" in element:
        return [o["value"] for o in element["initial_options"]]
    for key in ("initial_user", "initial_users", "initial_date", "initial_value"):
        if key in element:
            return element[key]
    return None


def form_state(view: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """state.values for the bot's form `view`: each input as answered, else as it was shown."""
    values = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        answer = answers[block["block_id"]] if block["block_id"] in answers else initial_answer(element)
        values[block["block_id"]] = {element["action_id"]: element_state(element, answer)}
    return values


def open_form(slack: SignedSlackClient, fake: FakeSlack, command: str, text: str, user: str,
              callback_id: str) -> tuple[str, dict[str, Any]]:
    before = len(fake.calls_to("views.open"))
    response = slack.command(command, text, user_id=user)
    assert response.status_code == 200
    fake.wait_for("views.open", count=before + 1)
    view_id = fake.last_opened_view_id(callback_id)
    return view_id, fake.view(view_id)


def submit(slack: SignedSlackClient, view_id: str, view: dict[str, Any], answers: dict[str, Any],
           user: str) -> dict[str, Any] | None:
    """Submit the form; the bot's JSON answer (errors), or None when it closed the form."""
    response = slack.view_submission(view["callback_id"], form_state(view, answers), user_id=user,
                                     view_id=view_id)
    assert response.status_code == 200
    return response.json() if response.content else None


USECASE = {"title": "Support reply drafts", "description": "Drafts replies to support tickets.",
           "owner": OWNER, "contributors": [HELPER], "audience": "external",
           "purpose": "Faster first replies; agents edit every draft.", "risk_tier": "limited",
           "models": "OpenAI / gpt-4o / 2024-08-06 / vendor cloud"}
VENDOR = {"name": "OpenAI", "website": "https://openai.com", "provides": "LLM API",
          "trains_on_our_data": "no", "deployment": "cloud", "injection_tested": "passed",
          "risk_level": "high", "review_status": "in_review", "assignee": OWNER, "reviewer": REVIEWER}


def ephemerals(fake: FakeSlack, user: str) -> list[str]:
    return [c.args.get("text", "") for c in fake.calls_to("chat.postEphemeral") if c.args.get("user") == user]


def dms(fake: FakeSlack, user: str, words: str = "") -> list[dict[str, Any]]:
    return [c.args for c in fake.calls_to("chat.postMessage")
            if c.args.get("channel") == user and words in c.args.get("text", "")]
