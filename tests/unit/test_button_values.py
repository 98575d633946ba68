"""Button values come back from the client: each parser takes exactly what its builder wrote."""

import pytest

from blocks.approvals import action_value, parse_action_value
from blocks.home import parse_page_value
from blocks.incidents import (
    SNOOZE,
    SNOOZE_CHOICES,
    incident_update_reminder,
    parse_incident_value,
    parse_snooze_value,
)
from blocks.registry import parse_record_value
from blocks.values import ID_MAX, NOT_OURS, ButtonValueError
from services.inputs import InputError

HOSTILE = [None, "", "abc", "-1", "0", "+1", " 1", "1 ", "1_000", "١٢", "9" * 20, str(ID_MAX + 1),
           "1.5", "1e3", "0x10", "1:2:3:4", ":", "1\x00"]


def test_approval_buttons_round_trip():
    assert parse_action_value(action_value({"id": 12, "revision": 3})) == (12, 3)
    assert parse_action_value(f"{ID_MAX}:1") == (ID_MAX, 1)


@pytest.mark.parametrize("value", HOSTILE + ["1", "1:", ":1", "1:abc", "1:-1", f"1:{'9' * 20}"])
def test_approval_values_we_never_build_are_refused_as_input(value):
    with pytest.raises(ButtonValueError) as raised:
        parse_action_value(value)
    assert isinstance(raised.value, InputError)
    assert raised.value.message == NOT_OURS


def test_incident_buttons_round_trip():
    assert parse_incident_value("7") == 7
    reminder = incident_update_reminder({"id": 7, "status": "open"})
    snoozes = [e["value"] for b in reminder["blocks"] for e in b.get("elements", [])
               if e.get("action_id") == SNOOZE]
    assert [parse_snooze_value(v) for v in snoozes] == [(7, m) for m in SNOOZE_CHOICES]


@pytest.mark.parametrize("value", HOSTILE)
def test_incident_values_we_never_build_are_refused(value):
    with pytest.raises(ButtonValueError):
        parse_incident_value(value)


@pytest.mark.parametrize("value", ["7", "7:0", "7:31", "7:-30", "7:99999999999999999999", "abc:30",
                                   "-1:30", "7:30:1"])
def test_only_the_snoozes_we_offer_are_taken(value):
    with pytest.raises(ButtonValueError):
        parse_snooze_value(value)


def test_record_buttons_round_trip_with_a_tag_that_holds_colons():
    assert parse_record_value("usecase:4") == ("usecase", 4, "")
    assert parse_record_value("vendor:9:2026-05-01T09:00:00+00:00") == (
        "vendor", 9, "2026-05-01T09:00:00+00:00")


@pytest.mark.parametrize("value", [None, "", "usecase", "usecase:", "usecase:abc", "usecase:-1",
                                   f"usecase:{'9' * 20}", "team:4", ":4", "usecase: 4"])
def test_record_values_we_never_build_are_refused(value):
    with pytest.raises(ButtonValueError):
        parse_record_value(value)


def test_pager_values():
    assert parse_page_value("records:0") == ("records", 0)
    assert parse_page_value("incidents:15") == ("incidents", 15)
    for value in ["records", "records:-5", f"records:{'9' * 20}", "waiting:0", "records:a", None]:
        with pytest.raises(ButtonValueError):
            parse_page_value(value)
