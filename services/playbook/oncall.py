"""Who is on call: rotations in wall-clock time, and overrides that beat them.

Shift k (k = 0, 1, …; negative before the anchor) starts at the handoff time, local wall clock, on
the local calendar day `anchor + k × shift_days`, where the anchor is the first handoff weekday on
or after the rotation's `start` date (the `start` date itself for a daily handoff). Member
`k mod len(members)` holds shift k. Counting calendar days rather than elapsed hours is what keeps
a Monday 09:00 handoff at 09:00 through a daylight-saving change: that week's shift is an hour
shorter or longer. Instants are compared in UTC, never as local wall-clock readings.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from datetime import tzinfo as TzInfo

from .schema import Override, Playbook, Rotation


def anchor_day(rotation: Rotation) -> date:
    if rotation.handoff.is_daily:
        return rotation.start
    weekday = rotation.handoff.days[0]
    return rotation.start + timedelta(days=(weekday - rotation.start.weekday()) % 7)


def shift_start(rotation: Rotation, index: int, tz: TzInfo) -> datetime:
    """The aware instant (in `tz`) shift `index` begins."""
    day = anchor_day(rotation) + timedelta(days=index * rotation.shift_days)
    return rotation.handoff.on(day, tz)


def shift_index(rotation: Rotation, at: datetime, tz: TzInfo) -> int:
    """The shift in effect at `at`: the last one starting at or before it."""
    _require_aware(at)
    moment = at.astimezone(UTC)
    elapsed_days = (at.astimezone(tz).date() - anchor_day(rotation)).days
    index = elapsed_days // rotation.shift_days
    # The calendar guess can be one off on the handoff day itself (before the handoff time) and
    # around a gap; settle it against real instants.
    while shift_start(rotation, index, tz).astimezone(UTC) > moment:
        index -= 1
    while shift_start(rotation, index + 1, tz).astimezone(UTC) <= moment:
        index += 1
    return index


def on_call(rotation: Rotation, overrides: Iterable[Override], at: datetime, tz: TzInfo) -> str | None:
    """The user on call at `at` (aware): the last matching override, else the rotation; None if nobody.

    `overrides` must be this rotation's own (see `Playbook.overrides_for`); naive override times
    are read in `tz`.
    """
    _require_aware(at)
    moment = at.astimezone(UTC)
    covering = [o.user for o in overrides if _covers(o, moment, tz)]
    if covering:
        return covering[-1]
    if not rotation.members:
        return None
    return rotation.members[shift_index(rotation, at, tz) % len(rotation.members)]


def next_handoffs(rotation: Rotation, at: datetime, count: int, tz: TzInfo) -> list[tuple[datetime, str]]:
    """The next `count` scheduled handoffs strictly after `at`: (instant in `tz`, incoming member).

    Overrides are not applied: this is the rotation's own schedule.
    """
    if not rotation.members:
        return []
    first = shift_index(rotation, at, tz) + 1
    return [
        (shift_start(rotation, index, tz), rotation.members[index % len(rotation.members)])
        for index in range(first, first + count)
    ]


def who_is_on_call(playbook: Playbook, rotation_name: str, at: datetime) -> str | None:
    """`on_call` for a named rotation of `playbook`, with its overrides and time zone."""
    rotation = playbook.escalation.rotations[rotation_name]
    return on_call(rotation, playbook.overrides_for(rotation_name), at, playbook.tz)


def _covers(override: Override, moment: datetime, tz: TzInfo) -> bool:
    start, end = override.interval(tz)
    return start.astimezone(UTC) <= moment < end.astimezone(UTC)


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("on-call questions need an aware datetime (UTC is fine)")
