"""Human sign-off through the real HTTP path: signed slash commands, button clicks and modal
submissions against the running bot, with the fake Slack recording what the bot posts."""

import json
import re
import subprocess
import sys

import httpx
import pytest
from sqlmodel import select

from blocks.approvals import APPROVE, CANCEL, CHANGES, REJECT, RESUBMIT
from models.audit import AuditEvent
from tests.e2e.approvals_support import (  # noqa: F401  (fixtures)
    API_TOKEN,
    APPROVALS,
    GOVERNANCE,
    REQUESTER,
    approvals_bot,
    ask,
    click,
    current,
    last_response,
    request_message,
    slack,
    text_of,
    thread_replies,
    ticked,
    wait_message,
)
from tests.e2e.waiting import outbox_drained
from tests.harness.server import REPO_ROOT

PR = "https://github.com/acme/app/pull/42"


def audit_actions(db):
    with db.session() as s:
        return [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]


def gate(bot, ref, token=API_TOKEN, **headers):
    return httpx.get(f"{bot.url}/api/v1/gate", params={"ref": ref},
                     headers={"Authorization": f"Bearer {token}", **headers})


def test_inline_request_is_posted_with_policy_and_buttons_and_approvers_are_told(slack,
                                                                                 fake_slack):
    ask(slack, f"pair {PR} Refactor billing retries (Copilot)")
    answer = last_response(fake_slack, 1)
    assert answer["response_type"] == "ephemeral" and "requested in <#C0APPROVE>" in answer["text"]
    message = request_message(fake_slack)
    text = text_of(message)
    assert "Refactor billing retries" in text and PR in text and "Copilot" in text
    assert f"<@{REQUESTER}>" in text
    assert "2 of reviewers" in text
    actions = [e["action_id"] for b in message["blocks"] if b["type"] == "actions"
               for e in b["elements"]]
    assert actions == [APPROVE, REJECT, CHANGES, CANCEL]
    fake_slack._poll(lambda: thread_replies(fake_slack, message), 1, 10, "the thread notice")
    notice = text_of(thread_replies(fake_slack, message)[0])
    assert all(f"<@{u}>" in notice for u in ("U0REV1", "U0REV2", "U0REV3"))
    dms = fake_slack.wait_for(lambda c: c.method == "chat.postMessage"
                              and c.args["channel"].startswith("U0REV"), count=3)
    assert {c.args["channel"] for c in dms} == {"U0REV1", "U0REV2", "U0REV3"}


def test_approve_updates_the_message_and_the_gate_answers(slack, fake_slack, approvals_bot, db):
    ask(slack, f"pair {PR} Two reviewers please")
    message = request_message(fake_slack)
    assert gate(approvals_bot, PR).json()["approved"] is False
    click(slack, APPROVE, message, "U0REV1")
    wait_message(fake_slack, message["ts"], "1 of 2 approvals")
    click(slack, APPROVE, current(fake_slack, message["ts"]), "U0REV2")
    final = wait_message(fake_slack, message["ts"], "APPROVED")
    assert "<@U0REV1>" in text_of(final) and "<@U0REV2>" in text_of(final)
    assert not [b for b in final["blocks"] if b["type"] == "actions"], "no buttons when final"
    answer = gate(approvals_bot, PR).json()
    assert answer["approved"] is True and answer["status"] == "approved"
    assert {a["user"] for a in answer["approved_by"]} == {"U0REV1", "U0REV2"}
    assert answer["playbook_version"] == 1 and answer["revision"] == 1
    fake_slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args["channel"] == REQUESTER
                        and "APPROVED" in c.args.get("text", ""))
    actions = audit_actions(db)
    assert actions.count("approval.voted") == 2 and "approval.approved" in actions


def test_the_requester_cannot_approve_their_own_request(slack, fake_slack, db):
    ask(slack, f"pair {PR} Mine")
    message = request_message(fake_slack)
    click(slack, APPROVE, message, REQUESTER)
    denial = last_response(fake_slack, 2)
    assert denial["response_type"] == "ephemeral"
    assert "own request" in denial["text"]
    assert "approval.denied" in audit_actions(db)


