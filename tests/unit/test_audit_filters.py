"""/ai-audit filters as Slack sends the text: mentions in both spellings, any order, and every
mistake explained; the canonical spelling a button carries reads back to the same filter."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.audit_log.filter_text import parse, read_back, render
from services.audit_log.query import AuditFilter, FilterError

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def test_no_words_is_no_filter():
    assert parse("", now=NOW) == AuditFilter()
    assert parse("   ", now=NOW) == AuditFilter()


@pytest.mark.parametrize("typed", ["<@U0MARA|mara>", "<@U0MARA>", "U0MARA", "<@U0MARA|Mara Jones (she/her)>",
                                   "<@W0MARA|mara>"])
def test_an_actor_is_a_mention_in_either_spelling_or_a_raw_id(typed):
    expected = typed.removeprefix("<@")[:6] if typed.startswith("<@") else typed
    assert parse(f"actor:{typed}", now=NOW).actor == expected


def test_system_actors_can_be_named():
    assert parse("actor:countersign", now=NOW).actor == "countersign"
    assert parse("actor:api:github-ci", now=NOW).actor == "api:github-ci"


def test_filters_in_any_order_mean_the_same():
    words = ["actor:<@U0MARA|mara>", "action:approval.*", "entity:request:42", "since:7d", "until:2026-11-19"]
    first = parse(" ".join(words), now=NOW)
    assert parse(" ".join(reversed(words)), now=NOW) == first
    assert first == AuditFilter(actor="U0MARA", actions=("approval.*",), entity_type="approval_request",
                                entity_id="42", since=NOW - timedelta(days=7),
                                until=datetime(2026, 11, 19, tzinfo=UTC))


@pytest.mark.parametrize("word, since", [
    ("since:7d", NOW - timedelta(days=7)), ("since:12h", NOW - timedelta(hours=12)),
    ("since:30m", NOW - timedelta(minutes=30)), ("since:2w", NOW - timedelta(weeks=2)),
    ("since:2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
    ("since:2026-11-01T08:00", datetime(2026, 11, 1, 8, tzinfo=UTC)),
    ("since:2026-11-01T08:00+02:00", datetime(2026, 11, 1, 6, tzinfo=UTC)),
    ("since:2026-11-01T08:00:00Z", datetime(2026, 11, 1, 8, tzinfo=UTC)),
])
def test_since_is_a_duration_back_or_a_date(word, since):
    parsed = parse(word, now=NOW).since
    assert parsed == since and parsed.utcoffset() == timedelta(0)


def test_actions_are_exact_or_a_prefix_and_may_repeat():
    assert parse("action:approval.approved", now=NOW).actions == ("approval.approved",)
    assert parse("action:approval.* action:incident.paged", now=NOW).actions == ("approval.*", "incident.paged")
    assert parse("action:Approval.*", now=NOW).actions == ("approval.*",)  # actions are lower case
    assert parse("ACTION:approval.*", now=NOW).actions == ("approval.*",)


@pytest.mark.parametrize("word, entity", [
    ("entity:request:42", ("approval_request", "42")), ("entity:incident:7", ("incident", "7")),
    ("entity:usecase:3", ("usecase", "3")), ("entity:vendor:2", ("vendor", "2")),
    ("entity:slack_user:U0MARA", ("slack_user", "U0MARA")), ("entity:approval_request:42", ("approval_request", "42")),
])
def test_entities_by_their_everyday_name_or_the_logs(word, entity):
    flt = parse(word, now=NOW)
    assert (flt.entity_type, flt.entity_id) == entity


@pytest.mark.parametrize("text, words", [
    ("yesterday", "is not a filter"),
    ("recent", "is not a filter"),
    ("who:U1", "is not a filter"),
    ("actor:", "needs a value"),
    ("actor:@mara", "should be an @mention or a Slack user id"),
    ("actor:<!channel>", "should be an @mention"),
    ("actor:<@U1> actor:<@U2>", "given twice"),
    ("action:approval*", "is not an action name"),
    ("action:DROP;TABLE", "is not an action name"),
    ("action:" + "a" * 65, "is not an action name"),
    (" ".join(f"action:a{i}" for i in range(6)), "at most 5"),
    ("entity:42", "should look like request:42"),
    ("entity:request:", "should look like request:42"),
    ("entity:request:<!here>", "should look like request:42"),
    ("entity:Request:4 2", "should look like request:42"),
    ("entity:request:" + "9" * 65, "should look like request:42"),
    ("since:yesterday", "not a duration like 7d or a date"),
    ("since:7y", "not a duration like 7d or a date"),
    ("since:999999d", "not a duration like 7d or a date"),
    ("since:2026-13-01", "not a duration like 7d or a date"),
    ("since:9999-12-31T23:59-05:00", "outside the calendar"),
    ("since:0001-01-01T00:00+05:00", "outside the calendar"),
    ("until:soon", "not a duration like 7d or a date"),
    ("since:1d until:2d", "must come before"),
    ("since:1d since:2d", "given twice"),
    ("since:7d <", "`<` is not a filter"),
    ("action:<x", "is not an action name"),
])
def test_every_mistake_says_what_was_expected(text, words):
    with pytest.raises(FilterError) as raised:
        parse(text, now=NOW)
    assert words in str(raised.value)


def test_a_long_hostile_word_is_quoted_short():
    with pytest.raises(FilterError) as raised:
        parse("<!channel>" * 300, now=NOW)
    assert len(str(raised.value)) < 300


CANONICAL = [
    AuditFilter(),
    AuditFilter(actor="U0MARA"),
    AuditFilter(actions=("approval.*", "incident.paged")),
    AuditFilter(entity_type="approval_request", entity_id="42"),
    AuditFilter(since=datetime(2026, 11, 1, tzinfo=UTC), until=datetime(2026, 11, 2, 3, 4, 5, 6789, tzinfo=UTC)),
    AuditFilter(actor="countersign", actions=("audit.*",), entity_type="slack_user", entity_id="U0X",
                since=NOW - timedelta(days=7)),
]


@pytest.mark.parametrize("flt", CANONICAL)
def test_the_canonical_words_read_back_to_the_same_filter(flt):
    words = render(flt)
    assert parse(words, now=NOW + timedelta(days=30)) == flt
    assert read_back(words, now=NOW + timedelta(days=30)) == flt


def test_times_are_written_absolute_so_a_later_click_shows_the_same_events():
    words = render(parse("since:7d", now=NOW))
    assert words == "since:2026-11-13T15:30:00Z"
    assert parse(words, now=NOW + timedelta(days=3)).since == NOW - timedelta(days=7)


@pytest.mark.parametrize("words", [
    "since:7d",  # relative: a person may type it, a button never carries it
    "entity:request:42",  # the everyday name: the bot writes the log's
    "action:incident.paged actor:U0MARA",  # another order
    "actor:<@U0MARA>",
    "actor:U0MARA  action:x",
    "since:2026-11-01",
    "since:2026-11-01T00:00:00+00:00",
    "action:a action:a",
    "garbage",
])
def test_a_spelling_the_bot_never_writes_does_not_read_back(words):
    with pytest.raises(FilterError):
        read_back(words, now=NOW)


def test_a_zone_other_than_utc_is_kept_as_the_same_instant():
    tz = timezone(timedelta(hours=-5))
    flt = parse("until:2026-11-01T19:00-05:00", now=NOW)
    assert flt.until == datetime(2026, 11, 1, 19, tzinfo=tz)
    assert render(flt) == "until:2026-11-02T00:00:00Z"
