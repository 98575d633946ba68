"""On-call resolution at and around handoffs, across Europe/Berlin's 2026 DST changes.

Expected instants are written out by hand. Berlin is UTC+1 (CET) until 2026-03-29 01:00Z, UTC+2
(CEST) until 2026-10-25 01:00Z, then UTC+1 again.
"""

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from services.playbook import load_playbook, load_playbook_text, next_handoffs, on_call, who_is_on_call
from services.playbook.schema import Override, Rotation

BERLIN = ZoneInfo("Europe/Berlin")


def z(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rotation(members, handoff, shift, start) -> Rotation:
    return Rotation(members=members, handoff=handoff, shift=shift, start=start)


# Shifts start Mon 2026-03-23 09:00 CET (08:00Z): UA; Mon 03-30 09:00 CEST (07:00Z): UB;
# Mon 04-06 07:00Z: UC; the shift before the anchor, Mon 03-16 08:00Z, is UC's (-1 mod 3).
SPRING = rotation(["UA01", "UB01", "UC01"], "mon 09:00", "1w", date(2026, 3, 23))


@pytest.mark.parametrize(
    ("at", "user"),
    [
        (z(2026, 3, 23, 7, 59, 59), "UC01"),
        (z(2026, 3, 23, 8, 0), "UA01"),
        (z(2026, 3, 29, 0, 59), "UA01"),  # just before the clocks go forward
        (z(2026, 3, 29, 1, 0), "UA01"),
        (z(2026, 3, 30, 6, 59, 59), "UA01"),  # 08:59:59 CEST
        (z(2026, 3, 30, 7, 0), "UB01"),  # 09:00 CEST: the handoff stays at 09:00 local
        (z(2026, 3, 30, 7, 30), "UB01"),  # a 168-hour shift would still say UA01 here
        (z(2026, 4, 6, 6, 59), "UB01"),
        (z(2026, 4, 6, 7, 0), "UC01"),
        (z(2026, 4, 13, 7, 0), "UA01"),
    ],
)
def test_weekly_rotation_across_spring_forward(at, user):
    assert on_call(SPRING, [], at, BERLIN) == user


# Shifts start Mon 2026-10-19 09:00 CEST (07:00Z): UA; Mon 10-26 09:00 CET (08:00Z): UB.
AUTUMN = rotation(["UA01", "UB01"], "mon 09:00", "1w", date(2026, 10, 19))


@pytest.mark.parametrize(
    ("at", "user"),
    [
        (z(2026, 10, 19, 6, 59), "UB01"),
        (z(2026, 10, 19, 7, 0), "UA01"),
        (z(2026, 10, 25, 0, 30), "UA01"),  # 02:30 CEST, first pass
        (z(2026, 10, 25, 1, 30), "UA01"),  # 02:30 CET, second pass
        (z(2026, 10, 26, 7, 0), "UA01"),  # 08:00 CET: a 168-hour shift would already say UB01
        (z(2026, 10, 26, 7, 59, 59), "UA01"),
        (z(2026, 10, 26, 8, 0), "UB01"),  # 09:00 CET
    ],
)
def test_weekly_rotation_across_fall_back(at, user):
    assert on_call(AUTUMN, [], at, BERLIN) == user


# Daily 09:00 from Sat 2026-03-28: 03-28 08:00Z UA, 03-29 07:00Z UB, 03-30 07:00Z UA.
DAILY = rotation(["UA01", "UB01"], "daily 09:00", "1d", date(2026, 3, 28))


@pytest.mark.parametrize(
    ("at", "user"),
    [
        (z(2026, 3, 28, 7, 59), "UB01"),
        (z(2026, 3, 28, 8, 0), "UA01"),
        (z(2026, 3, 29, 6, 59), "UA01"),
        (z(2026, 3, 29, 7, 0), "UB01"),
        (z(2026, 3, 30, 7, 0), "UA01"),
    ],
)
def test_daily_rotation_on_the_day_clocks_go_forward(at, user):
    assert on_call(DAILY, [], at, BERLIN) == user


# 02:30 does not exist on 2026-03-29: that handoff happens at 03:30 CEST (01:30Z).
GAP = rotation(["UA01", "UB01"], "daily 02:30", "1d", date(2026, 3, 28))


@pytest.mark.parametrize(
    ("at", "user"),
    [
        (z(2026, 3, 28, 1, 30), "UA01"),  # 02:30 CET
        (z(2026, 3, 29, 1, 29), "UA01"),  # 03:29 CEST
        (z(2026, 3, 29, 1, 30), "UB01"),  # 03:30 CEST
        (z(2026, 3, 30, 0, 29), "UB01"),
        (z(2026, 3, 30, 0, 30), "UA01"),  # 02:30 CEST
    ],
)
def test_handoff_inside_the_spring_gap_moves_later_by_the_gap(at, user):
    assert on_call(GAP, [], at, BERLIN) == user


# 02:30 happens twice on 2026-10-25; the handoff is at the first (CEST, 00:30Z).
FOLD = rotation(["UA01", "UB01"], "daily 02:30", "1d", date(2026, 10, 24))


@pytest.mark.parametrize(
    ("at", "user"),
    [
        (z(2026, 10, 25, 0, 29), "UA01"),
        (z(2026, 10, 25, 0, 30), "UB01"),
        (z(2026, 10, 25, 1, 30), "UB01"),  # the second 02:30 is not a handoff
        (z(2026, 10, 26, 1, 29), "UB01"),
        (z(2026, 10, 26, 1, 30), "UA01"),  # 02:30 CET
    ],
)
def test_handoff_at_an_ambiguous_time_happens_once_at_the_first(at, user):
    assert on_call(FOLD, [], at, BERLIN) == user


def test_any_aware_input_zone_gives_the_same_answer():
    in_utc = z(2026, 3, 30, 7, 0)
    in_new_york = in_utc.astimezone(ZoneInfo("America/New_York"))
    in_offset = in_utc.astimezone(timezone(timedelta(hours=-7)))
    assert on_call(SPRING, [], in_new_york, BERLIN) == on_call(SPRING, [], in_offset, BERLIN) == "UB01"


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="aware"):
        on_call(SPRING, [], datetime(2026, 3, 30, 9, 0), BERLIN)