def test_an_outsider_is_refused_and_the_denial_is_audited(slack, fake_slack, db):
    ask(slack, f"pair {PR} Outsider")
    message = request_message(fake_slack)
    click(slack, APPROVE, message, "U0STRANGER")
    denial = last_response(fake_slack, 2)
    assert "reviewers" in denial["text"]
    assert "approval.denied" in audit_actions(db)
    assert "0 of 2 approvals" in text_of(current(fake_slack, message["ts"]))


def test_one_vote_per_person(slack, fake_slack):
    ask(slack, f"pair {PR} Double click")
    message = request_message(fake_slack)
    click(slack, APPROVE, message, "U0REV1")
    click(slack, APPROVE, message, "U0REV1")
    second = last_response(fake_slack, 3)
    assert "already" in second["text"]
    # When, on the playbook's wall clock (Europe/Berlin), not UTC's.
    assert re.search(r"at \d{4}-\d\d-\d\d \d\d:\d\d CES?T; one vote per person", second["text"]), second["text"]
    wait_message(fake_slack, message["ts"], "1 of 2 approvals")


def test_distinct_groups_rule(slack, fake_slack, approvals_bot):
    ask(slack, "copy external https://docs.acme.example/pricing New pricing page copy (Claude)")
    message = request_message(fake_slack)
    click(slack, APPROVE, message, "U0LEAD1")
    wait_message(fake_slack, message["ts"], "1 of 2 approvals")
    click(slack, APPROVE, message, "U0LEAD2")
    assert "leads" in last_response(fake_slack, 3)["text"]
    click(slack, APPROVE, message, "U0LEGAL1")  # a member of a Slack user group
    final = wait_message(fake_slack, message["ts"], "APPROVED")
    assert "for *legal*" in text_of(final) and "for *leads*" in text_of(final)


def test_checklist_must_be_confirmed_before_the_final_approval_counts(slack, fake_slack):
    ask(slack, f"code {PR} Needs tests")
    message = request_message(fake_slack)
    click(slack, APPROVE, message, "U0REV1")
    refusal = last_response(fake_slack, 2)
    assert "tests-pass" in refusal["text"] or "checklist" in refusal["text"].lower()
    click(slack, APPROVE, message, "U0REV1", state=ticked(message, "tests-pass"))
    final = wait_message(fake_slack, message["ts"], "APPROVED")
    assert ":ballot_box_with_check:" in text_of(final)


def test_reject_needs_a_reason_given_in_a_modal(slack, fake_slack, approvals_bot):
    ask(slack, f"pair {PR} Will be rejected")
    message = request_message(fake_slack)
    click(slack, REJECT, message, "U0REV2")
    [opened] = fake_slack.wait_for("views.open")
    modal = opened.args["view"]
    assert modal["callback_id"] == "approval_reason"
    view_id = _opened_view_id(fake_slack, "approval_reason")
    empty = slack.view_submission("approval_reason", {"reason": {"value": {
        "type": "plain_text_input", "value": "  "}}}, user_id="U0REV2", view_id=view_id)
    assert empty.json()["response_action"] == "errors" and "reason" in empty.json()["errors"]
    assert gate(approvals_bot, PR).json()["status"] == "pending"
    ok = slack.view_submission("approval_reason", {"reason": {"value": {
        "type": "plain_text_input", "value": "Leaks a customer email in a log line"}}},
        user_id="U0REV2", view_id=view_id)
    assert ok.status_code == 200 and ok.text in ("", "null")
    final = wait_message(fake_slack, message["ts"], "REJECTED")
    assert "Leaks a customer email" in text_of(final)
    assert gate(approvals_bot, PR).json()["status"] == "rejected"


def _opened_view_id(fake, callback_id):
    fake._poll(lambda: [1] if any(c.args["view"].get("callback_id") == callback_id
                                  for c in fake.calls_to("views.open")) else [],
               1, 10, f"a {callback_id} modal")
    return fake.last_opened_view_id(callback_id)


