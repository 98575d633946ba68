"""Hostile text through the real server: slash commands, every form, a decision reason, record
fields, an incident update, App Home, the playbook's own free text — and then every Web API
call the bot made, every response_url post and every acknowledgement body is scanned for a
live broadcast or a mention or link someone typed. None may reach Slack live.

Also: `private_metadata` that is not what the bot wrote is refused on the form with nothing
written, and text holding a NUL is refused where it was typed (on PostgreSQL it could not be
stored at all).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import func, select

from blocks import approval_modals
from blocks import incidents as incident_ui
from blocks.approvals import APPROVE, REJECT
from blocks.registry_forms import EDIT, NEW, VENDOR_REVIEW
from handlers.metadata import LOST
from models.approval import ApprovalRequest, ApprovalVote
from models.audit import AuditEvent
from models.incident import Incident
from models.registry import UseCase
from tests.e2e.approvals_support import request_message, text_of, ticked
from tests.e2e.registry_support import form_state
from tests.e2e.waiting import outbox_drained, until
from tests.harness.fake_slack import FakeSlack
from tests.harness.markup import BROADCASTS, live, parsed_texts
from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient

PLAYBOOK = Path(__file__).parent / "playbooks" / "markup.yaml"
HOSTILE = ("<!channel> <!here> <!everyone> <!subteam^S123> <@U999> <https://evil|click> "
           "&lt;!channel&gt; *bold*")
HOSTILE_URL = "https://x.example/<!channel>|<@U999>"
# The playbook names no user group and nobody is U999: each of these came from typed text.
MARKERS = (*BROADCASTS, "<!subteam", "<@U999", "<https://evil", "<https://x.example/")
ESCAPED = "&lt;!channel&gt;"  # how the hostile text reads once escaped
DEV, REVIEWER, GOVERNOR, ON_CALL = "U0DEV", "U0REV1", "U0GOV1", "U0PRI1"
PEOPLE = [DEV, REVIEWER, "U0REV2", GOVERNOR, ON_CALL, "U0ADMIN"]
WAIT = 20


@pytest.fixture
def markup_bot(bot_factory, fake_slack):
    for user in PEOPLE:
        fake_slack.add_user(user)
    return bot_factory(PLAYBOOK_PATH=str(PLAYBOOK)).start()


@pytest.fixture
def slack(markup_bot, fake_slack):
    with SignedSlackClient(markup_bot.url, SIGNING_SECRET, fake=fake_slack) as client:
        yield client


class Session:
    """Drives the bot and keeps every acknowledgement body, to scan them with the rest."""

    def __init__(self, slack: SignedSlackClient, fake: FakeSlack):
        self.slack, self.fake = slack, fake
        self.acks: list[Any] = []

    def _keep(self, response: httpx.Response) -> Any:
        assert response.status_code == 200, response.text
        body = response.json() if response.content else None
        self.acks.append(body)
        return body

    def command(self, command: str, text: str, user: str = DEV, channel: str = "C0TEAM") -> Any:
        return self._keep(self.slack.command(command, text, user_id=user, channel_id=channel))

    def form(self, command: str, text: str, callback_id: str, user: str = DEV) -> tuple[str, dict]:
        """Open one of the bot's forms with a command; (view id, view) once Slack has it."""
        before = len(self.fake.calls_to("views.open"))
        self.command(command, text, user)
        return self.opened(before, callback_id)

    def opened(self, before: int, callback_id: str) -> tuple[str, dict]:
        self.fake.wait_for("views.open", count=before + 1, timeout=WAIT)
        view_id = self.fake.last_opened_view_id(callback_id)
        return view_id, self.fake.view(view_id)

    def submit(self, view_id: str, view: dict, answers: dict, user: str = DEV, **extra: Any) -> Any:
        return self._keep(self.slack.view_submission(view["callback_id"], form_state(view, answers),
                                                     user_id=user, view_id=view_id, **extra))

    def click(self, action_id: str, message: dict, user: str, channel: str, **extra: Any) -> Any:
        return self._keep(self.slack.block_action(action_id, user_id=user, channel_id=channel,
                                                  message_ts=message["ts"], **extra))


