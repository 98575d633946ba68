"""Revisit nudges on an injected clock, through the real bot: due soon, due, overdue with a
back-off, snoozes with a bound, the governance raise after the grace period — each once per
review date, across a restart."""

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from blocks.registry import SNOOZE, STILL_ACCURATE, UPDATE
from models.audit import AuditEvent
from models.registry import UseCase
from tests.e2e.registry_support import (  # noqa: F401  (fixtures)
    DAY,
    GOVERNANCE,
    HELPER,
    OWNER,
    PLAYBOOK,
    USECASE,
    dms,
    move,
    open_form,
    registry_bot,
    slack,
    submit,
)
from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient

HOUR = 3600
SOON, DUE, OVERDUE = "is due for review on", "is due for review today", "overdue (due "


def morning(clock_file) -> float:
    """Put the bot at 09:00 UTC tomorrow (the playbook's zone); returns that offset. Nudges
    count days by the calendar, so what a test sees must not depend on the hour it runs at."""
    now = datetime.now(UTC)
    base = ((now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0) - now).total_seconds()
    move(clock_file, base)
    return base


def document(slack, fake):
    view_id, view = open_form(slack, fake, "/ai-usecase", "new", OWNER, "usecase_new")
    assert submit(slack, view_id, view, USECASE, OWNER) is None


def wait_dms(fake, words, count, timeout=15):
    fake._poll(lambda: dms(fake, OWNER, words), count, timeout, f"{count} DM(s) saying {words!r}")
    return dms(fake, OWNER, words)


def raises(fake):
    return [c.args for c in fake.calls_to("chat.postMessage")
            if c.args.get("channel") == GOVERNANCE and "past its review date" in c.args.get("text", "")]


def stored_dm(fake, words):
    return [m for m in fake.messages(OWNER) if words in m.get("text", "")][-1]


def buttons(message):
    return {e["action_id"]: e["text"]["text"] for b in message["blocks"] if b["type"] == "actions"
            for e in b["elements"]}


def click(slack, action_id, message):
    return slack.block_action(action_id, user_id=OWNER, channel_id=OWNER, message_ts=message["ts"])


def test_nudges_come_once_per_review_date_back_off_snooze_and_reach_governance(
        slack, fake_slack, registry_bot, bot_factory, clock_file, db):
    base = morning(clock_file)
    document(slack, fake_slack)  # limited risk: next review in 30 days
    move(clock_file, base + 27 * DAY + HOUR)  # 3 days before (the playbook's due_soon)
    assert len(wait_dms(fake_slack, SOON, 1)) == 1
    move(clock_file, base + 30 * DAY + HOUR)
    due = wait_dms(fake_slack, DUE, 1)[0]
    assert list(buttons(due)) == [STILL_ACCURATE, UPDATE, SNOOZE]
    assert buttons(due)[SNOOZE] == "Snooze 2d"  # the playbook's snooze
    # "Due soon" told of the date: nothing to put off yet, so no Snooze.
    assert list(buttons(dms(fake_slack, OWNER, SOON)[0])) == [STILL_ACCURATE, UPDATE]

    # A restart keeps the timers (rows) and fires nothing twice.
    registry_bot.stop()
    restarted = bot_factory(PLAYBOOK_PATH=str(PLAYBOOK), CLOCK_OFFSET_FILE=str(clock_file)).start()
    move(clock_file, base + 31 * DAY + 2 * HOUR)  # renudge_after (1d) after the first
    wait_dms(fake_slack, OVERDUE, 1)
    assert (len(dms(fake_slack, OWNER, SOON)), len(dms(fake_slack, OWNER, DUE))) == (1, 1)

    with SignedSlackClient(restarted.url, SIGNING_SECRET, fake=fake_slack) as again:
        click(again, SNOOZE, stored_dm(fake_slack, OVERDUE))
        snoozed = fake_slack.wait_for_responses(1)[-1][1]
        assert snoozed["replace_original"] is True and "Snoozed" in snoozed["text"]
        assert "(0 snoozes left)" in snoozed["text"]
        click(again, SNOOZE, stored_dm(fake_slack, OVERDUE))  # max_snoozes is 1
        refused = fake_slack.wait_for_responses(2)[-1][1]
        assert "snoozed 1 times, the most the playbook allows" in refused["text"]

        # The back-off would have nudged at 31d+2h + 2d; the snooze put it to 2 days after the click.
        move(clock_file, base + 33 * DAY + 3 * HOUR)
        assert len(wait_dms(fake_slack, OVERDUE, 2)) == 2
        later = stored_dm(fake_slack, OVERDUE)
        assert SNOOZE not in buttons(later)  # no snoozes left

        move(clock_file, base + 35 * DAY + HOUR)  # next review + stale_grace (5d)
        fake_slack._poll(lambda: raises(fake_slack), 1, 15, "the governance raise")
        assert f"<@{OWNER}>" in raises(fake_slack)[0]["text"]

        click(again, STILL_ACCURATE, later)
        reviewed = fake_slack.wait_for_responses(3)[-1][1]
        assert "marked reviewed by <@U0OWN>" in reviewed["text"]
        with db.session() as s:
            record = s.exec(select(UseCase)).one()
            assert record.last_reviewed_by == OWNER and record.snoozes == 0
            next_review = record.next_review_at

        # The new date's "due soon" comes; the old date's nudges and raise never repeat.
        move(clock_file, base + 35 * DAY + HOUR + 27 * DAY + HOUR)
        assert len(wait_dms(fake_slack, SOON, 2)) == 2
        assert next_review.date().isoformat() in dms(fake_slack, OWNER, SOON)[-1]["text"]
        assert len(raises(fake_slack)) == 1
        # Overdue: 31d+2h and the snoozed one at 33d+3h; the back-off goes on from there (the
        # next would be 4 days later, after the review) — and the owner's DMs arrive in order,
        # so the new date's nudge comes after all of them.
        assert (len(dms(fake_slack, OWNER, DUE)), len(dms(fake_slack, OWNER, OVERDUE))) == (1, 2)