def test_changes_requested_then_resubmitted_dismisses_stale_approvals(slack, fake_slack,
                                                                     approvals_bot):
    ask(slack, f"pair {PR} Needs a second look")
    message = request_message(fake_slack)
    click(slack, APPROVE, message, "U0REV1")
    wait_message(fake_slack, message["ts"], "1 of 2 approvals")
    click(slack, CHANGES, message, "U0REV2")
    view_id = _opened_view_id(fake_slack, "approval_reason")
    slack.view_submission("approval_reason", {"reason": {"value": {
        "type": "plain_text_input", "value": "Add a retry limit"}}}, user_id="U0REV2",
        view_id=view_id)
    revise = wait_message(fake_slack, message["ts"], "CHANGES REQUESTED")
    assert [e["action_id"] for b in revise["blocks"] if b["type"] == "actions"
            for e in b["elements"]] == [RESUBMIT, CANCEL]
    click(slack, RESUBMIT, revise, REQUESTER)
    view_id = _opened_view_id(fake_slack, "approval_resubmit_form")
    slack.view_submission("approval_resubmit_form", {
        "reference": {"value": {"type": "plain_text_input", "value": PR}},
        "summary": {"value": {"type": "plain_text_input", "value": "Retry limit added"}}},
        user_id=REQUESTER, view_id=view_id)
    again = wait_message(fake_slack, message["ts"], "Revision 2")
    assert "0 of 2 approvals" in text_of(again) and "dismissed" in text_of(again)
    assert gate(approvals_bot, PR).json()["approved"] is False
    click(slack, APPROVE, again, "U0REV1")
    wait_message(fake_slack, message["ts"], "1 of 2 approvals")
    click(slack, APPROVE, current(fake_slack, message["ts"]), "U0REV3")
    wait_message(fake_slack, message["ts"], "APPROVED")
    answer = gate(approvals_bot, PR).json()
    assert answer["approved"] is True and answer["revision"] == 2


def test_a_stale_button_from_before_a_resubmission_is_refused(slack, fake_slack):
    ask(slack, f"pair {PR} Stale buttons")
    message = request_message(fake_slack)
    click(slack, CHANGES, message, "U0REV2")
    slack.view_submission("approval_reason", {"reason": {"value": {
        "type": "plain_text_input", "value": "Please split it"}}}, user_id="U0REV2",
        view_id=_opened_view_id(fake_slack, "approval_reason"))
    wait_message(fake_slack, message["ts"], "CHANGES REQUESTED")
    click(slack, RESUBMIT, current(fake_slack, message["ts"]), REQUESTER)
    slack.view_submission("approval_resubmit_form", {
        "reference": {"value": {"type": "plain_text_input", "value": PR}}},
        user_id=REQUESTER, view_id=_opened_view_id(fake_slack, "approval_resubmit_form"))
    wait_message(fake_slack, message["ts"], "Revision 2")
    before = len(fake_slack.responses)
    # A button still showing revision 1 (e.g. in an approver's DM) is pressed.
    slack.block_action(APPROVE, value=f"{message_id(message)}:1", user_id="U0REV1",
                       channel_id=APPROVALS, message_ts=message["ts"])
    refusal = last_response(fake_slack, before + 1)
    assert "revision" in refusal["text"].lower()
    assert "0 of 2 approvals" in text_of(current(fake_slack, message["ts"]))


def message_id(message):
    return int(message["text"].split("#", 1)[1].split(":", 1)[0])


def test_cancel_by_the_requester(slack, fake_slack, approvals_bot):
    ask(slack, f"pair {PR} Never mind")
    message = request_message(fake_slack)
    click(slack, CANCEL, message, "U0REV1")
    assert "requester" in last_response(fake_slack, 2)["text"]
    click(slack, CANCEL, message, REQUESTER)
    wait_message(fake_slack, message["ts"], "CANCELLED")
    assert gate(approvals_bot, PR).json()["status"] == "cancelled"


