"""A form's ack does not wait on a slow Slack: the Web API calls a listener makes before its
ack (checking the people a form names, linking the message an incident reports) get
handlers/deadlines.LOOKUP_BEFORE_ACK, then the listener goes on without their answer."""

import time
from pathlib import Path

from sqlmodel import select

from bot.settings import Settings
from models.incident import Incident
from models.registry import UseCase
from tests.e2e.registry_support import OWNER, PEOPLE, USECASE, form_state, open_form
from tests.e2e.registry_support import PLAYBOOK as REGISTRY
from tests.e2e.waiting import until
from tests.harness.fake_slack import Fault
from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient

SLACK_ACK_WINDOW = 3.0
INCIDENTS = Path(__file__).parent / "playbooks" / "incidents.yaml"
# The product's own Web API timeout, not the tests' short one: what a listener would wait.
API_TIMEOUT = Settings.model_fields["slack_api_timeout"].default
SLOWER_THAN_THE_TIMEOUT = API_TIMEOUT + 5


def test_a_form_naming_people_is_taken_in_time_while_users_info_is_slow(bot_factory, fake_slack, clock_file, db):
    for user in PEOPLE:
        fake_slack.add_user(user)
    bot = bot_factory(PLAYBOOK_PATH=str(REGISTRY), CLOCK_OFFSET_FILE=str(clock_file),
                      SLACK_API_TIMEOUT=str(API_TIMEOUT)).start()
    with SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake_slack) as slack:
        view_id, view = open_form(slack, fake_slack, "/ai-usecase", "new", OWNER, "usecase_new")
        fake_slack.inject_always("users.info", Fault.slow(SLOWER_THAN_THE_TIMEOUT, apply=False))
        started = time.monotonic()
        resp = slack.view_submission("usecase_new", form_state(view, USECASE), user_id=OWNER, view_id=view_id)
        elapsed = time.monotonic() - started
    assert resp.status_code == 200 and resp.content == b"", resp.text  # the form closed
    assert elapsed < SLACK_ACK_WINDOW, f"ack took {elapsed:.1f}s"
    assert fake_slack.calls_to("users.info"), "the people were to be checked"
    with db.session() as s:
        assert s.exec(select(UseCase.title)).all() == [USECASE["title"]]


def test_a_reported_message_becomes_an_incident_in_time_while_its_link_hangs(bot_factory, fake_slack,
                                                                             clock_file, db):
    bot = bot_factory(PLAYBOOK_PATH=str(INCIDENTS), CLOCK_OFFSET_FILE=str(clock_file),
                      SLACK_API_TIMEOUT=str(API_TIMEOUT)).start()
    message = {"type": "message", "ts": "1700000000.000100", "user": "U0CUSTOMER",
               "text": "The support bot just told me another customer's address"}
    with SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake_slack) as slack:
        slack.message_shortcut("report_ai_incident", message, channel_id="C0SUPPORT", user_id="U0REPORTER")
        fake_slack.wait_for("views.open")
        fake_slack.inject("chat.getPermalink", Fault.hang())
        started = time.monotonic()
        resp = slack.view_submission("incident_new", {
            "severity": {"value": {"type": "static_select", "selected_option": {"value": "sev2"}}},
            "title": {"value": {"type": "plain_text_input", "value": "Support bot leaked an address"}},
            "category": {"value": {"type": "radio_buttons", "selected_option": {"value": "data_exposure"}}},
        }, user_id="U0REPORTER", view_id=fake_slack.last_opened_view_id("incident_new"))
        elapsed = time.monotonic() - started
    assert resp.status_code == 200 and resp.text in ("", "null"), resp.text
    assert elapsed < SLACK_ACK_WINDOW, f"ack took {elapsed:.1f}s"
    assert [c.fault for c in fake_slack.calls_to("chat.getPermalink")] == ["hang"]

    def opened() -> list:
        with db.session() as s:
            return s.exec(select(Incident.title, Incident.source_permalink)).all()
    assert until(opened, timeout=10, what="the incident") == [("Support bot leaked an address", None)]
