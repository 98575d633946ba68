"""/ai-audit over the real server: events made by real flows (signed slash commands), sealed,
then read back — the admins' listing paged by clicking its buttons, entity histories allowed
and refused (the refusal on the log), help, bad filters and tampered buttons."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import func, select

from blocks.audit import NEXT, PREVIOUS
from blocks.values import NOT_OURS
from models.approval import ApprovalRequest
from models.audit import AuditCheckpoint, AuditEvent
from models.incident import IncidentPage
from tests.e2e.waiting import until
from tests.harness.audit_sealing import seal_all
from tests.harness.payloads import new_trigger_id
from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient
from tests.unit.test_blocks import assert_valid_message

PLAYBOOK = Path(__file__).parent / "playbooks" / "audit.yaml"
ADMIN = "U0ADMIN"
REQUESTER = "U0DEV"
REVIEWER = "U0REV1"
REPORTER = "U0REPORT"
PAGED = "U0PRI1"
STRANGER = "U0NOBODY"
REQUESTS = 20  # more than one page of 15
SEQ = re.compile(r"`#(\d+)`")


@pytest.fixture
def audit_bot(bot_factory, fake_slack):
    for user in (ADMIN, REQUESTER, REVIEWER, "U0REV2", REPORTER, PAGED, STRANGER):
        fake_slack.add_user(user)
    return bot_factory(PLAYBOOK_PATH=str(PLAYBOOK)).start()


@pytest.fixture
def slack(audit_bot, fake_slack):
    with SignedSlackClient(audit_bot.url, SIGNING_SECRET, fake=fake_slack) as client:
        yield client


def count(db, action: str) -> int:
    with db.session() as s:
        return s.exec(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)).one()


def denials(db) -> list[AuditEvent]:
    with db.session() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == "audit.denied")
                           .order_by(AuditEvent.id)).all())


@pytest.fixture
def requests_made(slack, db):
    """Sign-off requests opened by signed slash commands, their events sealed."""
    for n in range(1, REQUESTS + 1):
        resp = slack.command("/ai-approve", f"code https://github.com/acme/app/pull/{n} Change {n} (Copilot)",
                             user_id=REQUESTER, channel_id="C0TEAM")
        assert resp.status_code == 200
    until(lambda: count(db, "approval.requested") == REQUESTS, timeout=30, what="every request on the log")
    seal_all(db)


def ask(slack, fake, text: str, user: str = ADMIN) -> dict:
    """The answer to `/ai-audit text`: the ack's own body, or what the listener sent after acking."""
    trigger = new_trigger_id()
    resp = slack.command("/ai-audit", text, user_id=user, trigger_id=trigger)
    assert resp.status_code == 200, resp.text
    if resp.content:
        return resp.json()
    return fake.wait_for_responses(1, key=trigger)[0][1]


def click(slack, fake, action_id: str, value: str, user: str = ADMIN) -> dict:
    trigger = new_trigger_id()
    resp = slack.block_action(action_id, value, user_id=user, trigger_id=trigger)
    assert resp.status_code == 200, resp.text
    return fake.wait_for_responses(1, key=trigger)[0][1]


def text_of(message: dict) -> str:
    parts = [message.get("text") or ""]
    for block in message.get("blocks") or []:
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        parts += [e["text"] for e in block.get("elements") or [] if isinstance(e.get("text"), str)]
    return "\n".join(parts)


def lines(message: dict) -> list[str]:
    return [line for block in message["blocks"] if block["type"] == "section"
            for line in block["text"]["text"].split("\n") if SEQ.match(line)]


def seqs(message: dict) -> list[int]:
    return [int(SEQ.match(line).group(1)) for line in lines(message)]


def buttons(message: dict) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]}


def sealed_seqs(db, action_prefix: str) -> list[int]:
    with db.session() as s:
        return list(s.exec(select(AuditEvent.seq).where(AuditEvent.seq.is_not(None),
                                                         AuditEvent.action.startswith(action_prefix))
                           .order_by(AuditEvent.seq.desc())).all())


