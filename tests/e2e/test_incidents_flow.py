"""AI incidents through the real HTTP path, on an injected clock (CLOCK_OFFSET_FILE): the bot
pages along the playbook's chain until a human acknowledges."""

import re
from pathlib import Path

import pytest
from sqlmodel import select

from blocks.incidents import ACK, RESOLVE, UNACK
from models.audit import AuditEvent
from tests.harness.fake_slack import FakeSlack
from tests.e2e.waiting import outbox_drained
from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient

PLAYBOOK = Path(__file__).parent / "playbooks" / "incidents.yaml"
GOVERNANCE = "C0GOV"
REPORTER = "U0REPORTER"


@pytest.fixture
def incident_bot(bot_factory, clock_file):
    return bot_factory(PLAYBOOK_PATH=str(PLAYBOOK), CLOCK_OFFSET_FILE=str(clock_file)).start()


@pytest.fixture
def slack(incident_bot, fake_slack):
    with SignedSlackClient(incident_bot.url, SIGNING_SECRET, fake=fake_slack) as client:
        yield client


def pages(fake: FakeSlack) -> list[str]:
    """Who was paged by DM, in order."""
    return [c.args["channel"] for c in fake.calls_to("chat.postMessage")
            if c.args["channel"].startswith("U") and "You are paged" in c.args.get("text", "")]


def wait_pages(fake: FakeSlack, n: int, timeout: float = 15) -> list[str]:
    fake._poll(lambda: pages(fake), n, timeout, f"{n} pages")
    return pages(fake)


def move(clock_file, seconds: float) -> None:
    clock_file.write_text(str(seconds))


def audit_actions(db):
    with db.session() as s:
        return [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]


def page_message(fake: FakeSlack, user: str) -> dict:
    return [m for m in fake.messages(user) if "You are paged" in m["text"]][-1]


def summary_message(fake: FakeSlack) -> dict:
    """The incident's summary in its own channel (the channel the bot created)."""
    created = [c for c in fake.calls if c.method == "conversations.create"]
    assert created, "no incident channel was created"
    def found():
        for ch in {c.args["channel"] for c in fake.calls_to("pins.add")}:
            for m in fake.messages(ch):
                if m["text"].startswith("AI incident #"):
                    return [dict(m, channel_id=ch)]
        return []
    return fake._poll(found, 1, 15, "the pinned summary")[0]


def press(slack, fake, action_id, user, message, channel):
    return slack.block_action(action_id, user_id=user, channel_id=channel,
                              message_ts=message["ts"])


def test_sev1_opens_a_channel_announces_and_pages_along_the_chain(slack, fake_slack, clock_file,
                                                                 db):
    resp = slack.command("/ai-incident", "sev1 Prompt injection in support bot",
                         user_id=REPORTER)
    assert resp.status_code == 200
    [created] = fake_slack.wait_for("conversations.create", timeout=15)
    assert created.args["name"].startswith("ai-inc-")
    assert created.args["name"].endswith("-prompt-injection-in-support-bot")
    fake_slack.wait_for("pins.add", timeout=15)
    invited = fake_slack.wait_for("conversations.invite", timeout=15)
    assert REPORTER in ",".join(c.args["users"] for c in invited)
    fake_slack._poll(lambda: fake_slack.messages(GOVERNANCE), 1, 10, "the announcement")
    assert "Prompt injection in support bot" in fake_slack.messages(GOVERNANCE)[0]["text"]

    assert wait_pages(fake_slack, 1) == ["U0PRI1"]  # t0: primary
    move(clock_file, 4 * 60)
    move(clock_file, 5 * 60 + 1)
    assert wait_pages(fake_slack, 2) == ["U0PRI1", "U0SEC1"]  # t0+5m: secondary
    move(clock_file, 15 * 60 + 1)
    assert sorted(wait_pages(fake_slack, 4)[2:]) == ["U0LEAD1", "U0LEAD2"]  # t0+15m: group
    move(clock_file, 30 * 60 + 1)
    assert wait_pages(fake_slack, 5)[4] == "U0PRI1"  # t0+30m: the chain repeats
    assert audit_actions(db).count("incident.paged") >= 5