def test_expiry_means_not_approved(slack, fake_slack, approvals_bot, clock_file, db):
    ask(slack, f"code {PR} Will expire")
    message = request_message(fake_slack)
    clock_file.write_text(str(24 * 3600 + 60))
    wait_message(fake_slack, message["ts"], "EXPIRED", timeout=15)
    answer = gate(approvals_bot, PR).json()
    assert answer["approved"] is False and answer["status"] == "expired"
    assert "approval.expired" in audit_actions(db)


def test_reminders_go_to_those_who_have_not_decided_and_stop_after_the_decision(
        slack, fake_slack, clock_file, db):
    ask(slack, f"pair {PR} Remind us")
    message = request_message(fake_slack)
    click(slack, APPROVE, message, "U0REV1")
    wait_message(fake_slack, message["ts"], "1 of 2 approvals")

    def reminders():
        return [c for c in fake_slack.calls_to("chat.postMessage")
                if "Reminder" in c.args.get("text", "")]

    clock_file.write_text(str(3600 + 5))
    fake_slack._poll(reminders, 2, 15, "reminders to the two who have not decided")
    assert {c.args["channel"] for c in reminders()} == {"U0REV2", "U0REV3"}
    click(slack, APPROVE, current(fake_slack, message["ts"]), "U0REV2")
    wait_message(fake_slack, message["ts"], "APPROVED")
    fake_slack._poll(lambda: [1] if outbox_drained(db) else [], 1, 15, "the outbox to drain")
    before = len(reminders())
    clock_file.write_text(str(6 * 3600))
    # Several sweeps pass; a reminder after the decision would be a defect.
    with httpx.Client() as client:
        for _ in range(10):
            client.get(f"{slack.url.rsplit('/slack', 1)[0]}/healthz")
    import time

    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        assert len(reminders()) == before
        time.sleep(0.1)


def test_high_assurance_needs_the_reference_restated(slack, fake_slack):
    ask(slack, "launch https://acme.example/launch/trip-ai Trip suggestions GA")
    message = request_message(fake_slack)
    click(slack, APPROVE, message, "U0REV1")
    [opened] = fake_slack.wait_for("views.open")
    assert opened.args["view"]["callback_id"] == "approval_confirm"
    view_id = _opened_view_id(fake_slack, "approval_confirm")
    wrong = slack.view_submission("approval_confirm", {
        "restated_reference": {"value": {"type": "plain_text_input", "value": "something else"}},
        "reason": {"value": {"type": "plain_text_input", "value": "Reviewed the launch plan"}},
    }, user_id="U0REV1", view_id=view_id)
    assert "restated_reference" in wrong.json()["errors"]
    right = slack.view_submission("approval_confirm", {
        "restated_reference": {"value": {"type": "plain_text_input",
                                         "value": "https://acme.example/launch/trip-ai"}},
        "reason": {"value": {"type": "plain_text_input", "value": "Reviewed the launch plan"}},
        "confirmations": {"value": {"type": "checkboxes", "selected_options": [
            {"value": "privacy-review", "text": {"type": "mrkdwn", "text": "x"}}]}},
    }, user_id="U0REV1", view_id=view_id)
    assert right.status_code == 200 and right.text in ("", "null")
    wait_message(fake_slack, message["ts"], "1 of 2 approvals")


def test_an_off_limits_use_is_refused_with_the_playbooks_text_and_nothing_written(
        slack, fake_slack, db):
    values = {
        "kind": {"value": {"type": "static_select", "selected_option": {"value": "code"}}},
        "audience": {"value": {"type": "radio_buttons", "selected_option": {"value": "external"}}},
        "title": {"value": {"type": "plain_text_input", "value": "Churn predictor"}},
        "reference": {"value": {"type": "plain_text_input", "value": PR}},
        "uses": {"value": {"type": "multi_static_select", "selected_options": [
            {"value": "covert-profiling"}]}},
    }
    resp = slack.view_submission("approval_new", values, user_id=REQUESTER)
    assert resp.json()["response_action"] == "errors"
    assert "protected attributes" in resp.json()["errors"]["uses"]
    assert "approval.requested" not in audit_actions(db)


