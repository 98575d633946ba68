"""`/ai-audit usage` filters read as /ai-audit's own are: any order, `since:`/`until:` as
durations or dates, a mention for a person; every mistake says what was expected."""

from datetime import UTC, datetime, timedelta

import pytest

from services.audit_log.query import FilterError
from services.usage.filter_text import UsageAsk, parse, render

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


def test_nothing_asked_is_the_last_seven_days():
    assert parse("", now=NOW) == UsageAsk(since=NOW - timedelta(days=7), until=NOW)


def test_every_filter_in_any_order():
    ask = parse("usecase:uc-3 user:<@U0MARA|mara> model:gpt-4o until:2026-12-01 since:30d", now=NOW)
    assert ask == UsageAsk(since=NOW - timedelta(days=30), until=datetime(2026, 12, 1, tzinfo=UTC),
                           model="gpt-4o", user="U0MARA", use_case="UC-3")
    assert render(ask) == "since:2026-11-10T09:00:00Z until:2026-12-01T00:00:00Z model:gpt-4o user:U0MARA usecase:UC-3"


def test_a_window_past_the_first_event_or_now_is_cut_there():
    ask = parse("since:0001-01-01 until:9999-12-31T23:59", now=NOW)
    assert (ask.since, ask.until) == (datetime(2000, 1, 1, tzinfo=UTC), NOW)


@pytest.mark.parametrize("word, user", [("user:U0MARA", "U0MARA"), ("user:<@U0MARA>", "U0MARA"),
                                        ("user:alice@acme.example", "alice@acme.example"),
                                        ("user:<mailto:alice@acme.example|alice@acme.example>", "alice@acme.example")])
def test_a_person_by_mention_slack_id_or_telemetry_id(word, user):
    assert parse(word, now=NOW).user == user


@pytest.mark.parametrize("text, words", [
    ("colour:blue", "is not a usage filter"),
    ("since:", "`since:` needs a value, e.g. since:7d"),
    ("until:", "e.g. until:2026-11-01"),
    ("since:7d since:2d", "given twice"),
    ("since:yesterday", "is not a duration like 7d"),
    ("since:1d until:2d", "`since:` must come before `until:`"),
    ("since:2027-01-01", "must come before"),  # the future: nothing to read
    ("model:" + "m" * 201, "at most 200 characters"),
    ("model:<!channel>", "should be a name as telemetry reports it"),
    ("user:<@bogus>", "should be an @mention or a user id"),
    ("usecase:V-3", "should be a use case like UC-3"),
    ("usage", "is not a usage filter"),
])
def test_mistakes_say_what_was_expected(text, words):
    with pytest.raises(FilterError) as raised:
        parse(text, now=NOW)
    assert words in str(raised.value)