def test_ack_stops_the_chain_and_unack_restarts_it(slack, fake_slack, clock_file, db):
    slack.command("/ai-incident", "sev1 Customer data in a prompt", user_id=REPORTER)
    wait_pages(fake_slack, 1)
    move(clock_file, 5 * 60 + 1)
    wait_pages(fake_slack, 2)
    move(clock_file, 7 * 60)
    dm = page_message(fake_slack, "U0SEC1")
    resp = press(slack, fake_slack, ACK, "U0SEC1", dm, dm["channel"] if "channel" in dm else "D0SEC1")
    assert resp.status_code == 200
    fake_slack._poll(lambda: [a for a in audit_actions(db) if a == "incident.acknowledged"], 1,
                     10, "the acknowledgement")
    fake_slack._poll(lambda: [1] if outbox_drained(db) else [], 1, 15, "the outbox to drain")
    count = len(pages(fake_slack))
    move(clock_file, 60 * 60)
    import time

    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:  # several sweeps pass: none may page
        assert len(pages(fake_slack)) == count
        time.sleep(0.1)
    summary = summary_message(fake_slack)
    press(slack, fake_slack, UNACK, "U0SEC1", summary, summary["channel_id"])
    fake_slack._poll(lambda: pages(fake_slack)[count:], 1, 15, "a page after un-acknowledge")
    assert pages(fake_slack)[count] == "U0PRI1", "un-acknowledge restarts from the top"


def test_two_people_pressing_acknowledge_one_wins_the_other_is_told(slack, fake_slack, db):
    slack.command("/ai-incident", "sev2 Biased output in recommendations", user_id=REPORTER)
    wait_pages(fake_slack, 1)
    dm = page_message(fake_slack, "U0PRI1")
    press(slack, fake_slack, ACK, "U0PRI1", dm, "D0PRI1")
    press(slack, fake_slack, ACK, "U0ADMIN", dm, "D0PRI1")
    answers = [r[1]["text"] for r in fake_slack.wait_for_responses(3)]
    assert any("<@U0PRI1>" in a and "already" in a.lower() for a in answers[1:])
    # When, on the playbook's wall clock (Europe/Berlin), not UTC's.
    assert any(re.search(r"already acknowledged this incident at \d{4}-\d\d-\d\d \d\d:\d\d CES?T\.", a)
               for a in answers[1:]), answers
    assert audit_actions(db).count("incident.acknowledged") == 1
    # The page DM, rewritten in place: who took it and when, no instruction, no button.
    taken = fake_slack._poll(lambda: [m for m in fake_slack.messages("U0PRI1") if m["ts"] == dm["ts"]
                                      and m["text"].startswith("You were paged")], 1, 15, "the rewritten page DM")[0]
    assert "<@U0PRI1> acknowledged it <!date^" in taken["text"] and "; paging has stopped." in taken["text"]
    assert "Acknowledge to stop" not in str(taken["blocks"])
    assert not [b for b in taken["blocks"] if b["type"] == "actions"]


def test_resolve_asks_for_a_summary_and_ends_everything(slack, fake_slack, clock_file, db):
    slack.command("/ai-incident", "sev1 Model outage", user_id=REPORTER)
    wait_pages(fake_slack, 1)
    dm = page_message(fake_slack, "U0PRI1")
    press(slack, fake_slack, RESOLVE, "U0PRI1", dm, "D0PRI1")
    fake_slack._poll(lambda: [c for c in fake_slack.calls_to("views.open")
                              if c.args["view"]["callback_id"] == "incident_resolve_form"],
                     1, 10, "the resolve form")
    view_id = fake_slack.last_opened_view_id("incident_resolve_form")
    empty = slack.view_submission("incident_resolve_form", {
        "summary": {"value": {"type": "plain_text_input", "value": ""}}}, user_id="U0PRI1",
        view_id=view_id)
    assert empty.json()["response_action"] == "errors"
    done = slack.view_submission("incident_resolve_form", {
        "summary": {"value": {"type": "plain_text_input", "value": "Vendor restored service"}},
        "postmortem": {"value": {"type": "plain_text_input",
                                 "value": "https://wiki.acme.example/pm/42"}},
        "revisit": {"value": {"type": "radio_buttons", "selected_option": {"value": "yes"}}},
    }, user_id="U0PRI1", view_id=view_id)
    assert done.status_code == 200 and done.text in ("", "null")
    fake_slack._poll(lambda: [a for a in audit_actions(db) if a == "incident.resolved"], 1, 10,
                     "resolution")
    fake_slack._poll(lambda: [1] if outbox_drained(db) else [], 1, 15, "the outbox to drain")
    count = len(pages(fake_slack))
    move(clock_file, 3 * 3600)
    import time

    time.sleep(1.5)  # sweeps run every 0.2 s: give any wrongly surviving timer its chance
    assert len(pages(fake_slack)) == count
    assert "incident.revisit_requested" in audit_actions(db)