def test_the_modal_form_creates_a_request(slack, fake_slack):
    ask(slack, "")
    [opened] = fake_slack.wait_for("views.open")
    assert opened.args["view"]["callback_id"] == "approval_new"
    values = {
        "kind": {"value": {"type": "static_select", "selected_option": {"value": "copy"}}},
        "audience": {"value": {"type": "radio_buttons", "selected_option": {"value": "internal"}}},
        "title": {"value": {"type": "plain_text_input", "value": "Release notes 4.2"}},
        "reference": {"value": {"type": "plain_text_input",
                                "value": "https://docs.acme.example/release-notes/4.2"}},
        "ai_tool": {"value": {"type": "plain_text_input", "value": "Claude"}},
        "summary": {"value": {"type": "plain_text_input", "value": "Drafted by AI, edited."}},
    }
    resp = slack.view_submission("approval_new", values, user_id=REQUESTER,
                                 view_id=_opened_view_id(fake_slack, "approval_new"))
    assert resp.status_code == 200 and resp.text in ("", "null")
    message = request_message(fake_slack)
    assert "Release notes 4.2" in text_of(message) and "1 of leads" in text_of(message)


@pytest.mark.parametrize("text,words", [
    ("nosuchkind https://x.example Title", "not something `/ai-approve` understands"),
    ("code", "Missing the reference"),
    (f"code {PR}", "Missing a title"),
    (f"code {PR} " + "T" * 200, "150"),
])
def test_bad_inline_input_is_explained_and_nothing_is_written(slack, fake_slack, db, text,
                                                              words):
    resp = ask(slack, text)
    body = resp.json() if resp.text else last_response(fake_slack, 1)
    assert words in body["text"]
    assert "approval.requested" not in audit_actions(db)


def test_a_retried_slash_command_creates_one_request(slack, fake_slack, db):
    slack.command("/ai-approve", f"pair {PR} Once", user_id=REQUESTER, trigger_id="t-once")
    slack.command("/ai-approve", f"pair {PR} Once", user_id=REQUESTER, trigger_id="t-once",
                  retry_num=1)
    request_message(fake_slack)
    assert audit_actions(db).count("approval.requested") == 1


def test_gate_api_auth_etag_and_cli(slack, fake_slack, approvals_bot):
    assert gate(approvals_bot, PR, token="wrong-token-000000000").status_code == 401
    assert httpx.get(f"{approvals_bot.url}/api/v1/gate",
                     headers={"Authorization": f"Bearer {API_TOKEN}"}).status_code == 400
    unknown = gate(approvals_bot, "https://github.com/acme/app/pull/999").json()
    assert unknown == {"ref": "https://github.com/acme/app/pull/999", "approved": False,
                       "status": "not_requested",
                       "reason": "no sign-off was ever requested for this reference"}
    ask(slack, f"hotfix {PR} Gate me")
    message = request_message(fake_slack)
    first = gate(approvals_bot, PR)
    assert gate(approvals_bot, PR, **{"If-None-Match": first.headers["etag"]}).status_code == 304

    def cli(*args, token=API_TOKEN):
        return subprocess.run([sys.executable, "-m", "bot", "gate", *args, "--url",
                               approvals_bot.url], capture_output=True, text=True,
                              env={"COUNTERSIGN_API_TOKEN": token, "PATH": "/usr/bin:/bin",
                                   "PYTHONPATH": str(REPO_ROOT)}, timeout=60)

    pending = cli(PR)
    assert pending.returncode == 1 and pending.stdout.startswith("NOT APPROVED")
    click(slack, APPROVE, message, "U0REV1")
    wait_message(fake_slack, message["ts"], "APPROVED")
    assert gate(approvals_bot, PR, **{"If-None-Match": first.headers["etag"]}).status_code == 200
    approved = cli(PR)
    assert approved.returncode == 0 and approved.stdout.startswith("APPROVED")
    as_json = cli(PR, "--json")
    assert json.loads(as_json.stdout)["approved"] is True
    assert cli(PR, token="bad-token-000000000000").returncode == 2


