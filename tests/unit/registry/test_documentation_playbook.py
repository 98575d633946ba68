"""The playbook's documentation section, and the schedule lookup the weekly digest catches up with."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.playbook import PlaybookError, WeeklySchedule, load_playbook_text

BERLIN = ZoneInfo("Europe/Berlin")
HEADER = """\
version: 1
timezone: Europe/Berlin
admins: [U01ADMIN]
groups:
  doc-approvers: {members: [U01GOV]}
channels: {governance: C01GOV, digest: C01DIGEST, incidents: C01INC}
"""


def load(documentation: str = ""):
    return load_playbook_text(HEADER + documentation).playbook


def issues(documentation: str) -> list[tuple[str, str]]:
    with pytest.raises(PlaybookError) as caught:
        load(documentation)
    return [(i.path, str(i)) for i in caught.value.issues]


def z(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_defaults_when_the_section_is_left_out():
    doc = load().documentation
    assert (doc.usecase_revisit, doc.vendor_revisit) == (timedelta(days=90), timedelta(days=180))
    assert (doc.stale_grace, doc.due_soon, doc.renudge_after, doc.snooze) == (
        timedelta(days=14), timedelta(days=7), timedelta(days=3), timedelta(days=7))
    assert (doc.max_snoozes, doc.approvers, doc.digest) == (3, (), None)
    assert load().digest_channel() == "C01DIGEST"


def test_every_setting_is_read():
    doc = load("""\
documentation:
  usecase_revisit: 60d
  vendor_revisit: 1w
  stale_grace: 2d
  due_soon: 12h
  renudge_after: 1d
  snooze: 36h
  max_snoozes: 0
  approvers: [doc-approvers]
  digest: {cron: "mon,thu 08:30", channel: incidents}
""").documentation
    assert (doc.usecase_revisit, doc.vendor_revisit, doc.stale_grace) == (
        timedelta(days=60), timedelta(weeks=1), timedelta(days=2))
    assert (doc.due_soon, doc.renudge_after, doc.snooze) == (
        timedelta(hours=12), timedelta(days=1), timedelta(hours=36))
    assert (doc.max_snoozes, doc.approvers) == (0, ("doc-approvers",))
    assert (doc.digest.cron.days, str(doc.digest.cron)) == ((0, 3), "mon,thu 08:30")


def test_a_digest_channel_role_resolves_through_channels():
    assert load("documentation:\n  digest: {cron: mon 09:00, channel: incidents}\n").digest_channel() == "C01INC"
    assert load("documentation:\n  digest: {cron: mon 09:00, channel: C01OTHER}\n").digest_channel() == "C01OTHER"
    assert load("documentation:\n  digest: {cron: mon 09:00}\n").digest_channel() == "C01DIGEST"


def test_revisit_cadence_by_risk_falls_back_to_the_general_one():
    doc = load("""\
documentation:
  usecase_revisit: 90d
  usecase_revisit_by_risk: {high: 30d, prohibited: 7d}
  vendor_revisit_by_risk: {minimal: 365d}
""").documentation
    assert doc.revisit_after("usecase", "high") == timedelta(days=30)
    assert doc.revisit_after("usecase", "prohibited") == timedelta(days=7)
    assert doc.revisit_after("usecase", "limited") == timedelta(days=90)
    assert doc.revisit_after("usecase") == timedelta(days=90)
    assert doc.revisit_after("vendor", "minimal") == timedelta(days=365)
    assert doc.revisit_after("vendor", "high") == timedelta(days=180)


@pytest.mark.parametrize("value", ["-1", "11", "true", "'2'"])
def test_max_snoozes_is_a_whole_number_from_0_to_10(value):
    found = issues(f"documentation:\n  max_snoozes: {value}\n")
    assert [path for path, _ in found] == ["documentation.max_snoozes"]


def test_unknown_keys_and_unknown_approver_groups_are_refused():
    assert [p for p, _ in issues("documentation:\n  revisit: 30d\n")] == ["documentation.revisit"]
    (path, text), = issues("documentation:\n  approvers: [legal]\n")
    assert path == "documentation.approvers[0]"
    assert "found 'legal'" in text


def test_durations_must_be_durations():
    assert [p for p, _ in issues("documentation:\n  due_soon: soon\n")] == ["documentation.due_soon"]


# --- WeeklySchedule.latest_at_or_before ----------------------------------------------------------

@pytest.mark.parametrize(("schedule", "when", "expected"), [
    # Mon 09:00 Berlin is 08:00Z in winter; a firing is "at or before" itself.
    ("mon 09:00", z(2026, 3, 2, 8, 0), z(2026, 3, 2, 8, 0)),
    ("mon 09:00", z(2026, 3, 2, 7, 59), z(2026, 2, 23, 8, 0)),
    ("mon 09:00", z(2026, 3, 8, 22, 0), z(2026, 3, 2, 8, 0)),
    # Across the spring-forward change (2026-03-29): Monday 09:00 CEST is 07:00Z.
    ("mon 09:00", z(2026, 3, 30, 7, 0), z(2026, 3, 30, 7, 0)),
    ("mon 09:00", z(2026, 3, 30, 6, 59), z(2026, 3, 23, 8, 0)),
    # Several days a week: the nearest one before.
    ("mon,thu 09:30", z(2026, 3, 4, 12, 0), z(2026, 3, 2, 8, 30)),
    ("mon,thu 09:30", z(2026, 3, 6, 12, 0), z(2026, 3, 5, 8, 30)),
    ("daily 09:00", z(2026, 3, 4, 7, 0), z(2026, 3, 3, 8, 0)),
    # Sunday 23:30 UTC is already Monday in Berlin.
    ("mon 00:15", z(2026, 3, 1, 23, 30), z(2026, 3, 1, 23, 15)),
])
def test_latest_at_or_before(schedule, when, expected):
    got = WeeklySchedule.model_validate(schedule).latest_at_or_before(when, BERLIN)
    assert got == expected
    assert got.tzinfo is BERLIN


def test_latest_at_or_before_and_next_after_meet():
    schedule = WeeklySchedule.model_validate("weekdays 08:45")
    moment = z(2026, 3, 7, 10, 0)  # a Saturday
    latest = schedule.latest_at_or_before(moment, BERLIN)
    assert latest == z(2026, 3, 6, 7, 45)
    assert schedule.next_after(latest, BERLIN) == z(2026, 3, 9, 7, 45)
    assert schedule.latest_at_or_before(schedule.next_after(moment, BERLIN), BERLIN) == z(2026, 3, 9, 7, 45)


def test_latest_at_or_before_needs_an_aware_datetime():
    with pytest.raises(ValueError, match="aware"):
        WeeklySchedule.model_validate("mon 09:00").latest_at_or_before(datetime(2026, 3, 2, 9), BERLIN)
