"""The usage alert message at its largest and in each state: valid Block Kit within Slack's
limits, the buttons each state allows with values that read back, telemetry text escaped."""

from __future__ import annotations

import pytest

from blocks import values
from blocks.usage_alerts import (
    ACKNOWLEDGE,
    OPEN_INCIDENT,
    RULE_TITLES,
    alert_value,
    parse_alert_value,
    usage_alert,
)
from services.usage.rules import RULES
from tests.harness.markup import live, text_objects
from tests.unit.test_blocks import assert_valid_message

AT = "2026-12-01T09:00:00+00:00"
HOSTILE = "<!channel> <@U999> <https://evil|x> & *bold*"


def alert(status: str = "open", **evidence) -> dict:  # noqa: ANN003
    return {"id": 7, "rule": "undocumented_model", "key": "openai/gpt-4o", "day": "2026-12-01",
            "summary": "gpt-4o (openai) was used, but no approved use case documents it.",
            "evidence": {"events": 3, "first_seen": AT, "last_seen": AT, "services": ["support-bot"],
                         "people": ["U0ALICE"], "models": ["gpt-4o"], "providers": ["openai"],
                         "use_cases": ["UC-1"], **evidence},
            "status": status, "decided_by": "U0BOB" if status != "open" else None,
            "decided_at": AT if status != "open" else None,
            "incident_id": 12 if status == "incident" else None, "raised_at": AT,
            "timezone": "Europe/Berlin"}


def largest() -> dict:
    """Every list at its ten names of 200 characters (of which the most escaping ones), every
    detail present."""
    names = [("&<>" * 70)[:200]] * 10
    return {**alert(services=names, people=names, models=names, providers=names, use_cases=names,
                    more={k: 5000 for k in ("services", "people", "models", "providers", "use_cases")},
                    reasons=["x" * 300] * 5, problem="p" * 500, median="123456", today=99999,
                    redactions={"email": 10**9, "phone": 1, "card": 2, "iban": 3}, vendors=["V-1"] * 50),
            "summary": "&" * 1000, "rule": "r" * 32, "key": "k" * 500}


SAMPLES = {"usage_alert": largest()}


def buttons(message: dict) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in message["blocks"] if b["type"] == "actions"
            for e in b["elements"]}


@pytest.mark.parametrize("status", ["open", "acknowledged", "incident"])
def test_each_state_is_valid_and_offers_only_what_it_allows(status) -> None:  # noqa: ANN001
    message = usage_alert(alert(status))
    assert_valid_message(message)
    expected = {"open": {ACKNOWLEDGE, OPEN_INCIDENT}, "acknowledged": {OPEN_INCIDENT}, "incident": set()}
    assert set(buttons(message)) == expected[status]
    assert all(parse_alert_value(v) == 7 for v in buttons(message).values())
    context = next(b for b in message["blocks"] if b["type"] == "context")["elements"][0]["text"]
    if status == "acknowledged":
        assert context.startswith(":eyes: Acknowledged by <@U0BOB> <!date^")
    elif status == "incident":
        assert "AI incident #12 opened by <@U0BOB>" in context
    else:
        assert "usage alert #7" in context and "`undocumented_model`" in context


def test_the_evidence_is_shown_who_what_where_how_many_and_when() -> None:
    text = "\n".join(text_objects(usage_alert(alert(median="10", today=31)), "mrkdwn"))
    for shown in ("*Services:* support-bot", "*People:* <@U0ALICE>", "*Models:* gpt-4o",
                  "*Providers:* openai", "*Use cases:* UC-1", "*Calls:* 3",
                  "first seen <!date^1796115600^{date_short_pretty} {time}|2026-12-01 10:00 CET>",
                  "*Daily median:* 10", "*That day:* 31"):
        assert shown in text


def test_the_largest_alert_stays_within_limits_and_counts_what_it_left_out() -> None:
    message = usage_alert(largest())
    assert_valid_message(message)
    evidence = next(b for b in message["blocks"] if b["type"] == "section"
                    and b["text"]["text"].startswith("*Services:*"))["text"]["text"]
    assert "*Services:* " in evidence and " more" in evidence
    assert len(evidence) <= 3000


def test_every_rule_has_a_title() -> None:
    assert set(RULE_TITLES) == set(RULES)


def test_telemetry_text_is_escaped() -> None:
    message = usage_alert({**alert(services=[HOSTILE], people=[HOSTILE], models=[HOSTILE],
                                   reasons=[HOSTILE], redactions={HOSTILE: 1}),
                           "summary": HOSTILE, "day": HOSTILE, "rule": HOSTILE})
    assert_valid_message(message)
    assert live(message, ("<!channel", "<@U999", "<https://evil")) == []


@pytest.mark.parametrize("value", [None, "", "x", "7:8", "0", "-1", "99999999999", "７"])
def test_a_button_value_we_did_not_build_is_refused(value) -> None:  # noqa: ANN001
    with pytest.raises(values.ButtonValueError):
        parse_alert_value(value)
    assert parse_alert_value(alert_value(2**31 - 1)) == 2**31 - 1