def test_timeline_lists_pages_ack_and_resolution(slack, fake_slack, db):
    slack.command("/ai-incident", "sev2 Vendor changed terms", user_id=REPORTER)
    wait_pages(fake_slack, 1)
    dm = page_message(fake_slack, "U0PRI1")
    press(slack, fake_slack, ACK, "U0PRI1", dm, "D0PRI1")
    fake_slack._poll(lambda: [a for a in audit_actions(db) if a == "incident.acknowledged"], 1,
                     10, "ack")
    resp = slack.command("/ai-incident", "timeline 1", user_id=REPORTER)
    assert resp.status_code == 200
    answer = fake_slack.wait_for_responses(3)[-1][1]
    text = str(answer)
    assert "paged" in text.lower() and "acknowledged" in text.lower()


def test_report_a_message_as_an_incident(slack, fake_slack, db):
    fake_slack.add_user(REPORTER, name="reporter")
    message = {"type": "message", "ts": "1700000000.000100", "user": "U0CUSTOMER",
               "text": "The support bot just told me another customer's address"}
    slack.message_shortcut("report_ai_incident", message, channel_id="C0SUPPORT",
                           user_id=REPORTER)
    [opened] = fake_slack.wait_for("views.open")
    assert opened.args["view"]["callback_id"] == "incident_new"
    view_id = fake_slack.last_opened_view_id("incident_new")
    resp = slack.view_submission("incident_new", {
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "sev2"}}},
        "title": {"value": {"type": "plain_text_input", "value": "Support bot leaked an address"}},
        "category": {"value": {"type": "radio_buttons",
                               "selected_option": {"value": "data_exposure"}}},
    }, user_id=REPORTER, view_id=view_id)
    assert resp.status_code == 200
    wait_pages(fake_slack, 1)
    fake_slack.wait_for("chat.getPermalink")


def test_oncall_shows_who_and_an_admin_override_wins(slack, fake_slack):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    slack.command("/ai-oncall", "", user_id=REPORTER)
    now = str(fake_slack.wait_for_responses(1)[-1][1])
    assert "*primary*: <@U0PRI1> now" in now and "*secondary*: <@U0SEC1> now" in now

    local = datetime.now(ZoneInfo("Europe/Berlin")).replace(second=0, microsecond=0)
    start, end = (local + timedelta(hours=1)), (local + timedelta(days=2))
    window = f"{start:%Y-%m-%dT%H:%M} {end:%Y-%m-%dT%H:%M}"
    refused = slack.command("/ai-oncall", f"override <@U0SUB|sub> primary {window}",
                            user_id="U0NOTADMIN").json()
    assert refused["response_type"] == "ephemeral" and "U0SUB" not in refused["text"].split(":")[0]
    added = slack.command("/ai-oncall", f"override <@U0SUB|sub> primary {window}",
                          user_id="U0ADMIN").json()
    assert "U0SUB" in added["text"]
    slack.command("/ai-oncall", "", user_id=REPORTER)
    upcoming = str(fake_slack.wait_for_responses(2)[-1][1])
    assert "<@U0SUB> (override)" in upcoming
    slack.command("/ai-oncall", "<@U0SUB|sub>", user_id=REPORTER)
    shifts = str(fake_slack.wait_for_responses(3)[-1][1])
    assert "*primary*" in shifts and "(override)" in shifts
    dm = fake_slack.wait_for(lambda c: c.method == "chat.postMessage"
                             and c.args["channel"] == "U0SUB")
    assert "On-call override set" in dm[0].args["text"]


def test_bad_override_input_is_explained(slack):
    body = slack.command("/ai-oncall", "override <@U0SUB|sub> primary tomorrow later",
                         user_id="U0ADMIN").json()
    assert "is not a time" in body["text"]
    body = slack.command("/ai-oncall", "override <@U0SUB|sub> nosuch 2099-01-01T00:00 "
                         "2099-01-02T00:00", user_id="U0ADMIN").json()
    assert "nosuch" in body["text"]