def test_an_admin_pages_through_the_log_with_next_and_previous(slack, fake_slack, db, requests_made):
    expected = sealed_seqs(db, "approval.")
    assert len(expected) == REQUESTS
    first = ask(slack, fake_slack, "action:approval.*")
    assert_valid_message(first)
    assert first["response_type"] == "ephemeral"
    assert seqs(first) == expected[:15]
    assert all("<@U0DEV>" in line and "*approval.requested*" in line and "<!date^" in line for line in lines(first))
    assert "filter `action:approval.*`" in text_of(first)
    assert set(buttons(first)) == {NEXT}

    second = click(slack, fake_slack, NEXT, buttons(first)[NEXT])
    assert second["replace_original"] is True
    assert_valid_message(second)
    assert seqs(second) == expected[15:]
    assert set(buttons(second)) == {PREVIOUS}

    back = click(slack, fake_slack, PREVIOUS, buttons(second)[PREVIOUS])
    assert seqs(back) == expected[:15]
    assert set(buttons(back)) == {NEXT}


def test_the_listing_without_filters_is_everything_newest_first(slack, fake_slack, db, requests_made):
    with db.session() as s:
        newest = s.exec(select(func.max(AuditEvent.seq))).one()
    answer = ask(slack, fake_slack, "")
    shown = seqs(answer)
    # The bot's own sequencer may seal more (its checkpoints) meanwhile: never fewer.
    assert len(shown) == 15 and shown == sorted(shown, reverse=True) and shown[0] >= newest
    assert seqs(ask(slack, fake_slack, "recent action:approval.*")) == \
        seqs(ask(slack, fake_slack, "action:approval.*"))


def test_filters_in_any_order_with_a_mention_as_slack_sends_it(slack, fake_slack, db, requests_made):
    one = ask(slack, fake_slack, "actor:<@U0DEV|dev> entity:request:3 action:approval.requested since:30d")
    other = ask(slack, fake_slack, "since:30d action:approval.requested entity:request:3 actor:<@U0DEV>")
    # Acks never wait for work, so under load the requests need not be numbered in the order
    # they were sent: request 3's title is whatever the database says.
    with db.session() as s:
        title = s.get(ApprovalRequest, 3).title
    assert len(lines(one)) == 1 and "request 3" in lines(one)[0] and title in lines(one)[0]
    assert lines(other) == lines(one)
    assert "History of request 3" in text_of(ask(slack, fake_slack, "entity:request:3"))
    assert lines(ask(slack, fake_slack, f"actor:{STRANGER}")) == []
    assert "No sealed events match." in text_of(ask(slack, fake_slack, f"actor:{STRANGER}"))


def test_the_requester_and_an_approver_read_a_requests_history_and_a_stranger_is_refused(
        slack, fake_slack, db, requests_made):
    for user in (REQUESTER, REVIEWER, ADMIN):
        answer = ask(slack, fake_slack, "request 4", user=user)
        assert_valid_message(answer)
        assert "History of request 4" in text_of(answer)
        assert [line.split(" · ")[2:4] for line in lines(answer)] == [["*approval.requested*", "request 4"]]

    refused = ask(slack, fake_slack, "request 4", user=STRANGER)
    assert refused["response_type"] == "ephemeral"
    assert "Request 4 is not yours to read" in refused["text"]
    assert "your request is in the audit log" in refused["text"].lower()
    [denied] = until(lambda: denials(db), timeout=10, what="the refusal on the log")
    assert (denied.actor, denied.entity_type, denied.entity_id) == (STRANGER, "approval_request", "4")
    assert denied.payload["asked"] == "/ai-audit request 4"

    # Once sealed, the refusal is part of the request's history its requester reads.
    seal_all(db)
    answer = ask(slack, fake_slack, "request 4", user=REQUESTER)
    assert "*audit.denied*" in lines(answer)[0] and f"<@{STRANGER}>" in lines(answer)[0]
    assert "There is no request 999." in ask(slack, fake_slack, "request 999", user=STRANGER)["text"]
    assert len(denials(db)) == 1  # a missing request refuses nobody