def test_break_glass_self_approval_needs_a_reason_and_tells_everyone(slack, fake_slack):
    ask(slack, f"hotfix {PR} 3am fix", user="U0REV1")
    message = request_message(fake_slack)
    click(slack, APPROVE, message, "U0REV1")
    [opened] = fake_slack.wait_for("views.open")
    assert opened.args["view"]["callback_id"] == "approval_break_glass"
    view_id = _opened_view_id(fake_slack, "approval_break_glass")
    resp = slack.view_submission("approval_break_glass", {"reason": {"value": {
        "type": "plain_text_input", "value": "Checkout down; nobody else awake"}}},
        user_id="U0REV1", view_id=view_id)
    assert resp.status_code == 200 and resp.text in ("", "null")
    final = wait_message(fake_slack, message["ts"], "APPROVED")
    assert "break-glass" in text_of(final)
    fake_slack._poll(lambda: fake_slack.messages(GOVERNANCE), 1, 10, "the governance notice")
    assert "Break-glass" in fake_slack.messages(GOVERNANCE)[0]["text"]
    # DMs are other channels' messages: delivered beside the governance notice, not before it.
    dms = fake_slack.wait_for(lambda c: c.method == "chat.postMessage" and "Break-glass" in c.args.get("text", "")
                              and c.args["channel"] in ("U0REV2", "U0REV3"), count=2)
    assert {c.args["channel"] for c in dms} == {"U0REV2", "U0REV3"}


def test_app_home_lists_what_waits_for_me_with_buttons(slack, fake_slack):
    ask(slack, f"pair {PR} On my home")
    request_message(fake_slack)
    slack.event({"type": "app_home_opened", "user": "U0REV1", "tab": "home"})
    [publish] = fake_slack.wait_for("views.publish")
    blocks = publish.args["view"]["blocks"]
    assert len(blocks) <= 100
    text = json.dumps(blocks)
    assert "On my home" in text and APPROVE in text
    slack.event({"type": "app_home_opened", "user": REQUESTER, "tab": "home"})
    mine = fake_slack.wait_for("views.publish", count=2)[-1].args["view"]
    assert "On my home" in json.dumps(mine["blocks"]) and APPROVE not in json.dumps(mine["blocks"])


@pytest.mark.postgres
def test_racing_clicks_over_http_on_postgresql(slack, fake_slack, db, postgres_base_url):
    """Two approvers at the same instant on 2-of-N → one approval, one final announcement;
    one approver double-clicking → one vote. Repeated, through the real server."""
    import threading

    for round_ in range(5):
        ask(slack, f"pair {PR}/race{round_} Race {round_}")
        message = request_message(fake_slack, round_)
        barrier = threading.Barrier(4)

        def press(user):
            barrier.wait()
            click(slack, APPROVE, message, user)

        threads = [threading.Thread(target=press, args=(u,))
                   for u in ("U0REV1", "U0REV2", "U0REV2", "U0REV3")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        final = wait_message(fake_slack, message["ts"], "APPROVED")
        votes = [b for b in final["blocks"] if b["type"] == "context" and "approved for" in
                 json.dumps(b)]
        assert len(votes) == 2, "exactly the two approvals that reached 2-of-3"
        fake_slack._poll(lambda: [m for m in thread_replies(fake_slack, message)
                                  if "*APPROVED*: sign-off" in m["text"]], 1, 10, "final notice")
    with db.session() as s:
        events = s.exec(select(AuditEvent.action)).all()
    assert events.count("approval.approved") == 5
    finals = [m for m in fake_slack.messages(APPROVALS) if "*APPROVED*: sign-off" in m["text"]]
    assert len(finals) == 5
