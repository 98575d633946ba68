"""/ai-audit pages fit Slack's limits at their largest, and their buttons carry back exactly
what they were built with — anything else is refused as input."""

import json

import pytest
from slack_sdk.models.blocks import Block

from blocks.audit import (
    NEXT,
    PREVIOUS,
    VALUE_LIMIT,
    admins_only,
    checkpoint_answer,
    event_line,
    log_page,
    page_value,
    parse_page_value,
    payload_summary,
    refused,
    verify_answer,
)
from blocks.values import NOT_OURS, ButtonValueError
from services.audit_log.filter_text import MAX_ACTIONS, render
from services.audit_log.query import AuditFilter
from tests.unit.test_blocks import MESSAGE_BLOCKS, TEXT_LIMIT, assert_valid_message

PAGE = 20  # more than /ai-audit shows per page


def event(seq: int, **over) -> dict:
    return {"seq": seq, "id": seq + 1, "at": "2026-11-25T09:00:00.000000Z", "actor": "U0ADMIN",
            "action": "approval.approved", "entity_type": "approval_request", "entity_id": "42",
            "payload": {"title": "Refactor billing retries", "reason": "looks fine"}, "request_id": "r1",
            "leaf_hash": "ab" * 32, **over}


def largest_event(seq: int) -> dict:
    """Every field at what the columns hold, escaping making it several times longer."""
    return event(seq, actor="&" * 64, action="a" * 64, entity_type="e" * 32, entity_id="<" * 64,
                 payload={f"key{i}": "<&>" * 1000 for i in range(30)})


def largest_filter() -> str:
    return render(AuditFilter(actor="U" + "0" * 63, actions=tuple(f"{'a' * 60}.{i}.*" for i in range(MAX_ACTIONS)),
                              entity_type="e" * 32, entity_id="9" * 64))


def buttons(message: dict) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]}


@pytest.mark.parametrize("newer, older", [(False, False), (True, False), (False, True), (True, True)])
def test_the_largest_page_is_valid_block_kit(newer, older):
    message = log_page([largest_event(1000 - i) for i in range(PAGE)], title="Audit log " + "x" * 300,
                       filter_text=largest_filter(), newer=newer, older=older, tz="Europe/Berlin")
    assert_valid_message(message)
    assert len(message["blocks"]) <= MESSAGE_BLOCKS
    assert set(buttons(message)) == {name for name, shown in ((PREVIOUS, newer), (NEXT, older)) if shown}
    assert all(len(v) <= VALUE_LIMIT for v in buttons(message).values())


def test_every_event_of_a_page_is_shown_newest_first():
    message = log_page([event(30 - i) for i in range(15)], title="Audit log", filter_text="", newer=False,
                       older=True, tz="UTC")
    shown = "\n".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")
    positions = [shown.index(f"`#{seq}`") for seq in range(30, 15, -1)]
    assert positions == sorted(positions)
    assert buttons(message) == {NEXT: "16:"}


def test_a_line_has_the_seq_time_actor_action_entity_and_payload():
    line = event_line(event(7), tz="Europe/Berlin")
    assert line.startswith("`#7` <!date^1795597200^{date_short_pretty} {time}|2026-11-25 10:00 CET> · <@U0ADMIN> · ")
    assert "*approval.approved* · request 42 · title: Refactor billing retries, reason: looks fine" in line


def test_a_system_actor_and_an_unknown_entity_are_plain_text():
    line = event_line(event(1, actor="countersign", entity_type="oncall_override", entity_id="3", payload={}),
                      tz="UTC")
    assert "· countersign ·" in line and "oncall_override:3" in line and not line.endswith("· ")


def test_a_payload_summary_is_short_and_nested_values_are_json():
    summary = payload_summary({"users": ["U1", "U2"], "policy": {"required": 2}, "n": 3, "none": None})
    assert summary == 'users: ["U1","U2"], policy: {"required":2}, n: 3, none: null'
    long = payload_summary({"text": "x" * 5000, "other": "y" * 5000})
    assert len(long) <= 180 and long.endswith("…")
    assert payload_summary({}) == "" and payload_summary(None) == "" and payload_summary("text") == ""


def test_an_empty_page_says_so_and_offers_no_buttons():
    message = log_page([], title="History of request 9", filter_text="entity:approval_request:9", newer=True,
                       older=True, tz="UTC", empty="No sealed events about request 9 yet.")
    assert_valid_message(message)
    assert "No sealed events about request 9 yet." in json.dumps(message)
    assert buttons(message) == {}


def test_refusals_are_valid_and_say_what_can_be_read_instead():
    for message in (admins_only(["U0ADMIN", "U0ADMIN2"]), refused("Request 4 is not yours to read.")):
        assert_valid_message(message)
        assert message["response_type"] == "ephemeral"
    assert "<@U0ADMIN>, <@U0ADMIN2>" in admins_only(["U0ADMIN", "U0ADMIN2"])["text"]
    assert "`/ai-audit request 42`" in admins_only(["U0ADMIN"])["text"]
    many = admins_only([f"U0ADMIN{i}" for i in range(500)])
    assert len(many["blocks"][0]["text"]["text"]) <= TEXT_LIMIT


@pytest.mark.parametrize("cursor, words", [(0, ""), (41, "actor:U0MARA"), (2**31 - 1, largest_filter()),
                                           (5, "entity:approval_request:42 since:2026-11-01T00:00:00Z")])
def test_page_values_round_trip(cursor, words):
    assert parse_page_value(page_value(cursor, words)) == (cursor, words)


@pytest.mark.parametrize("value", [None, "", 12, "abc", "-1:", "+1:", "1", "١:", "9" * 20 + ":",
                                   f"{2**31}:", "1.5:x", " 1:x", "1:" + "x" * VALUE_LIMIT])
def test_page_values_we_never_build_are_refused(value):
    with pytest.raises(ButtonValueError) as raised:
        parse_page_value(value)
    assert raised.value.message == NOT_OURS


def test_the_largest_page_text_fits_each_section():
    message = log_page([largest_event(i) for i in range(PAGE)], title="t", filter_text="", newer=False,
                       older=False, tz="UTC")
    for raw in message["blocks"]:
        Block.parse(raw).validate_json()
        if raw["type"] == "section":
            assert len(raw["text"]["text"]) <= TEXT_LIMIT


@pytest.mark.parametrize("ok", [True, False])
def test_a_verify_answer_is_valid_and_says_which_it_is(ok):
    message = verify_answer(ok, "OK: 12 events" if ok else "FAILED at seq 4: leaf hash mismatch — " + "<" * 4000,
                            ["signatures not checked"] * 500)
    assert_valid_message(message)
    assert ("verifies." in message["text"]) is ok and ("does *not* verify" in message["text"]) is not ok


def test_a_checkpoint_answer_holds_the_note_verbatim_and_fits():
    note = "countersign/audit\n12\nq83vEjRoXpTlkGGmJj4LvnkNqFs3i8ZGUBpF6X2T3Zk=\n\n— countersign/audit AbCd\n"
    message = checkpoint_answer(12, "ab" * 32, note)
    assert_valid_message(message)
    assert f"```{note}```" in [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert_valid_message(checkpoint_answer(2**40, "&" * 64, "<" * 10_000))