def test_update_opens_the_edit_form_and_a_stale_button_says_so(slack, fake_slack, clock_file):
    document(slack, fake_slack)
    move(clock_file, 30 * DAY + HOUR)
    wait_dms(fake_slack, DUE, 1)
    due = stored_dm(fake_slack, DUE)
    click(slack, UPDATE, due)
    fake_slack.wait_for(lambda c: c.method == "views.open" and c.args["view"]["callback_id"] == "usecase_edit")
    slack.command("/ai-usecase", "reviewed 1", user_id=OWNER)
    fake_slack.wait_for_responses(1)
    click(slack, STILL_ACCURATE, due)
    stale = fake_slack.wait_for_responses(2)[-1][1]
    assert "was already reviewed since this reminder" in stale["text"]


def test_still_accurate_from_someone_other_than_the_owner_is_refused_and_audited(
        slack, fake_slack, clock_file, db):
    document(slack, fake_slack)  # HELPER contributes; OWNER owns
    move(clock_file, 30 * DAY + HOUR)
    wait_dms(fake_slack, DUE, 1)
    due = stored_dm(fake_slack, DUE)
    slack.block_action(STILL_ACCURATE, user_id=HELPER, channel_id=OWNER, message_ts=due["ts"])
    refused = fake_slack.wait_for_responses(1)[-1][1]
    assert "Only the owner of UC-1 (<@U0OWN>) or a documentation admin may mark it reviewed." in refused["text"]
    with db.session() as s:
        assert s.exec(select(UseCase)).one().last_reviewed_by is None
        denied = s.exec(select(AuditEvent).where(AuditEvent.action == "usecase.denied")).all()
    assert [(e.actor, e.payload["attempted"]) for e in denied] == [(HELPER, "mark_reviewed")]


def test_after_a_clock_jump_past_the_date_only_the_due_nudge_comes(slack, fake_slack, clock_file):
    base = morning(clock_file)
    document(slack, fake_slack)
    move(clock_file, base + 30 * DAY + HOUR)  # straight past the "due soon" moment and the date
    wait_dms(fake_slack, DUE, 1)
    # DMs to one person go out in the order they were written: a "due soon" would be here by now.
    assert dms(fake_slack, OWNER, SOON) == []