def hostile_answers(view: dict, **chosen: Any) -> dict:
    """The hostile text in every text input of `view` (a URL-looking one in URL inputs);
    `chosen` answers the pickers."""
    answers = dict(chosen)
    for block in view["blocks"]:
        if block["type"] != "input" or block["block_id"] in answers:
            continue
        kind = block["element"]["type"]
        if kind == "plain_text_input":
            limit = block["element"].get("max_length") or 3000
            answers[block["block_id"]] = HOSTILE[:limit]
        elif kind == "url_text_input":
            answers[block["block_id"]] = HOSTILE_URL
    return answers


def dm_messages(fake: FakeSlack, user: str, words: str) -> list[dict]:
    return [m for m in fake.messages(user) if words in (m.get("text") or "")]


def test_hostile_text_in_every_field_reaches_slack_escaped_never_live(slack, fake_slack, db):
    bot = Session(slack, fake_slack)

    # Slash commands carrying the text straight in.
    bot.command("/ai-approve", f"code https://x {HOSTILE} hi")
    bot.command("/ai-incident", f"sev2 {HOSTILE} x")
    bot.command("/ai-approve", HOSTILE)                      # not a subcommand: help names the word
    bot.command("/ai-oncall", f"override <@{ON_CALL}> {HOSTILE[:10]} 2030-01-01T00:00 2030-01-02T00:00")
    bot.command("/ai-oncall", f"override <@{ON_CALL}> primary {HOSTILE[:10]} x")
    bot.command("/ai-playbook", f"explain {HOSTILE[:10]}")
    bot.command("/ai-playbook", "")                          # the playbook's own free text
    bot.command("/ai-playbook", "explain code")

    # The sign-off form, every text field hostile.
    view_id, view = bot.form("/ai-approve", "", approval_modals.NEW)
    assert bot.submit(view_id, view, hostile_answers(view, kind="code")) is None

    # A decision reason: reject the first request with the hostile text.
    first = request_message(fake_slack, 0)
    before = len(fake_slack.calls_to("views.open"))
    bot.click(REJECT, first, REVIEWER, "C0APPROVE")
    view_id, view = bot.opened(before, approval_modals.REASON)
    assert bot.submit(view_id, view, {"reason": HOSTILE}, user=REVIEWER) is None
    # And approve the second, its checklist (playbook text) confirmed.
    second = request_message(fake_slack, 1)
    bot.click(APPROVE, second, REVIEWER, "C0APPROVE", state=ticked(second, "tests-pass"))

    # The incident form, the message shortcut on a hostile message, an update and an ack.
    view_id, view = bot.form("/ai-incident", "", incident_ui.NEW)
    assert bot.submit(view_id, view, hostile_answers(view, severity="sev2")) is None
    before = len(fake_slack.calls_to("views.open"))
    bot._keep(slack.message_shortcut(incident_ui.SHORTCUT, {"type": "message", "ts": "1700000000.000100",
                                                            "user": DEV, "text": HOSTILE}, user_id=DEV))
    view_id, view = bot.opened(before, incident_ui.NEW)
    # The message's mrkdwn is shown in the form as the text it reads as (`&lt;` as `<`).
    assert next(b for b in view["blocks"] if b["block_id"] == "title")["element"]["initial_value"] \
        == HOSTILE.replace("&lt;", "<").replace("&gt;", ">")
    assert bot.submit(view_id, view, {"severity": "sev2"}) is None
    fake_slack._poll(lambda: dm_messages(fake_slack, ON_CALL, "You are paged"), 3, WAIT, "three pages")
    page = dm_messages(fake_slack, ON_CALL, "You are paged")[0]
    summary = fake_slack._poll(lambda: [m for m in fake_slack.messages("C0INC") if incident_ui.UPDATE in json.dumps(m)],
                               1, WAIT, "an incident summary with Post update")[0]
    before = len(fake_slack.calls_to("views.open"))
    bot.click(incident_ui.UPDATE, summary, ON_CALL, "C0INC")
    view_id, view = bot.opened(before, incident_ui.UPDATE_FORM)
    assert bot.submit(view_id, view, {"text": HOSTILE}, user=ON_CALL) is None
    bot.click(incident_ui.ACK, page, ON_CALL, "D0PRI1")
    bot.command("/ai-incident", "timeline 1")

    # Records: a use case and a vendor with every text field hostile, shown, listed, reviewed.
    view_id, view = bot.form("/ai-usecase", "new", NEW["usecase"])
    assert bot.submit(view_id, view, hostile_answers(view, owner=DEV, audience="internal",
                                                     risk_tier="limited", models=None)) is None
    view_id, view = bot.form("/ai-vendor", "new", NEW["vendor"])
    assert bot.submit(view_id, view, hostile_answers(
        view, assignee=DEV, reviewer=GOVERNOR, trains_on_our_data="no", deployment="cloud",
        injection_tested="passed", risk_level="low", review_status="in_review")) is None
    bot.command("/ai-usecase", "show 1")
    bot.command("/ai-usecase", "list")
    bot.command("/ai-vendor", "show 1")
    bot.command("/ai-usecase", "reviewed 1")
    view_id, view = bot.form("/ai-vendor", "reviewed 1", VENDOR_REVIEW, user=GOVERNOR)
    assert bot.submit(view_id, view, {"review_status": "reviewed", "review_result": HOSTILE}, user=GOVERNOR) is None

    # App Home for the approver and the requester.
    for user in (REVIEWER, DEV):
        bot._keep(slack.event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
                               "event_ts": "1700000000.000200"}))

    # Everything owed has gone out: the outbox is empty and the last things asked are there.
    until(lambda: outbox_drained(db), timeout=WAIT, what="the outbox drained")
    fake_slack.wait_for("views.publish", count=2, timeout=WAIT)
    fake_slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args.get("channel") == GOVERNOR
                        and "signed off" in (c.args.get("text") or "") + json.dumps(c.args.get("blocks")),
                        timeout=WAIT)
    fake_slack.wait_for_responses(12, timeout=WAIT)

    leaks = [(c.method, t) for c in fake_slack.calls for t in live(c.args, MARKERS)]
    leaks += [("response_url", t) for _, payload in fake_slack.responses for t in live(payload, MARKERS)]
    leaks += [("ack", t) for body in bot.acks if body for t in live(body, MARKERS)]
    assert leaks == [], "\n".join(f"{where}: {text[:300]}" for where, text in leaks)

    # The hostile text did reach Slack — shown, escaped — on every surface, so the scan saw it.
    def shown(payloads: list[Any]) -> bool:
        return any(ESCAPED in text for p in payloads for text in parsed_texts(p))

    surfaces = {
        "request message": [m for m in fake_slack.messages("C0APPROVE")],
        "approver DM": fake_slack.messages("U0REV2"),
        "requester DM": fake_slack.messages(DEV),
        "incident announcement": fake_slack.messages("C0INC"),
        "page DM": fake_slack.messages(ON_CALL),
        "App Home": [c.args["view"] for c in fake_slack.calls_to("views.publish")],
        "ephemeral replies": [p for _, p in fake_slack.responses],
        "acks": [b for b in bot.acks if b],
        "modals": [c.args["view"] for c in fake_slack.calls_to("views.open")],
    }
    assert [name for name, payloads in surfaces.items() if not shown(payloads)] == []
    # A typed link is shown as the text typed, never as a link.
    assert "&lt;https://evil|click&gt;" in text_of(request_message(fake_slack, 0))
    # Command text arrives as mrkdwn, so its `&lt;` is a typed `<` (escaped once, not twice);
    # a form's text is what was typed, `&lt;` included.
    assert "&amp;lt;" not in request_message(fake_slack, 0)["text"]  # the title, from the command
    assert "&amp;lt;!channel&amp;gt; *bold*" in request_message(fake_slack, 1)["text"]  # from the form


