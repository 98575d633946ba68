"""Time as a dependency: services take a clock so tests can move time by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        if self._now.utcoffset() is None:
            raise ValueError("ManualClock needs an aware datetime")

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


class OffsetFileClock:
    """System time plus an offset in seconds read from a file: lets an end-to-end test or a
    drill move a running bot's time forward without touching the host clock."""

    def __init__(self, path: str) -> None:
        self.path = path

    def offset(self) -> timedelta:
        try:
            with open(self.path) as f:
                return timedelta(seconds=float(f.read().strip() or 0))
        except FileNotFoundError:
            return timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset()
