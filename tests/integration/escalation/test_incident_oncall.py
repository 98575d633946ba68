"""On-call through the service: rotations at handoffs and across Europe/Berlin's 2026 DST
changes, overrides (stored beat playbook, the latest stored wins), who may add one, the next
handoffs, a person's shifts — and paging uses exactly these.

Berlin is UTC+1 until 2026-03-29 01:00Z, UTC+2 until 2026-10-25 01:00Z, then UTC+1 again.
"""

from datetime import UTC, datetime, timedelta

import pytest
from incident_world import make_runner, outbox_rows, page_log, sweep_until
from sqlmodel import select

import escalation
from bot.clock import ManualClock
from models.audit import AuditEvent
from services.playbook import load_playbook_text

BERLIN_YAML = """
version: 1
timezone: Europe/Berlin
admins: [U0ADMIN]
channels: {governance: C0GOV}
escalation:
  severities:
    sev1: {policy: page-primary}
  policies:
    page-primary:
      steps:
        - {notify: "rotation:ai-primary", wait: 5m}
        - {notify: "user:U0BOSS"}
  rotations:
    # shifts: Mon 03-23 08:00Z UA01 · Mon 03-30 07:00Z UB01 · Mon 04-06 07:00Z UC01 · Mon 04-13 07:00Z UA01
    ai-primary: {members: [UA01, UB01, UC01], handoff: "mon 09:00", shift: 1w, start: 2026-03-23}
    # shifts: Mon 10-19 07:00Z UA01 · Mon 10-26 08:00Z UB01
    autumn: {members: [UA01, UB01], handoff: "mon 09:00", shift: 1w, start: 2026-10-19}
  overrides:
    - {rotation: ai-primary, user: UP01, start: "2026-04-01 12:00", end: "2026-04-02 12:00"}
"""
PB = load_playbook_text(BERLIN_YAML)


def z(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def now_on(db, rotation, at):
    with db.session() as s:
        return escalation.on_call_now(s, PB, rotation, at)


def add(db, *, user="UZ01", start, end, by, now, rotation="ai-primary", is_admin=False):
    with db.session() as s:
        return escalation.add_override(s, playbook=PB, rotation=rotation, user=user, start=start, end=end,
                                       created_by=by, now=now, is_admin=is_admin)


@pytest.mark.parametrize(
    ("rotation", "at", "user"),
    [
        ("ai-primary", z(2026, 3, 23, 7, 59, 59), "UC01"),  # the shift before the anchor
        ("ai-primary", z(2026, 3, 23, 8, 0), "UA01"),  # 09:00 CET: handoff
        ("ai-primary", z(2026, 3, 29, 0, 59), "UA01"),  # just before the clocks go forward
        ("ai-primary", z(2026, 3, 29, 1, 0), "UA01"),
        ("ai-primary", z(2026, 3, 30, 6, 59, 59), "UA01"),  # 08:59:59 CEST
        ("ai-primary", z(2026, 3, 30, 7, 0), "UB01"),  # 09:00 CEST: the handoff stays at 09:00 local
        ("ai-primary", z(2026, 3, 30, 7, 30), "UB01"),  # a 168-hour shift would still say UA01
        ("ai-primary", z(2026, 4, 1, 9, 59), "UB01"),
        ("ai-primary", z(2026, 4, 1, 10, 0), "UP01"),  # the playbook's override, 12:00 CEST
        ("ai-primary", z(2026, 4, 2, 10, 0), "UB01"),
        ("ai-primary", z(2026, 4, 6, 7, 0), "UC01"),
        ("autumn", z(2026, 10, 25, 0, 30), "UA01"),  # 02:30 CEST, first pass
        ("autumn", z(2026, 10, 25, 1, 30), "UA01"),  # 02:30 CET, second pass
        ("autumn", z(2026, 10, 26, 7, 0), "UA01"),  # 08:00 CET: a 168-hour shift would already say UB01
        ("autumn", z(2026, 10, 26, 7, 59, 59), "UA01"),
        ("autumn", z(2026, 10, 26, 8, 0), "UB01"),  # 09:00 CET
    ],
)
def test_who_is_on_call_now_at_handoffs_and_across_dst(db, rotation, at, user):
    assert now_on(db, rotation, at) == user


def test_a_stored_override_beats_the_playbook_and_the_latest_stored_wins(db):
    admin = dict(by="U0ADMIN", is_admin=True, now=z(2026, 3, 31))
    add(db, user="UX01", start=z(2026, 4, 1, 9), end=z(2026, 4, 1, 12), **admin)
    assert now_on(db, "ai-primary", z(2026, 4, 1, 10, 30)) == "UX01"  # over the playbook's UP01
    second = add(db, user="UY01", start=z(2026, 4, 1, 10), end=z(2026, 4, 1, 11), **admin)
    assert now_on(db, "ai-primary", z(2026, 4, 1, 10, 30)) == "UY01"
    assert now_on(db, "ai-primary", z(2026, 4, 1, 11, 30)) == "UX01"
    assert now_on(db, "ai-primary", z(2026, 4, 1, 12, 30)) == "UP01"
    with db.session() as s:
        cancelled = escalation.cancel_override(s, override_id=second.override.id, user="UY01", now=z(2026, 3, 31))
    assert cancelled.outcome == "cancelled"
    assert now_on(db, "ai-primary", z(2026, 4, 1, 10, 30)) == "UX01"


def test_the_member_being_covered_may_set_an_override_for_their_own_shift(db):
    result = add(db, start=z(2026, 4, 3, 10), end=z(2026, 4, 3, 12), by="UB01", now=z(2026, 3, 31))
    assert result.outcome == "added"
    assert result.message == "<@UZ01> is on call for ai-primary Fri 03 Apr 12:00 – Fri 03 Apr 14:00 (Europe/Berlin)."
    assert now_on(db, "ai-primary", z(2026, 4, 3, 11)) == "UZ01"
    [dm] = outbox_rows(db)
    assert (dm.channel, dm.template, dm.payload["override"]["covered"]) == ("UZ01", "oncall_override", ["UB01"])
    with db.session() as s:
        event = s.exec(select(AuditEvent)).all()[-1]
    assert (event.action, event.entity_type, event.payload["covered"]) == (
        "oncall.override_added", "oncall_override", ["UB01"])


@pytest.mark.parametrize(
    ("by", "start", "end", "code_fragment"),
    [
        ("UC01", z(2026, 4, 3, 10), z(2026, 4, 3, 12), "You are not on call for ai-primary in that window"),
        ("UB01", z(2026, 4, 6, 6), z(2026, 4, 6, 8), "also covers time when you are not on call"),  # into UC01's
        ("UB01", z(2026, 4, 1, 9), z(2026, 4, 1, 11), "also covers time when you are not on call"),  # UP01's hour
    ],
)
def test_nobody_else_may_set_an_override_but_an_admin(db, by, start, end, code_fragment):
    denied = add(db, start=start, end=end, by=by, now=z(2026, 3, 31))
    assert denied.outcome == "denied" and code_fragment in denied.message
    assert add(db, start=start, end=end, by="U0ADMIN", now=z(2026, 3, 31), is_admin=True).outcome == "added"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"rotation": "nope"}, "rotation", "'nope' is not a rotation in the playbook; use one of: ai-primary, autumn."),
        ({"end": z(2026, 4, 3, 9)}, "end", "The end must be after the start."),
        ({"start": z(2026, 3, 30), "end": z(2026, 3, 30, 12)}, "end",
         "That window is already over; an override must end in the future."),
        ({"start": z(2026, 3, 30, 23)}, "start", "The start is in the past; an override starts now or later."),
        ({"user": "bob"}, "user", "The person on call must be a Slack user (an ID like U01ABCDEF)."),
    ],
)
def test_override_input_is_checked(db, fields, field, message):
    args = {"start": z(2026, 4, 3, 10), "end": z(2026, 4, 3, 12), **fields}
    with pytest.raises(escalation.IncidentInputError) as caught:
        add(db, by="U0ADMIN", is_admin=True, now=z(2026, 3, 31), **args)
    assert (caught.value.field, caught.value.message) == (field, message)