def test_the_paged_responder_reads_the_incident_and_pages_stay_theirs(slack, fake_slack, db):
    resp = slack.command("/ai-incident", "sev2 Support bot leaked a prompt", user_id=REPORTER, channel_id="C0TEAM")
    assert resp.status_code == 200

    def paged():
        with db.session() as s:
            return s.exec(select(IncidentPage.user)).all()

    assert until(paged, timeout=30, what="the on-call page") == [PAGED]
    until(lambda: count(db, "incident.paged"), timeout=10, what="the page on the log")
    seal_all(db)
    for user in (REPORTER, PAGED):
        actions = [line.split(" · ")[2] for line in lines(ask(slack, fake_slack, "incident 1", user=user))]
        assert actions == ["*incident.paged*", "*incident.opened*"], user
    assert "Incident 1 is not yours to read" in ask(slack, fake_slack, "incident 1", user=REQUESTER)["text"]


def test_someone_not_an_admin_asking_for_the_log_is_told_what_they_can_read(slack, fake_slack, db):
    answer = ask(slack, fake_slack, "since:7d", user=REQUESTER)
    assert_valid_message(answer)
    assert "Only the playbook's admins (<@U0ADMIN>) may read the whole audit log" in answer["text"]
    assert "`/ai-audit request 42`" in answer["text"]
    [denied] = until(lambda: denials(db), timeout=10, what="the refusal on the log")
    assert (denied.actor, denied.entity_type, denied.entity_id) == (REQUESTER, "slack_user", REQUESTER)
    assert denied.payload["asked"] == "/ai-audit since:7d"


def test_help_and_an_unknown_word_answer_usage_with_examples(slack, fake_slack):
    for text in ("help", "shred"):
        answer = ask(slack, fake_slack, text, user=STRANGER)
        shown = text_of(answer)
        assert shown.index("/ai-audit") < shown.index("/ai-approve")
        assert "/ai-audit request|incident|usecase|vendor &lt;id&gt;" in shown
        assert "`/ai-audit actor:@mara action:approval.* since:7d`" in shown
    assert "`shred` is not something `/ai-audit` understands" in text_of(ask(slack, fake_slack, "shred"))
    assert "Usage: `/ai-audit request &lt;id&gt;`" in ask(slack, fake_slack, "request", user=STRANGER)["text"]


@pytest.mark.parametrize("text, words", [
    ("since:yesterday", "`yesterday` is not a duration like 7d or a date like 2026-11-01"),
    ("actor:@mara", "should be an @mention or a Slack user id"),
    ("since:1d until:2d", "`since:` must come before `until:`"),
    ("who:me", "`who:me` is not a filter"),
    ("action:<!channel>", "`action:&lt;!channel&gt;` is not an action name"),
])
def test_a_bad_filter_is_explained_and_nothing_is_read(slack, fake_slack, text, words):
    answer = ask(slack, fake_slack, text)
    assert_valid_message(answer)
    assert words in answer["text"]
    assert "Filters, in any order" in answer["text"]
    assert "<!channel" not in str(answer)


