"""A Slack retry whose first delivery crashed mid-way is still handled, once — and so is a
request nobody sends again, because Slack had its ack before the process died.

The first delivery of `/ai-approve code …` is acked, and its listener is held mid-way (asking
Slack for the approvers' user group, a call that hangs) when the process is SIGKILLed: nothing
is written. Then the bot restarts, and the same body may come again with X-Slack-Retry-Num.
"""

from pathlib import Path

import pytest
from sqlmodel import select

from models.approval import ApprovalRequest
from tests.harness import payloads
from tests.harness.fake_slack import Fault
from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient
from tests.reliability.workload import request_messages, wait_settled

PLAYBOOK = Path(__file__).parent / "playbooks" / "retry.yaml"
TITLE = "Crashed mid-way"


@pytest.fixture
def crashed_first_delivery(bot_factory, fake_slack, clock_file, db):
    """(bot, send): the bot restarted after its first delivery of one command died mid-way;
    send(retry_num) posts that very body again."""
    fake_slack.add_usergroup("S0REVIEW", ["U0REV1", "U0REV2"])
    # No cache: the listener must ask Slack, where the test can hold it.
    bot = bot_factory(PLAYBOOK_PATH=str(PLAYBOOK), USERGROUP_CACHE_TTL="0",
                      CLOCK_OFFSET_FILE=str(clock_file)).start()
    fake_slack.wait_for("usergroups.users.list")  # the start-up check of the playbook's groups
    trigger_id = payloads.new_trigger_id()

    def send(retry_num=None):  # noqa: ANN001, ANN202
        with SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake_slack) as slack:
            return slack.command("/ai-approve", f"code https://github.com/acme/app/pull/7 {TITLE}",
                                 user_id="U0DEV", channel_id="C0TEAM", trigger_id=trigger_id,
                                 retry_num=retry_num)

    fake_slack.inject_always("usergroups.users.list", Fault.hang())
    assert send().status_code == 200  # acked; the work goes on after the ack
    fake_slack.wait_for("usergroups.users.list", count=2)  # held mid-way
    bot.kill()
    fake_slack.clear_faults()
    fake_slack.release_hangs()
    assert requests(db) == [], "the kill came before anything was written"
    bot.start()
    return bot, send


def requests(db) -> list[ApprovalRequest]:  # noqa: ANN001
    with db.session() as s:
        return list(s.exec(select(ApprovalRequest)).all())


def assert_handled_once(fake_slack, db) -> None:  # noqa: ANN001
    fake_slack._poll(lambda: request_messages(fake_slack), 1, 15, "the sign-off's message")
    wait_settled(db, fake_slack)
    assert [r.title for r in requests(db)] == [TITLE]
    assert [m["text"] for m in request_messages(fake_slack)] == [
        f"Sign-off #1: code (internal) — {TITLE} [pending]"]
    answers = [p["text"] for _, p in fake_slack.responses if "requested in" in p.get("text", "")]
    assert answers == [f"Sign-off #1 requested in <#C0APPROVE>: {TITLE}. Approvers are told."]


@pytest.mark.e2e
def test_slacks_first_retry_of_a_delivery_that_died_mid_way_is_handled_once(
        crashed_first_delivery, fake_slack, db):
    _, send = crashed_first_delivery
    assert send(retry_num=1).status_code == 200
    assert_handled_once(fake_slack, db)
    assert send(retry_num=2).status_code == 200  # a later retry of a handled one is dropped
    assert_handled_once(fake_slack, db)


@pytest.mark.e2e
def test_an_acknowledged_request_whose_process_died_mid_way_is_done_after_the_restart(
        crashed_first_delivery, fake_slack, db):
    # Slack had its 200, so no retry comes: the restarted bot replays what the dead one held.
    assert_handled_once(fake_slack, db)
    _, send = crashed_first_delivery
    assert send(retry_num=1).status_code == 200  # were one to come after all: dropped, done
    assert_handled_once(fake_slack, db)
