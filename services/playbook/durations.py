"""Human durations: `30s`, `90m`, `24h`, `7d`, `1w` and combinations such as `1h30m`.

Grammar: one or more `<whole number><unit>` parts, units `w d h m s`, largest first, each at most
once, no spaces, total longer than zero. Months and years are refused on purpose: their length
varies, and a review cadence must mean the same thing every time.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from .issues import invalid

UNITS: dict[str, int] = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_NAMES = {"w": "week", "d": "day", "h": "hour", "m": "minute", "s": "second"}
EXPECTED = "a duration like 90m, 24h, 7d, 1w or 1h30m"
_PART = re.compile(r"(\d+)([A-Za-z]+)")


class DurationError(ValueError):
    """`reason` says precisely what is wrong with the text."""

    def __init__(self, text: object, reason: str):
        self.text = text
        self.reason = reason
        super().__init__(f"{text!r} is not {EXPECTED}: {reason}")


def parse_duration(text: object) -> timedelta:
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise DurationError(text, "write a number followed by a unit (w, d, h, m or s)")
    if isinstance(text, int):
        raise DurationError(text, f"a bare number has no unit; write e.g. {text}m or {text}d")
    s = text.strip()
    if not s:
        raise DurationError(text, "it is empty")
    if re.search(r"\s", s):
        joined = "".join(s.split())
        try:
            parse_duration(joined)
        except DurationError as error:
            raise DurationError(text, error.reason) from None
        raise DurationError(text, f"no spaces allowed; write {joined}")
    if s.isdigit():
        raise DurationError(text, f"a bare number has no unit; write e.g. {s}m or {s}d")
    if re.search(r"\d[.,]\d", s):
        raise DurationError(text, "whole numbers only; write 1h30m rather than 1.5h")
    parts = _PART.findall(s)
    if "".join(n + u for n, u in parts) != s:
        raise DurationError(text, "write a number followed by a unit (w, d, h, m or s)")
    seen: list[str] = []
    total = 0
    order = list(UNITS)
    for number, unit in parts:
        if unit not in UNITS:
            if unit.lower() in UNITS:
                raise DurationError(text, f"units are lower-case: {unit.lower()}, not {unit}")
            raise DurationError(text, f"unknown unit '{unit}'; units are w, d, h, m, s")
        if seen and order.index(unit) <= order.index(seen[-1]):
            raise DurationError(text, "units go from largest to smallest, each at most once (1h30m, not 30m1h)")
        seen.append(unit)
        total += int(number) * UNITS[unit]
    if total == 0:
        raise DurationError(text, "it must be longer than zero")
    return timedelta(seconds=total)


def format_duration(value: timedelta) -> str:
    """The canonical human string: `parse_duration(format_duration(d)) == d` for every valid d."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0s"
    if seconds % UNITS["w"] == 0:
        return f"{seconds // UNITS['w']}w"
    out = []
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, UNITS[unit])
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


def describe_duration(value: timedelta) -> str:
    """Prose for people: `1w` → "1 week", `1h30m` → "1 hour 30 minutes", `90d` → "90 days"."""
    seconds = int(value.total_seconds())
    units = ("w", "d", "h", "m", "s") if seconds % UNITS["w"] == 0 else ("d", "h", "m", "s")
    words = []
    for unit in units:
        count, seconds = divmod(seconds, UNITS[unit])
        if count:
            words.append(f"{count} {_NAMES[unit]}{'s' if count != 1 else ''}")
    return " ".join(words) or "0 seconds"


def _validate(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    try:
        return parse_duration(value)
    except DurationError as error:
        invalid("duration", f"{EXPECTED} ({error.reason})")


Duration = Annotated[
    timedelta,
    BeforeValidator(_validate),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?$", "examples": ["90m", "24h", "7d", "1w"]}),
]
"""A pydantic field type: reads "1h30m", dumps back to it in JSON mode."""
