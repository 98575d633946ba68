"""The weekly digest through the real bot process, on an injected clock (CLOCK_OFFSET_FILE).

Each test puts the bot's clock a day before a Monday 09:00 (Berlin) — the playbook's
`documentation.digest.cron` — seeds the database through the services, then moves the clock
to just after that Monday 09:00 and reads the digest the bot posted to the fake Slack.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.registry_seed import (
    DAY,
    HOME_LINK,
    PLAYBOOK,
    digest_like_posts,
    digest_sections,
    incident,
    iso_week,
    line_ref,
    next_digest_time,
    outbox_key,
    owed_since,
    personal_digest_calls,
    resolve_incident,
    review,
    set_clock,
    sign_off,
    subscribe,
    team_digest_calls,
    team_weeks,
    usecase,
    user_weeks,
    vendor,
    vote,
    wait_team_digests,
    waiting_line_facts,
)
from tests.e2e.waiting import outbox_drained
from tests.harness.fake_slack import FakeSlack, Fault
from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient

WEEK = 7 * DAY
JUST_AFTER = timedelta(seconds=30)


@pytest.fixture
def monday():
    """T: the Monday 09:00 (Berlin) the test's digest falls due, more than a day ahead of now."""
    return next_digest_time(datetime.now(UTC) + timedelta(days=1, hours=1))


@pytest.fixture
def start_bot(bot_factory, clock_file, monday):
    """Start the bot on the registry playbook with its clock a day before T (Sunday 09:00): the
    last digest time is then six days old, far past the 12-hour catch-up, so nothing is sent yet."""
    def start(command: str = "serve", **env: str):
        set_clock(clock_file, monday - DAY)
        proc = bot_factory(command, PLAYBOOK_PATH=str(PLAYBOOK), CLOCK_OFFSET_FILE=str(clock_file), **env)
        return proc.start(wait_healthy=command != "clock")
    return start


def drained(fake: FakeSlack, db, timeout: float = 20) -> None:
    fake._poll(lambda: [1] if outbox_drained(db) else [], 1, timeout, "the outbox to drain")


def week_of(call) -> str:
    return (outbox_key(call.args) or "").rsplit(":", 1)[-1]


def seed_week(db, t: datetime) -> dict[str, int]:
    """A workspace a week (and more) into its life, T being the digest time; ids by name.

    Every moment is before the bot's starting clock (T - 1 day), so nothing seeded waits on
    the clock to be delivered.
    """
    ids: dict[str, int] = {}
    # Sign-offs. r1 (10 d) and r5 (1 d) are pair (2 of reviewers); r2, r3, r4 code (1 of them).
    ids["r1"] = sign_off(db, "pair", title="Two-person refactor", requester="U0DEV", now=t - 10 * DAY)
    assert vote(db, ids["r1"], "U0REV2", now=t - 9 * DAY) == "recorded"  # 1 of 2: still waiting
    ids["r2"] = sign_off(db, "code", title="Retry billing calls", requester="U0DEV", now=t - 6 * DAY)
    ids["r3"] = sign_off(db, "code", title="Asked by an approver", requester="U0REV1", now=t - 3 * DAY)
    ids["r4"] = sign_off(db, "code", title="Already signed off", requester="U0DEV", now=t - 2 * DAY)
    assert vote(db, ids["r4"], "U0REV2", now=t - DAY - timedelta(hours=2)) == "approved"
    ids["r5"] = sign_off(db, "pair", title="Launch copy tweak", requester="U0DEV", now=t - DAY - timedelta(hours=1))

    # Vendors: V not reviewed and overdue; X in review, current; W reviewed.
    ids["V"] = vendor(db, name="Acme LLM", assignee="U0ASSIGN", reviewer="U0VREV", now=t - 185 * DAY)
    ids["X"] = vendor(db, name="Xylo Speech", assignee="U0ASSIGN", reviewer="U0VREV2", review_status="in_review",
                      now=t - 20 * DAY)
    ids["W"] = vendor(db, name="Wise Vectors", assignee="U0ASSIGN", reviewer="U0VREV", review_status="reviewed",
                      by="U0VREV", now=t - 10 * DAY)
    # Use cases: A overdue 10 d (relies on reviewed W: not flagged), B due in 2 d, C current but
    # relying on V (flagged), D documented and reviewed this week.
    ids["A"] = usecase(db, title="Support answer drafts", owner="U0OWN1", vendors=[ids["W"]], now=t - 100 * DAY)
    ids["B"] = usecase(db, title="Ticket triage", owner="U0REV2", now=t - 88 * DAY + timedelta(hours=12))
    ids["C"] = usecase(db, title="Fraud hints", owner="U0OWN3", vendors=[ids["V"]], now=t - 30 * DAY)
    ids["D"] = usecase(db, title="Meeting notes", owner="U0OWN3", now=t - 2 * DAY)
    review(db, "usecase", ids["D"], by="U0OWN3", now=t - DAY - timedelta(hours=3))

    # Incidents: i2 open for 30 d, i1 for 4 d; i3 opened and resolved this week.
    ids["i2"] = incident(db, title="Model drift in ranking", now=t - 30 * DAY)
    ids["i1"] = incident(db, title="Leaky prompt", now=t - 4 * DAY)
    ids["i3"] = incident(db, title="Wrong refund answers", now=t - 3 * DAY)
    resolve_incident(db, ids["i3"], now=t - 2 * DAY)
    return ids


