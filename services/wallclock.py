"""Moments and days as people read them: on the playbook's wall clock, never bare UTC.

Rows hold aware UTC; only what is shown (and calendar questions such as "how many days
overdue") turns to the playbook's time zone. Payloads carry the zone by name, so a renderer
or a timer that has no playbook at hand still shows the team's time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str | None) -> tzinfo:
    """The zone a payload names; UTC for one written before payloads named it (or a name this
    machine's tz database does not know, rather than failing to show anything)."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def zone_name(tz: tzinfo) -> str:
    return getattr(tz, "key", None) or "UTC"


def local_day(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


def days_until(moment: datetime, now: datetime, tz: tzinfo) -> int:
    """Calendar days from today to `moment`'s day, on the wall clock of `tz`: 0 on the day
    itself, -15 fifteen days after it, whatever the hour of either."""
    return (local_day(moment, tz) - local_day(now, tz)).days


def local_time(moment: datetime, tz: tzinfo) -> str:
    """`2026-03-02 08:32 CET`."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def local_iso_time(iso: str, tz_name: str | None) -> str:
    return local_time(datetime.fromisoformat(iso), zone(tz_name))


def local_iso_day(iso: str, tz_name: str | None) -> str:
    return local_day(datetime.fromisoformat(iso), zone(tz_name)).isoformat()
