"""The audit events API's parameters: what the published patterns admit is exactly what the
server answers, and a refusal names the parameter and what was expected."""

import calendar
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import QueryParams

from bot import api_audit
from bot.api_audit import BadParameter, events_query

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def query(text: str):  # noqa: ANN201
    return events_query(QueryParams(text), now=NOW)


@settings(max_examples=500, derandomize=True)
@given(st.from_regex(api_audit.MOMENT_PATTERN, fullmatch=True))
def test_every_moment_the_pattern_admits_is_answered(moment):
    flt = events_query(QueryParams([("since", moment), ("until", moment)]), now=NOW).filter
    assert flt.since is not None and flt.since.tzinfo is not None and flt.since == flt.until


def test_february_29_exists_exactly_in_leap_years():
    pattern = re.compile(api_audit.MOMENT_PATTERN)
    assert [y for y in range(1, 10000) if pattern.fullmatch(f"{y:04d}-02-29")] == [
        y for y in range(1, 10000) if calendar.isleap(y)]


@pytest.mark.parametrize("text, expected", [
    ("7d", NOW - timedelta(days=7)),
    ("90m", NOW - timedelta(minutes=90)),
    ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
    ("2026-11-01T09:30", datetime(2026, 11, 1, 9, 30, tzinfo=UTC)),
    ("2026-11-01T09:30:00.5%2B01:00", datetime(2026, 11, 1, 8, 30, 0, 500000, tzinfo=UTC)),
    ("2026-11-01T09:30:00Z", datetime(2026, 11, 1, 9, 30, tzinfo=UTC)),
    # A zone pushing the calendar's first or last minute past its edge: from ever, until ever.
    ("0001-01-01T00:00%2B01:00", datetime.min.replace(tzinfo=UTC)),
    ("9999-12-31T23:59-01:00", datetime.max.replace(tzinfo=UTC)),
])
def test_moments_mean_what_they_say(text, expected):
    assert query(f"since={text}").filter.since == expected


@pytest.mark.parametrize("text", ["7", "7 d", "7y", "123456d", "2026-02-29", "2026-02-30", "2026-13-01",
                                  "0000-01-01", "2026-11-01T24:00", "2026-11-01 09:30",
                                  "2026-11-01T09:30:00.1234567", "2026-11-01%0A", "yesterday", ""])
def test_other_moments_are_refused_naming_the_parameter(text):
    with pytest.raises(BadParameter, match=r"^until: expected a duration back from now like 30m"):
        query(f"until={text}")


def test_actions_repeat_or_are_separated_by_commas():
    assert query("action=approval.*&action=token.created,incident.opened").filter.actions == (
        "approval.*", "token.created", "incident.opened")


@pytest.mark.parametrize("text", ["", "Approval.approved", "a,", ",a", "approval*", "a b",
                                  "approval.*.x"])
def test_malformed_actions_are_refused(text):
    with pytest.raises(BadParameter, match="^action: expected action names like approval.approved"):
        query(f"action=approval.*&action={text}")


def test_entity_takes_the_names_people_type():
    flt = query("entity=request:42&actor=U0ADMIN").filter
    assert (flt.entity_type, flt.entity_id, flt.actor) == ("approval_request", "42", "U0ADMIN")
    assert query("entity=token:github-ci").filter.entity_id == "github-ci"
    assert query("entity=vendor:a:b").filter.entity_id == "a:b"


@pytest.mark.parametrize("text, name", [
    ("entity=request", "entity"), ("entity=:42", "entity"), ("entity=request:", "entity"),
    ("entity=request:4%002", "entity"), (f"entity=vendor:{'x' * 200}", "entity"),
    ("actor=", "actor"), (f"actor={'U' * 65}", "actor"), ("actor=U0%07", "actor"),
])
def test_malformed_entities_and_actors_are_refused(text, name):
    with pytest.raises(BadParameter, match=f"^{name}: expected"):
        query(text)


@pytest.mark.parametrize("text", ["limit=0", "limit=10001", "limit=-1", "limit=1.0", "limit=", "limit=ten",
                                  "limit=%D9%A3", "after_seq=-1", "after_seq=2147483648",
                                  "after_seq=1e3", "after_seq=%2B1"])
def test_numbers_out_of_range_or_not_numbers_are_refused(text):
    name = text.partition("=")[0]
    with pytest.raises(BadParameter, match=f"^{name}: expected a whole number from"):
        query(text)


def test_defaults_and_bounds():
    assert query("").limit == 1000 and query("").filter.after_seq is None
    assert query("limit=1").limit == 1 and query("limit=10000").limit == 10000
    assert query("after_seq=0").filter.after_seq == 0
    assert query("after_seq=2147483647").filter.after_seq == 2**31 - 1