def test_a_step_due_while_the_bot_was_dead_fires_once_after_restart(bot_factory, fake_slack,
                                                                    clock_file, db):
    bot = bot_factory(PLAYBOOK_PATH=str(PLAYBOOK), CLOCK_OFFSET_FILE=str(clock_file)).start()
    with SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake_slack) as client:
        client.command("/ai-incident", "sev2 Dead bot drill", user_id=REPORTER)
    assert wait_pages(fake_slack, 1) == ["U0PRI1"]
    bot.kill()
    move(clock_file, 31 * 60)  # the 30-minute step fell due while nobody ran
    bot.start()
    def governance_pages():
        return [c for c in fake_slack.calls_to("chat.postMessage")
                if c.args["channel"] == GOVERNANCE and "You are paged" in c.args.get("text", "")]

    fake_slack._poll(governance_pages, 1, 15, "the governance step after restart")
    import time

    time.sleep(1)  # more sweeps: the step must not fire again
    assert len(governance_pages()) == 1
    assert pages(fake_slack) == ["U0PRI1"]


def test_with_nothing_due_a_restart_fires_nothing(bot_factory, fake_slack, clock_file, db):
    bot = bot_factory(PLAYBOOK_PATH=str(PLAYBOOK), CLOCK_OFFSET_FILE=str(clock_file)).start()
    with SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake_slack) as client:
        client.command("/ai-incident", "sev2 Quiet restart", user_id=REPORTER)
    wait_pages(fake_slack, 1)
    fake_slack._poll(lambda: [1] if outbox_drained(db) else [], 1, 15, "the outbox to drain")
    before = len(fake_slack.calls_to("chat.postMessage"))
    bot.kill()
    bot.start()
    import time

    time.sleep(1.5)
    assert len(fake_slack.calls_to("chat.postMessage")) == before


@pytest.mark.postgres
def test_two_clocks_working_at_once_page_every_step_exactly_once(bot_factory, fake_slack,
                                                                 clock_file, db,
                                                                 postgres_base_url):
    """Leader election off: both clocks claim timers; only the row claims keep pages single."""
    from collections import Counter

    web = bot_factory(PLAYBOOK_PATH=str(PLAYBOOK), CLOCK_OFFSET_FILE=str(clock_file),
                      CLOCK_IN_WEB="false").start()
    clocks = [bot_factory("clock", PLAYBOOK_PATH=str(PLAYBOOK),
                          CLOCK_OFFSET_FILE=str(clock_file),
                          CLOCK_LEADER_ELECTION="false").start(wait_healthy=False)
              for _ in range(2)]
    incidents = 30
    with SignedSlackClient(web.url, SIGNING_SECRET, fake=fake_slack) as client:
        for i in range(incidents):
            client.command("/ai-incident", f"sev1 Drill {i}", user_id=REPORTER)
    wait_pages(fake_slack, incidents, timeout=60)  # step 1: primary, once per incident
    move(clock_file, 5 * 60 + 1)
    wait_pages(fake_slack, 2 * incidents, timeout=60)  # step 2: secondary
    move(clock_file, 15 * 60 + 1)
    wait_pages(fake_slack, 4 * incidents, timeout=60)  # step 3: both leads
    import time

    time.sleep(1.5)
    counted = Counter((c.args["channel"], c.args["text"].split("[sev1]: ")[1].split(" (")[0])
                      for c in fake_slack.calls_to("chat.postMessage")
                      if "You are paged" in c.args.get("text", ""))
    duplicates = sum(n - 1 for n in counted.values() if n > 1)
    expected = {(u, f"Drill {i}") for i in range(incidents)
                for u in ("U0PRI1", "U0SEC1", "U0LEAD1", "U0LEAD2")}
    missed = len(expected - set(counted))
    print(f"two clocks, {incidents} incidents: {sum(counted.values())} pages, "
          f"duplicates {duplicates}, missed {missed}")
    assert (duplicates, missed) == (0, 0)
    assert all(c.proc.poll() is None for c in clocks)
    from sqlmodel import select as sql_select

    from models.timer import Timer

    with db.session() as s:
        owners = Counter(s.exec(sql_select(Timer.claimed_by).where(
            Timer.kind == "incident.step", Timer.status == "done")).all())
    # How the work split between the clocks varies run to run (one sweep may take a whole
    # batch); the guarantee under test is the 0/0 above, whatever the split.
    print(f"steps fired per clock: {dict(owners)}")