def test_the_digest_reports_the_week_in_order_and_is_sent_once(start_bot, fake_slack, db, clock_file, monday):
    ids = seed_week(db, monday)
    start_bot()
    set_clock(clock_file, monday + JUST_AFTER)

    [call] = wait_team_digests(fake_slack, 1)
    drained(fake_slack, db)
    assert len(team_digest_calls(fake_slack)) == 1
    assert len(digest_like_posts(fake_slack)) == 1, "one digest-like post in the channel, whatever its key"
    assert week_of(call) == iso_week(monday)
    assert team_weeks(db) == [iso_week(monday)]

    assert call.args["text"] == "Weekly AI governance digest: 4 waiting, 3 due, 2 vendors, 1 flagged, 2 incidents"
    found = digest_sections(call.args["blocks"])
    assert found["header"] == "Weekly AI governance digest"

    waiting = found["waiting"]
    assert waiting["total"] == 4 and waiting["more"] is None
    # Oldest first; each with its age and the approvers who have not decided (never the requester).
    assert [waiting_line_facts(line) for line in waiting["lines"]] == [
        (ids["r1"], 10, ["U0REV1", "U0REV3"]),
        (ids["r2"], 6, ["U0REV1", "U0REV2", "U0REV3"]),
        (ids["r3"], 3, ["U0REV2", "U0REV3"]),
        (ids["r5"], 1, ["U0REV1", "U0REV2", "U0REV3"]),
    ]
    assert "Two-person refactor (pair, internal)" in waiting["lines"][0]
    assert "by <@U0REV1>" in waiting["lines"][2]

    due = found["due"]
    assert due["total"] == 3 and due["more"] is None
    assert [line_ref(line) for line in due["lines"]] == [f"UC-{ids['A']}", f"V-{ids['V']}", f"UC-{ids['B']}"]
    assert "<@U0OWN1>" in due["lines"][0] and "10 d overdue" in due["lines"][0]
    assert "<@U0VREV>" in due["lines"][1] and "5 d overdue" in due["lines"][1]  # a vendor's reviewer
    assert "<@U0REV2>" in due["lines"][2] and "due in 2 d" in due["lines"][2]

    vendors = found["vendors"]
    assert vendors["total"] == 2
    assert [line_ref(line) for line in vendors["lines"]] == [f"V-{ids['V']}", f"V-{ids['X']}"]
    assert "not started" in vendors["lines"][0] and "in review" in vendors["lines"][1]

    flagged = found["flagged"]
    assert flagged["total"] == 1
    assert [line_ref(line) for line in flagged["lines"]] == [f"UC-{ids['C']}"]
    assert f":warning: V-{ids['V']} not started" in flagged["lines"][0]

    incidents = found["incidents"]
    assert incidents["total"] == 2
    assert [line.split("*")[1] for line in incidents["lines"]] == [f"#{ids['i2']}", f"#{ids['i1']}"]
    assert incidents["lines"][0].endswith("· 30 d") and "Model drift in ranking" in incidents["lines"][0]
    assert incidents["lines"][1].endswith("· 4 d") and "*not acknowledged*" in incidents["lines"][1]

    # r2-r5 were asked this week (r1 ten days ago), r4 approved; i1 and i3 opened, i3 resolved;
    # D documented and reviewed; the vendors were all recorded before the week began.
    assert found["since"] == ("4 sign-offs requested · 1 sign-offs approved · 2 incidents opened · "
                              "1 incidents resolved · 1 use cases documented · 1 use cases reviewed")