def rows(db, model) -> int:
    with db.session() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def written(db) -> dict[str, int]:
    return {m.__tablename__: rows(db, m) for m in (ApprovalRequest, ApprovalVote, Incident, UseCase, AuditEvent)}


def refused_as_lost(body: Any) -> bool:
    return bool(body) and body.get("response_action") == "errors" and LOST in body["errors"].values()


FORGED = ["C" + "X" * 4999, "not a channel", "C0TEAM:extra", "<!channel>", "C0team"]


def test_private_metadata_that_is_not_ours_is_refused_on_the_form_and_nothing_written(slack, fake_slack, db):
    bot = Session(slack, fake_slack)
    bot.command("/ai-approve", "code https://x.example Forms need their own metadata")
    request_message(fake_slack, 0)
    bot.command("/ai-incident", "sev2 Something to resolve")
    until(lambda: outbox_drained(db), timeout=WAIT, what="the outbox drained")

    sign_off_id, sign_off = bot.form("/ai-approve", "", approval_modals.NEW)
    incident_id, incident = bot.form("/ai-incident", "", incident_ui.NEW)
    record_id, record = bot.form("/ai-usecase", "new", NEW["usecase"])
    before = written(db)
    ephemerals = len(fake_slack.calls_to("chat.postEphemeral"))

    def forged(view_id: str, view: dict, answers: dict, metadata: str, callback: str | None = None) -> Any:
        return bot._keep(slack.view_submission(callback or view["callback_id"], form_state(view, answers),
                                               user_id=DEV, view_id=view_id, private_metadata=metadata))

    sign_off_answers = {"kind": "code", "title": "T", "reference": "https://x.example/2"}
    incident_answers = {"severity": "sev2", "title": "T"}
    record_answers = {"title": "T", "description": "D", "owner": DEV, "audience": "internal",
                      "purpose": "P", "risk_tier": "limited"}
    cases = [(sign_off_id, sign_off, sign_off_answers, m, None) for m in FORGED]
    cases += [(incident_id, incident, incident_answers, m, None)
              for m in ("C0CHAN", "C0CHAN:not-a-ts", "x" * 5000 + ":1.2", "C0CHAN:1.2:3")]
    cases += [(record_id, record, record_answers, m, None) for m in FORGED]
    # Forms opened with an id, submitted with one that is not a row id the bot could have written.
    for metadata in ("1", "1:1:approve", "0:1:reject", "-1:1:reject", "99999999999999999999:1:reject",
                     "1:1:reject:x", "abc:1:reject", " 1:1:reject"):
        cases.append((sign_off_id, sign_off, {"reason": "why"}, metadata, approval_modals.REASON))
    for metadata in ("", "abc", "1.5", "99999999999999999999", "1:2"):
        cases.append((incident_id, incident, {"summary": "done"}, metadata, incident_ui.RESOLVE_FORM))
        cases.append((incident_id, incident, {"text": "update"}, metadata, incident_ui.UPDATE_FORM))
        cases.append((record_id, record, record_answers, metadata, VENDOR_REVIEW))
    for metadata in ("", "1", "abc:C0CHAN", "1:<!channel>", "99999999999999999999:"):
        cases.append((record_id, record, record_answers, metadata, EDIT["usecase"]))

    answers = [(case[3][:40], case[4] or case[1]["callback_id"], forged(*case)) for case in cases]
    assert [(m, cb, body) for m, cb, body in answers if not refused_as_lost(body)] == []
    # An option value the form never offered, past PostgreSQL's integer column.
    state = form_state(sign_off, sign_off_answers) | {"use_case": {"value": {
        "type": "static_select", "selected_option": {"value": "9" * 20}}}}
    body = bot._keep(slack.view_submission(approval_modals.NEW, state, user_id=DEV, view_id=sign_off_id))
    assert body == {"response_action": "errors", "errors": {"use_case": "Pick a use case from the list."}}
    assert written(db) == before
    assert len(fake_slack.calls_to("chat.postEphemeral")) == ephemerals


def test_text_with_a_nul_is_refused_where_it_was_typed_and_nothing_written(slack, fake_slack, db):
    bot = Session(slack, fake_slack)
    before = written(db)
    bot.command("/ai-incident", "sev2 leak\x00ed")
    bot.command("/ai-approve", "code https://x.example bad\x00title")
    answers = fake_slack.wait_for_responses(2, timeout=WAIT)
    assert all("U+0000" in payload["text"] for _, payload in answers), answers
    view_id, view = bot.form("/ai-usecase", "new", NEW["usecase"])
    body = bot.submit(view_id, view, {"title": "T", "description": "bad\x00", "owner": DEV, "audience": "internal",
                                      "purpose": "P", "risk_tier": "limited"})
    assert body["response_action"] == "errors" and "U+0000" in body["errors"]["description"]
    view_id, view = bot.form("/ai-approve", "", approval_modals.NEW)
    body = bot.submit(view_id, view, {"kind": "code", "title": "bad\x00", "reference": "https://x.example"})
    assert body["response_action"] == "errors" and "U+0000" in body["errors"]["title"]
    assert written(db) == before
