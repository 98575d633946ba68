from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from services.playbook import WeeklySchedule, load_playbook_text

BERLIN = ZoneInfo("Europe/Berlin")


def z(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "days", "at", "canonical"),
    [
        ("mon 09:00", (0,), time(9, 0), "mon 09:00"),
        ("mon,thu 09:30", (0, 3), time(9, 30), "mon,thu 09:30"),
        ("thu,mon 9:30", (0, 3), time(9, 30), "mon,thu 09:30"),
        ("daily 09:00", (0, 1, 2, 3, 4, 5, 6), time(9, 0), "daily 09:00"),
        ("weekdays 08:45", (0, 1, 2, 3, 4), time(8, 45), "weekdays 08:45"),
        ("SUN 23:59", (6,), time(23, 59), "sun 23:59"),
    ],
)
def test_parses_and_prints_schedules(text, days, at, canonical):
    schedule = WeeklySchedule.model_validate(text)
    assert (schedule.days, schedule.at) == (days, at)
    assert str(schedule) == canonical
    assert schedule.model_dump() == canonical
    assert WeeklySchedule.model_validate(schedule.model_dump()) == schedule


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("monday 09:00", "unknown day 'monday'"),
        ("mon 24:00", "a 24-hour time, 00:00 to 23:59"),
        ("mon", "a schedule like 'mon 09:00'"),
        ("0 9 * * 1", "a schedule like 'mon 09:00'"),
    ],
)
def test_rejects_what_it_cannot_read(text, words):
    with pytest.raises(ValidationError) as caught:
        WeeklySchedule.model_validate(text)
    assert words in caught.value.errors()[0]["ctx"]["expected"]


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        # Mon 09:00 Berlin: 08:00Z in winter, 07:00Z from 2026-03-29.
        ("mon 09:00", z(2026, 3, 23, 7, 59), z(2026, 3, 23, 8, 0)),
        ("mon 09:00", z(2026, 3, 23, 8, 0), z(2026, 3, 30, 7, 0)),
        ("mon 09:00", z(2026, 10, 19, 7, 0), z(2026, 10, 26, 8, 0)),
        # Thu 2026-03-26 09:30 CET = 08:30Z; Mon 2026-03-30 09:30 CEST = 07:30Z.
        ("mon,thu 09:30", z(2026, 3, 24, 0, 0), z(2026, 3, 26, 8, 30)),
        ("mon,thu 09:30", z(2026, 3, 26, 8, 30), z(2026, 3, 30, 7, 30)),
        ("daily 09:00", z(2026, 3, 28, 8, 0), z(2026, 3, 29, 7, 0)),
        # Fri 2026-03-27 18:00Z → next weekday is Mon 2026-03-30 08:45 CEST = 06:45Z.
        ("weekdays 08:45", z(2026, 3, 27, 18, 0), z(2026, 3, 30, 6, 45)),
    ],
)
def test_next_after_is_wall_clock_in_the_playbook_zone(schedule, after, expected):
    fired = WeeklySchedule.model_validate(schedule).next_after(after, BERLIN)
    assert fired == expected
    assert fired.tzinfo is BERLIN


def test_yaml_anchors_and_merge_keys_are_fine():
    pb = load_playbook_text(
        """\
version: 1
timezone: UTC
admins: [U01A]
groups: {leads: {members: [U01A, U01B]}}
channels: {governance: C01G}
approvals:
  code: &base {approvers: [leads], remind_after: 24h, expire_after: 7d}
  copy:
    <<: *base
    required: 2
"""
    ).playbook
    assert pb.approval_rule("copy", "internal").required == 2
    assert pb.approval_rule("copy", "internal").remind_after == pb.approval_rule("code", "internal").remind_after
