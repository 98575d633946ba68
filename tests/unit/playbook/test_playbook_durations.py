from datetime import timedelta

import pytest
from pydantic import BaseModel, ValidationError

from services.playbook import Duration, DurationError, describe_duration, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("90m", timedelta(minutes=90)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        (" 5m ", timedelta(minutes=5)),
    ],
)
def test_parses_human_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("90", "a bare number has no unit; write e.g. 90m or 90d"),
        (90, "a bare number has no unit; write e.g. 90m or 90d"),
        ("3mo", "unknown unit 'mo'; units are w, d, h, m, s"),
        ("1y", "unknown unit 'y'; units are w, d, h, m, s"),
        ("24H", "units are lower-case: h, not H"),
        ("1.5h", "whole numbers only; write 1h30m rather than 1.5h"),
        ("1h 30m", "no spaces allowed; write 1h30m"),
        ("30m1h", "units go from largest to smallest, each at most once (1h30m, not 30m1h)"),
        ("1h1h", "units go from largest to smallest, each at most once (1h30m, not 30m1h)"),
        ("0m", "it must be longer than zero"),
        ("", "it is empty"),
        ("h", "write a number followed by a unit (w, d, h, m or s)"),
        ("-5m", "write a number followed by a unit (w, d, h, m or s)"),
        (True, "write a number followed by a unit (w, d, h, m or s)"),
        (None, "write a number followed by a unit (w, d, h, m or s)"),
    ],
)
def test_rejects_with_a_precise_reason(value, reason):
    with pytest.raises(DurationError) as caught:
        parse_duration(value)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("value", "text", "words"),
    [
        (timedelta(minutes=90), "1h30m", "1 hour 30 minutes"),
        (timedelta(hours=24), "1d", "1 day"),
        (timedelta(days=14), "2w", "2 weeks"),
        (timedelta(days=90), "90d", "90 days"),
        (timedelta(seconds=30), "30s", "30 seconds"),
        (timedelta(days=8, minutes=1), "8d1m", "8 days 1 minute"),
    ],
)
def test_formats_back_to_a_human_string(value, text, words):
    assert format_duration(value) == text
    assert parse_duration(text) == value
    assert describe_duration(value) == words


class _Holder(BaseModel):
    wait: Duration
    maybe: Duration | None = None


def test_works_as_a_pydantic_field_and_serialises_to_the_human_string():
    holder = _Holder(wait="1h30m")
    assert holder.wait == timedelta(minutes=90)
    assert holder.model_dump(mode="json") == {"wait": "1h30m", "maybe": None}
    assert _Holder.model_validate(holder.model_dump(mode="json")) == holder
    assert _Holder(wait=timedelta(minutes=5)).wait == timedelta(minutes=5)


def test_pydantic_error_carries_the_reason():
    with pytest.raises(ValidationError) as caught:
        _Holder(wait="2 days")
    (error,) = caught.value.errors()
    assert error["loc"] == ("wait",)
    assert error["ctx"]["expected"] == "a duration like 90m, 24h, 7d, 1w or 1h30m (unknown unit 'days'; units are w, d, h, m, s)"
