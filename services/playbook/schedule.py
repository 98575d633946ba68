"""Weekly wall-clock schedules: `mon 09:00`, `mon,thu 09:30`, `weekdays 08:45`, `daily 09:00`.

Used by the digest and by rotation handoffs. Times are wall-clock in the playbook's time zone, so
"mon 09:00" stays 09:00 local across a daylight-saving change. A time that does not exist that day
(inside the spring-forward gap) fires at the instant the pre-transition offset gives — i.e. later
by the gap, 02:30 → 03:30 in Europe/Berlin; a time that occurs twice (autumn) fires at the first.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from datetime import tzinfo as TzInfo
from typing import Any

from pydantic import BaseModel, ConfigDict, model_serializer, model_validator

from .issues import invalid

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHORTHANDS = {"daily": tuple(range(7)), "weekdays": tuple(range(5))}
EXPECTED = "a schedule like 'mon 09:00', 'mon,thu 09:30', 'weekdays 09:00' or 'daily 09:00'"
_FORM = re.compile(r"^\s*(\S+)\s+(\d{1,2}):(\d{2})\s*$")


def _parse(text: str) -> dict[str, Any]:
    match = _FORM.match(text)
    if not match:
        invalid("schedule", EXPECTED)
    days_text, hour, minute = match.group(1).lower(), int(match.group(2)), int(match.group(3))
    if days_text in _SHORTHANDS:
        days = _SHORTHANDS[days_text]
    else:
        names = days_text.split(",")
        unknown = [name for name in names if name not in WEEKDAYS]
        if unknown:
            invalid("schedule", f"{EXPECTED} (unknown day '{unknown[0]}'; days are {', '.join(WEEKDAYS)})")
        days = tuple(sorted({WEEKDAYS.index(name) for name in names}))
    if hour > 23 or minute > 59:
        invalid("schedule", f"{EXPECTED} (a 24-hour time, 00:00 to 23:59)")
    return {"days": days, "at": time(hour, minute)}


class WeeklySchedule(BaseModel):
    """Fires on `days` (0 = Monday) at wall-clock time `at`. Written and dumped as a string."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: tuple[int, ...]
    at: time

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            return _parse(data)
        if isinstance(data, (dict, WeeklySchedule)):
            return data
        invalid("schedule", EXPECTED)

    @model_validator(mode="after")
    def _sane(self) -> WeeklySchedule:
        if not self.days or any(day not in range(7) for day in self.days):
            invalid("schedule", EXPECTED)
        return self

    @model_serializer
    def _to_text(self) -> str:
        return str(self)

    @property
    def is_daily(self) -> bool:
        return len(self.days) == 7

    def __str__(self) -> str:
        for name, days in _SHORTHANDS.items():
            if self.days == days:
                return f"{name} {self.at:%H:%M}"
        return f"{','.join(WEEKDAYS[day] for day in self.days)} {self.at:%H:%M}"

    def on(self, day: date, tz: TzInfo) -> datetime:
        """The aware instant this schedule names on local calendar `day` (whether or not it fires then)."""
        return datetime.combine(day, self.at, tzinfo=tz)

    def next_after(self, after: datetime, tz: TzInfo) -> datetime:
        """The first firing strictly after `after` (aware), as an aware datetime in `tz`."""
        if after.tzinfo is None:
            raise ValueError("next_after needs an aware datetime")
        local_day = after.astimezone(tz).date()
        for offset in range(8):
            day = local_day + timedelta(days=offset)
            if day.weekday() in self.days:
                candidate = self.on(day, tz)
                if candidate.astimezone(UTC) > after.astimezone(UTC):
                    return candidate
        raise AssertionError("a weekly schedule fires at least once in eight days")

    def latest_at_or_before(self, when: datetime, tz: TzInfo) -> datetime:
        """The last firing at or before `when` (aware), as an aware datetime in `tz`."""
        if when.tzinfo is None:
            raise ValueError("latest_at_or_before needs an aware datetime")
        local_day = when.astimezone(tz).date()
        for offset in range(8):
            day = local_day - timedelta(days=offset)
            if day.weekday() in self.days:
                candidate = self.on(day, tz)
                if candidate.astimezone(UTC) <= when.astimezone(UTC):
                    return candidate
        raise AssertionError("a weekly schedule fires at least once in eight days")