def test_a_full_section_says_how_many_more_and_links_to_app_home(start_bot, fake_slack, db, clock_file, monday):
    requests = [sign_off(db, "code", title=f"Change {i:02d}", requester="U0DEV",
                         now=monday - 20 * DAY + timedelta(hours=i)) for i in range(13)]
    records = [usecase(db, title=f"Use case {i:02d}", owner=f"U0OWN{i % 3}",
                       now=monday - 100 * DAY + timedelta(hours=i)) for i in range(12)]
    start_bot()
    set_clock(clock_file, monday + JUST_AFTER)

    [call] = wait_team_digests(fake_slack, 1)
    found = digest_sections(call.args["blocks"])
    waiting = found["waiting"]
    assert waiting["total"] == 13
    assert [waiting_line_facts(line)[0] for line in waiting["lines"]] == requests[:10]
    assert waiting["more"] == f"…and 3 more: see <{HOME_LINK}|App Home>."
    due = found["due"]
    assert due["total"] == 12
    assert [line_ref(line) for line in due["lines"]] == [f"UC-{i}" for i in records[:10]]
    assert due["more"] == f"…and 2 more: see <{HOME_LINK}|App Home>."
    assert len(call.args["blocks"]) <= 50  # a message's limit
    drained(fake_slack, db)
    assert len(team_digest_calls(fake_slack)) == 1


def subscribe_late(bot, fake: FakeSlack, user: str) -> None:
    """`/ai-usecase digest on` after this week's team digest went out: the next run of the
    digest job that is still in the week sends `user` this week's personal digest — only after
    it has tried (and failed) to claim the team's, so its DM tells that such a run is over."""
    with SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake) as slack:
        assert slack.command("/ai-usecase", "digest on", user_id=user).status_code == 200
    fake._poll(lambda: personal_digest_calls(fake, user), 1, 20, f"{user}'s personal digest")


def test_one_digest_a_week_across_a_restart(start_bot, fake_slack, db, clock_file, monday):
    sign_off(db, "code", title="Retry billing calls", requester="U0DEV", now=monday - 3 * DAY)
    bot = start_bot()
    set_clock(clock_file, monday + JUST_AFTER)
    wait_team_digests(fake_slack, 1)
    drained(fake_slack, db)

    bot.stop()
    bot.start()  # same clock file: still Monday, minutes after the digest went out
    subscribe_late(bot, fake_slack, "U0LATE")  # a run of the new process has been through this week
    drained(fake_slack, db)
    assert len(team_digest_calls(fake_slack)) == 1
    assert len(digest_like_posts(fake_slack)) == 1
    assert team_weeks(db) == [iso_week(monday)]

    set_clock(clock_file, monday + WEEK + JUST_AFTER)
    wait_team_digests(fake_slack, 2)
    fake_slack._poll(lambda: personal_digest_calls(fake_slack, "U0LATE"), 2, 20, "U0LATE's second digest")
    drained(fake_slack, db)
    calls = team_digest_calls(fake_slack)
    assert [week_of(c) for c in calls] == [iso_week(monday), iso_week(monday + WEEK)]
    assert len(digest_like_posts(fake_slack)) == 2
    assert team_weeks(db) == [iso_week(monday), iso_week(monday + WEEK)]


def test_a_bot_first_started_after_this_weeks_digest_time_waits_for_next_week(bot_factory, fake_slack, db,
                                                                                clock_file, monday):
    # A new installation at 09:30 on a Monday owes nobody that morning's 09:00 digest.
    set_clock(clock_file, monday + timedelta(minutes=30))
    bot_factory(PLAYBOOK_PATH=str(PLAYBOOK), CLOCK_OFFSET_FILE=str(clock_file)).start()
    sign_off(db, "code", title="Retry billing calls", requester="U0DEV", now=monday)
    set_clock(clock_file, monday + WEEK + JUST_AFTER)
    wait_team_digests(fake_slack, 1)
    drained(fake_slack, db)
    assert [week_of(c) for c in team_digest_calls(fake_slack)] == [iso_week(monday + WEEK)]
    assert team_weeks(db) == [iso_week(monday + WEEK)]