def test_tampered_page_buttons_get_a_clear_answer_and_nothing_breaks(slack, fake_slack, db, requests_made):
    first = ask(slack, fake_slack, "action:approval.*")
    good = buttons(first)[NEXT]
    cursor = good.split(":", 1)[0]
    for value in ("abc", "", "-1:action:approval.*", "9" * 20 + ":action:approval.*",
                  f"{cursor}:action:approval.* since:7d",  # a spelling the bot never writes
                  f"{cursor}:actor:<!channel>", f"{cursor}:" + "x" * 3000):
        answer = click(slack, fake_slack, NEXT, value)
        assert answer["text"] == NOT_OURS, value
        assert answer.get("replace_original") is False
    # A genuine button, clicked by someone who may not read the whole log.
    refused = click(slack, fake_slack, NEXT, good, user=REQUESTER)
    assert "Only the playbook's admins" in refused["text"]
    # A history's button altered to name a request the clicker does not take part in.
    history = ask(slack, fake_slack, "request 2", user=REQUESTER)
    assert lines(history) and buttons(history) == {}
    stolen = click(slack, fake_slack, NEXT, "100:entity:approval_request:2", user=STRANGER)
    assert "Request 2 is not yours to read" in stolen["text"]
    # The same value is one a history's button could carry: its requester is shown the page.
    own = click(slack, fake_slack, NEXT, "100:entity:approval_request:2", user=REQUESTER)
    assert own["replace_original"] is True and "History of request 2" in text_of(own)
    assert [line.split(" · ")[2:4] for line in lines(own)] == [["*approval.requested*", "request 2"]]
    until(lambda: len(denials(db)) == 2, timeout=10, what="both refusals on the log")
    assert [(d.actor, d.entity_type, d.entity_id) for d in denials(db)] == \
        [(REQUESTER, "slack_user", REQUESTER), (STRANGER, "approval_request", "2")]
    # And the genuine button still works for the admin.
    assert seqs(click(slack, fake_slack, NEXT, good)) == sealed_seqs(db, "approval.")[15:]


def acked_then_answered(slack, fake, text: str, user: str = ADMIN) -> tuple[dict, dict]:
    """The ack (said at once) and the answer that follows via the response_url."""
    trigger = new_trigger_id()
    resp = slack.command("/ai-audit", text, user_id=user, trigger_id=trigger)
    assert resp.status_code == 200, resp.text
    return resp.json(), fake.wait_for_responses(1, key=trigger, timeout=30)[0][1]


def test_an_admin_verifies_the_log_and_writes_a_checkpoint(slack, fake_slack, db, requests_made):
    ack, answer = acked_then_answered(slack, fake_slack, "verify")
    assert ack["response_type"] == "ephemeral" and "Verifying the audit log" in ack["text"]
    assert_valid_message(answer)
    assert "The audit log verifies." in answer["text"] and "OK: " in answer["text"]

    ack, answer = acked_then_answered(slack, fake_slack, "checkpoint")
    assert "writing a checkpoint" in ack["text"]
    assert_valid_message(answer)
    size = int(re.search(r"checkpoint: (\d+) events", answer["text"]).group(1))
    assert size >= REQUESTS
    with db.session() as s:
        written = s.exec(select(AuditCheckpoint).where(AuditCheckpoint.size == size)).one()
        recorded = s.exec(select(AuditEvent).where(AuditEvent.action == "audit.checkpoint")).all()
    # Its note verbatim, as the database holds it (the bot's own clock may have written this
    # one a moment before, when the log had not grown since: the latest is shown then).
    assert f"```{written.note}```" in [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"]
    assert size in [e.payload["size"] for e in recorded]


@pytest.mark.parametrize("word, what", [("verify", "verify the audit log"),
                                        ("checkpoint", "write an audit log checkpoint")])
def test_someone_not_an_admin_may_not_verify_or_checkpoint(slack, fake_slack, db, word, what):
    answer = ask(slack, fake_slack, word, user=REVIEWER)
    assert f"Only the playbook's admins (<@U0ADMIN>) may {what}" in answer["text"]
    [denied] = until(lambda: denials(db), timeout=10, what="the refusal on the log")
    assert (denied.actor, denied.payload["asked"]) == (REVIEWER, f"/ai-audit {word}")
    with db.session() as s:
        assert not s.exec(select(AuditEvent).where(AuditEvent.action == "audit.checkpoint",
                                                   AuditEvent.actor == REVIEWER)).all()