def test_naive_override_times_are_read_in_the_playbook_time_zone(db):
    result = add(db, start=datetime(2026, 4, 3, 12), end=datetime(2026, 4, 3, 14), by="UB01", now=z(2026, 3, 31))
    assert (result.override.start, result.override.end) == (z(2026, 4, 3, 10), z(2026, 4, 3, 12))


def test_the_next_handoffs_apply_overrides(db):
    add(db, user="UX01", start=z(2026, 4, 8, 10), end=z(2026, 4, 8, 12), by="U0ADMIN", is_admin=True,
        now=z(2026, 3, 31))
    with db.session() as s:
        handoffs = escalation.schedule(s, PB, "ai-primary", z(2026, 3, 31, 10), count=6)
    assert [(h.at.astimezone(UTC), h.user, h.override) for h in handoffs] == [
        (z(2026, 4, 1, 10), "UP01", True),
        (z(2026, 4, 2, 10), "UB01", False),
        (z(2026, 4, 6, 7), "UC01", False),
        (z(2026, 4, 8, 10), "UX01", True),
        (z(2026, 4, 8, 12), "UC01", False),
        (z(2026, 4, 13, 7), "UA01", False),
    ]
    assert str(handoffs[0].at.tzinfo) == "Europe/Berlin"


def test_a_persons_shifts_across_rotations(db):
    with db.session() as s:
        shifts = escalation.shifts_of(s, PB, "UC01", z(2026, 3, 31, 10), count=3)
    assert [(sh.rotation, sh.start.astimezone(UTC), sh.end.astimezone(UTC)) for sh in shifts] == [
        ("ai-primary", z(2026, 4, 6, 7), z(2026, 4, 13, 7)),
        ("ai-primary", z(2026, 4, 27, 7), z(2026, 5, 4, 7)),
        ("ai-primary", z(2026, 5, 18, 7), z(2026, 5, 25, 7)),
    ]
    with db.session() as s:
        covering = escalation.shifts_of(s, PB, "UP01", z(2026, 3, 31, 10))
    assert [(sh.rotation, sh.start.astimezone(UTC), sh.override) for sh in covering] == [
        ("ai-primary", z(2026, 4, 1, 10), True)]


def test_paging_a_rotation_uses_the_stored_overrides(db):
    start = z(2026, 4, 3, 10)
    add(db, user="UZ01", start=start, end=start + timedelta(hours=2), by="UB01", now=start)
    clock = ManualClock(start)
    runner = make_runner(db, clock)
    with db.session() as s:
        iid = escalation.open_incident(s, playbook=PB, severity="sev1", title="Harmful output", reporter="U0REP",
                                       now=start).id
    sweep_until(runner, clock, start + timedelta(minutes=5))
    assert [(p[3], p[4]) for p in page_log(db, iid)] == [("UZ01", start), ("U0BOSS", start + timedelta(minutes=5))]