def test_a_personal_digest_by_dm_with_only_my_items_until_i_turn_it_off(start_bot, fake_slack, db, clock_file,
                                                                        monday):
    ids = seed_week(db, monday)
    bot = start_bot()
    with SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake_slack) as slack:
        for n, user in enumerate(("U0REV2", "U0REV3"), start=1):
            assert slack.command("/ai-usecase", "digest on", user_id=user).status_code == 200
            answer = json.dumps(fake_slack.wait_for_responses(n)[-1][1])
            assert "Your personal digest is on" in answer and "mon 09:00 (Europe/Berlin)" in answer

        set_clock(clock_file, monday + JUST_AFTER)
        [dm] = fake_slack._poll(lambda: personal_digest_calls(fake_slack, "U0REV2"), 1, 20, "U0REV2's digest")
        assert outbox_key(dm.args) == f"digest:user:U0REV2:{iso_week(monday)}"
        found = digest_sections(dm.args["blocks"])
        assert found["header"] == "Your weekly Countersign digest"
        # What U0REV2 may still decide: not r1 (voted on it), not r4 (decided), oldest first.
        assert found["waiting"]["total"] == 3
        assert [waiting_line_facts(line)[0] for line in found["waiting"]["lines"]] == [ids["r2"], ids["r3"], ids["r5"]]
        # Only the record U0REV2 keeps; nobody else's vendors, flags or the team's incidents.
        assert found["due"]["total"] == 1
        assert [line_ref(line) for line in found["due"]["lines"]] == [f"UC-{ids['B']}"]
        assert found["vendors"]["total"] == 0 and found["flagged"]["total"] == 0
        assert "incidents" not in found and "since" not in found
        text = json.dumps(dm.args["blocks"])
        for someone_elses in ("Two-person refactor", "Support answer drafts", "Acme LLM", "Leaky prompt"):
            assert someone_elses not in text
        wait_team_digests(fake_slack, 1)

        assert slack.command("/ai-usecase", "digest off", user_id="U0REV2").status_code == 200
        assert "Your personal digest is off." in json.dumps(fake_slack.wait_for_responses(3)[-1][1])

    set_clock(clock_file, monday + WEEK + JUST_AFTER)
    wait_team_digests(fake_slack, 2)
    # Personal digests go out in user order after the team's: U0REV3's second one means
    # U0REV2's would have been owed already, had it still been on.
    fake_slack._poll(lambda: personal_digest_calls(fake_slack, "U0REV3"), 2, 20, "U0REV3's second digest")
    drained(fake_slack, db)
    assert len(personal_digest_calls(fake_slack, "U0REV2")) == 1
    assert len([m for m in fake_slack.messages("U0REV2") if m["text"].startswith("Weekly AI governance digest")]) == 1
    assert len(team_digest_calls(fake_slack)) == 2


def test_a_slack_hiccup_when_the_digest_is_due_does_not_send_it_twice(start_bot, fake_slack, db, clock_file,
                                                                       monday):
    """auth.test failing (three 500s: the client's own retries used up) the first time the digest
    is due: the digest may go out without its App Home link, but once only — also after Slack
    answers again within the week."""
    sign_off(db, "code", title="Retry billing calls", requester="U0DEV", now=monday - 3 * DAY)
    bot = start_bot()
    fake_slack.inject("auth.test", Fault.server_error(), Fault.server_error(), Fault.server_error())
    set_clock(clock_file, monday + JUST_AFTER)
    fake_slack._poll(lambda: digest_like_posts(fake_slack), 1, 20, "a digest")
    subscribe_late(bot, fake_slack, "U0LATE")  # Slack answers by now; a later run went through the week
    drained(fake_slack, db)
    this_week = [outbox_key(c.args) for c in digest_like_posts(fake_slack)]
    assert len(this_week) == 1, f"the week's digest was posted {len(this_week)} times: {this_week}"
    assert team_weeks(db) == [iso_week(monday)]

    set_clock(clock_file, monday + WEEK + JUST_AFTER)
    fake_slack._poll(lambda: [c for c in digest_like_posts(fake_slack) if week_of(c) == iso_week(monday + WEEK)],
                     1, 20, "next week's digest")
    drained(fake_slack, db)
    assert [week_of(c) for c in digest_like_posts(fake_slack)] == [iso_week(monday), iso_week(monday + WEEK)]