def test_default_anchor_is_2024_01_01(example_path):
    # ai-primary: mon 09:00 weekly from Mon 2024-01-01. 2024-01-01 → 2026-03-30 is 366 + 365 + 88
    # = 819 days = 117 weeks, so shift 117 (117 mod 4 = 1: U04A2C6V8NC) starts Mon 2026-03-30
    # 09:00 CEST = 07:00Z, and shift 116 (mod 4 = 0: U03KX8D2L4A) holds until then.
    pb = load_playbook(example_path).playbook
    assert who_is_on_call(pb, "ai-primary", z(2026, 3, 30, 6, 59)) == "U03KX8D2L4A"
    assert who_is_on_call(pb, "ai-primary", z(2026, 3, 30, 7, 0)) == "U04A2C6V8NC"


def test_next_handoffs_are_wall_clock_and_strictly_after():
    handoffs = next_handoffs(SPRING, z(2026, 3, 23, 8, 0), 3, BERLIN)
    assert [(moment.astimezone(UTC), user) for moment, user in handoffs] == [
        (z(2026, 3, 30, 7, 0), "UB01"),
        (z(2026, 4, 6, 7, 0), "UC01"),
        (z(2026, 4, 13, 7, 0), "UA01"),
    ]
    assert handoffs[0][0].utcoffset() == timedelta(hours=2)
    assert handoffs[0][0].strftime("%a %H:%M") == "Mon 09:00"
    assert next_handoffs(SPRING, z(2026, 3, 30, 7, 0), 1, BERLIN) == [(datetime(2026, 4, 6, 9, 0, tzinfo=BERLIN), "UC01")]


def test_next_handoffs_across_fall_back():
    assert [(m.astimezone(UTC), u) for m, u in next_handoffs(AUTUMN, z(2026, 10, 20, 12, 0), 2, BERLIN)] == [
        (z(2026, 10, 26, 8, 0), "UB01"),
        (z(2026, 11, 2, 8, 0), "UA01"),
    ]


def test_overrides_win_over_the_rotation():
    naive = Override(rotation="spring", user="UX01", start=datetime(2026, 3, 30, 9, 0), end=datetime(2026, 4, 2, 9, 0))
    assert on_call(SPRING, [naive], z(2026, 3, 30, 6, 59), BERLIN) == "UA01"
    assert on_call(SPRING, [naive], z(2026, 3, 30, 7, 0), BERLIN) == "UX01"  # start is 09:00 Berlin
    assert on_call(SPRING, [naive], z(2026, 4, 2, 6, 59), BERLIN) == "UX01"
    assert on_call(SPRING, [naive], z(2026, 4, 2, 7, 0), BERLIN) == "UB01"  # end excluded


def test_aware_overrides_and_the_last_listed_wins():
    week = Override(rotation="spring", user="UX01", start=z(2026, 3, 30, 7, 0), end=z(2026, 4, 6, 7, 0))
    afternoon = Override(rotation="spring", user="UY01", start=z(2026, 3, 31, 12, 0), end=z(2026, 3, 31, 16, 0))
    assert on_call(SPRING, [week, afternoon], z(2026, 3, 31, 13, 0), BERLIN) == "UY01"
    assert on_call(SPRING, [afternoon, week], z(2026, 3, 31, 13, 0), BERLIN) == "UX01"
    assert on_call(SPRING, [week, afternoon], z(2026, 3, 31, 16, 0), BERLIN) == "UX01"


def test_overrides_cover_a_rotation_with_no_members():
    empty = rotation([], "mon 09:00", "1w", date(2026, 3, 23))  # valid schema; crossref flags it in a file
    cover = Override(rotation="spring", user="UX01", start=z(2026, 1, 1, 0, 0), end=z(2026, 2, 1, 0, 0))
    assert on_call(empty, [cover], z(2026, 1, 15, 0, 0), BERLIN) == "UX01"
    assert on_call(empty, [cover], z(2026, 2, 15, 0, 0), BERLIN) is None
    assert next_handoffs(empty, z(2026, 1, 15, 0, 0), 3, BERLIN) == []


def test_playbook_overrides_apply_only_to_their_rotation():
    pb = load_playbook_text(
        """\
version: 1
timezone: Europe/Berlin
admins: [U01ADMIN]
channels: {governance: C01GOV}
escalation:
  rotations:
    primary: {members: [UA01, UB01], handoff: mon 09:00, shift: 1w, start: 2026-03-23}
    secondary: {members: [UC01], handoff: mon 09:00, shift: 1w, start: 2026-03-23}
  overrides:
    - {rotation: secondary, user: UZ01, start: 2026-03-23 09:00, end: 2026-03-30 09:00}
"""
    ).playbook
    at = z(2026, 3, 25, 12, 0)
    assert who_is_on_call(pb, "primary", at) == "UA01"
    assert who_is_on_call(pb, "secondary", at) == "UZ01"