def test_bots_info_without_bot_still_sends_the_digest_and_says_so_once(start_bot, fake_slack, db, clock_file,
                                                                       monday):
    """Slack answering bots.info ok but without `bot`: every week's digest goes out, naming the Home
    tab in words; the problem is logged once, not on every sweep; once Slack answers fully again the
    link is back."""
    for i in range(11):  # a full section: its "…and 1 more" line is where the link goes
        sign_off(db, "code", title=f"Change {i:02d}", requester="U0DEV", now=monday - 20 * DAY + timedelta(hours=i))
    fake_slack.inject_always("bots.info", Fault.answer({"ok": True}))
    bot = start_bot()

    def more_line(call) -> str:  # noqa: ANN001
        return digest_sections(call.args["blocks"])["waiting"]["more"]

    def link_warnings() -> list[dict]:
        return bot.log_records(lambda r: "no App Home link" in r.get("message", ""))

    set_clock(clock_file, monday + JUST_AFTER)
    [first] = wait_team_digests(fake_slack, 1)
    assert more_line(first) == "…and 1 more: see Countersign's *Home* tab."
    subscribe_late(bot, fake_slack, "U0LATE")  # later runs of the job went through the week
    set_clock(clock_file, monday + WEEK + JUST_AFTER)  # past the retry: Slack is asked again, answers the same
    second = wait_team_digests(fake_slack, 2)[1]
    assert more_line(second) == "…and 1 more: see Countersign's *Home* tab."
    fake_slack._poll(lambda: personal_digest_calls(fake_slack, "U0LATE"), 2, 20, "U0LATE's second digest")
    assert len(fake_slack.calls_to("bots.info")) == 2
    [warning] = bot.wait_for_log(lambda r: "no App Home link" in r.get("message", ""), what="the warning")
    assert "bots.info answered without bot" in warning["message"]
    assert warning["level"] == "WARNING"
    assert bot.log_records(lambda r: r.get("level") in ("ERROR", "CRITICAL")) == []

    fake_slack.clear_faults()
    set_clock(clock_file, monday + 2 * WEEK + JUST_AFTER)
    third = wait_team_digests(fake_slack, 3)[2]
    assert more_line(third) == f"…and 1 more: see <{HOME_LINK}|App Home>."
    bot.wait_for_log(lambda r: "App Home link after all" in r.get("message", ""), what="the recovery line")
    assert len(link_warnings()) == 1
    drained(fake_slack, db)
    assert [week_of(c) for c in team_digest_calls(fake_slack)] == [
        iso_week(monday), iso_week(monday + WEEK), iso_week(monday + 2 * WEEK)]


@pytest.mark.postgres
def test_two_clock_processes_on_postgresql_send_one_digest_a_week(start_bot, fake_slack, db, clock_file, monday,
                                                                   postgres_base_url):
    """Leader election off, so both clocks really run the digest job: only the claim keeps it single."""
    sign_off(db, "code", title="Retry billing calls", requester="U0DEV", now=monday - 3 * DAY)
    subscribe(db, "U0REV2", now=monday - 2 * DAY)
    clocks = [start_bot("clock", CLOCK_LEADER_ELECTION="false") for _ in range(2)]
    for clock in clocks:  # both lead: both run the digest job on every sweep
        fake_slack._poll(lambda c=clock: [1] if "clock started (leader: True)" in c.output() else [], 1, 30,
                         f"{clock.name} to start leading")
    # Settled before the clocks say they started, so moving the clock now cannot make this
    # week's digest look older than the installation (a late first run once did).
    since = owed_since(db)
    assert since is not None and since < monday, f"digests owed since {since}, the clocks started before {monday}"

    weeks = [monday + n * WEEK for n in range(3)]
    for n, t in enumerate(weeks, start=1):
        set_clock(clock_file, t + JUST_AFTER)
        wait_team_digests(fake_slack, n)
        fake_slack._poll(lambda n=n: personal_digest_calls(fake_slack, "U0REV2"), n, 20, "the personal digest")
        drained(fake_slack, db)
    assert all(clock.proc.poll() is None for clock in clocks)

    calls = team_digest_calls(fake_slack)
    assert [week_of(c) for c in calls] == [iso_week(t) for t in weeks]
    assert len(digest_like_posts(fake_slack)) == 3
    assert len(personal_digest_calls(fake_slack, "U0REV2")) == 3
    assert team_weeks(db) == [iso_week(t) for t in weeks]
    assert user_weeks(db, "U0REV2") == [iso_week(t) for t in weeks]
