"""The usage surfaces — a record's observed section, `/ai-audit usage`, the digest's and App
Home's week — at their largest and with hostile names: valid Block Kit within Slack's limits,
saying what they left out, and showing telemetry's names as text, never as markup."""

import json

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from blocks import usage as usage_blocks
from blocks.digest import registry_digest
from blocks.home import home_view
from blocks.registry import record_message
from tests.harness.markup import live, parsed_texts
from tests.unit.test_blocks import MESSAGE_BLOCKS, VIEW_BLOCKS, assert_valid_message
from tests.unit.test_registry_blocks import largest_digest, largest_record, summary as record_summary
from tests.unit.usage import usage_samples as samples

ESCAPED = "&lt;!channel&gt; *bold* &lt;@U999&gt;"


def shown(payload) -> str:
    return "\n".join(parsed_texts(payload))


def as_message(blocks: list) -> dict:
    return {"text": "x", "blocks": [b.to_dict() for b in blocks]}


def assert_names_are_text(payload) -> None:
    assert live(payload, ("<!channel", "<@U999", "<https://evil", "&lt;!here&gt;")) == []
    assert ESCAPED in shown(payload)  # shown, as typed: emphasis is not markup Slack pings with


@pytest.mark.parametrize("many", [1, 300])
def test_the_observed_section_of_the_largest_record_fits_one_message(many):
    view = {**largest_record("usecase"), "observed": samples.observed(many=many), "timezone": "Europe/Berlin"}
    message = record_message(view)
    assert_valid_message(message)
    assert len(message["blocks"]) <= MESSAGE_BLOCKS
    assert_names_are_text(message)
    text = shown(message)
    assert "*Observed in the last 30 days:* " in text
    assert ("…and 290 more" in text) is (many == 300)  # every list shows 10 and counts the rest


def test_the_observed_section_says_what_was_seen_beside_what_is_documented():
    observed = {"use_case": "UC-3", "days": 30, "since": samples.AT, "until": samples.AT, "events": 15,
                "models": [], "services": [{"service": "copy-writer", "events": 15, "last_seen": samples.AT}],
                "documented_seen": [samples.documented(observed=["gpt-4o-2024-08-06"], events=12)],
                "undocumented": [samples.model("claude-3-5-sonnet", "anthropic", events=3)],
                "not_seen": [samples.documented("text-embedding-3-small", version="")]}
    blocks = usage_blocks.observed_blocks(observed, tz="Europe/Berlin")
    for block in blocks:
        Block.parse(block.to_dict()).validate_json()
    text = shown(as_message(blocks))
    assert "15 AI calls attributed to UC-3" in text
    assert ("*Documented and seen*\n• OpenAI / gpt-4o / 2024-08-06 — seen as gpt-4o-2024-08-06 · "
            "12 calls, last 2026-12-10") in text  # the playbook's day, not UTC's
    assert "*Seen but not documented* (add them to the record, or find out why)\n• claude-3-5-sonnet (anthropic) · 3 calls" in text
    assert "*Documented but not seen in 30 days*\n• OpenAI / text-embedding-3-small" in text
    assert "*Services seen*\n• copy-writer · 15 calls, last 2026-12-10" in text


def test_a_use_case_nobody_reported_and_nothing_documented_says_so():
    empty = {"use_case": "UC-9", "days": 30, "since": samples.AT, "until": samples.AT, "events": 0,
             "models": [], "services": [], "documented_seen": [], "undocumented": [], "not_seen": []}
    text = shown(as_message(usage_blocks.observed_blocks(empty)))
    assert "0 AI calls attributed to UC-9" in text
    assert "No AI calls were reported for it, and its record documents no model." in text


def test_a_record_shown_without_usage_has_no_observed_section():
    assert "Observed in the last" not in json.dumps(record_message(largest_record("usecase")))


def test_the_usage_answer_has_totals_top_models_and_people():
    message = usage_blocks.summary_message(samples.summary(name="gpt-4o"), tz="Europe/Berlin")
    assert_valid_message(message)
    assert message["response_type"] == "ephemeral"
    text = shown(message)
    assert "2026-12-03 10:00 CET to 2026-12-10 10:00 CET · filter `model:gpt-4o user:gpt-4o usecase:UC-3`" in text
    assert ("*1,234 AI calls* by *7 people* and *3 services* · 123,456 tokens in, 7,890 out · "
            "$12.50 reported cost") in text
    assert "*Top models*\n1. gpt-4o-0 (gpt-4o) — 12 calls · 1,500 tokens · $0.01\n" in text
    assert "…and 35 more" in text  # 40 models, 5 shown
    assert "*Top people*\n1. <@U0BOB> — 9 calls\n2. gpt-4o — 3 calls" in text
    assert "Days through 2026-06-01 are counted from daily totals" in text
    assert message["text"].startswith("AI usage, 2026-12-03 10:00 CET to 2026-12-10 10:00 CET: 1,234 calls by 7 people")


def test_the_usage_answer_escapes_what_telemetry_named():
    message = usage_blocks.summary_message(samples.summary(), tz="UTC")
    assert_valid_message(message)
    assert_names_are_text(message)


def test_an_empty_window_says_nothing_was_reported():
    message = usage_blocks.summary_message({**samples.summary(events=0), "people": 1, "by_day_through": None})
    assert_valid_message(message)
    text = shown(message)
    assert "No AI calls were reported in this window." in text and "*1 person*" in text
    assert "Top models" not in text and "daily totals" not in text


def test_a_cost_below_a_cent_is_not_shown_as_nothing():
    message = usage_blocks.summary_message({**samples.summary(), "cost_usd": 0.0004})
    assert "$0.0004 reported cost" in shown(message)


def test_the_digest_gets_an_ai_usage_section_in_a_week_with_usage():
    message = registry_digest({**largest_digest(), "usage": samples.week(), "timezone": "Europe/Berlin"})
    assert_valid_message(message)
    assert_names_are_text(message)
    text = shown(message)
    assert ":robot_face: *AI usage this week*\n99 AI calls by 1 person\n*Top models:* " in text
    assert "(first 2026-12-10) +2 more" in text  # 7 new models, 5 named
    assert "*Alerts raised:* 4 — undocumented model 3 · " in text


@pytest.mark.parametrize("week, shown_", [(None, False), (samples.week(events=0, alerts=0), False),
                                          (samples.week(events=0, alerts=2), True),
                                          (samples.week(events=3, alerts=0), True)])
def test_the_digest_speaks_of_usage_only_when_there_was_some(week, shown_):
    message = registry_digest({**largest_digest(), "usage": week})
    assert_valid_message(message)
    assert ("AI usage this week" in shown(message)) is shown_


def test_a_week_of_alerts_without_calls_says_so_plainly():
    lines = usage_blocks.week_lines(samples.week(name="x", events=0, alerts=2))
    assert lines == ["0 AI calls by 1 person", "*Alerts raised:* 2 — undocumented model 1 · x 1"]


def test_app_home_shows_admins_the_week_and_the_open_alerts():
    view = home_view(usage={"week": samples.week(), "alerts": samples.open_alerts()}, tz="Europe/Berlin")
    View(**view).validate_json()
    assert_names_are_text(view)
    text = shown(view)
    assert "*AI usage, last 7 days*\n99 AI calls by 1 person" in text
    assert "*Open usage alerts* (12)\n• undocumented model · " in text and "…and 7 more" in text


def test_app_home_with_no_open_alert_says_so():
    view = home_view(usage={"week": samples.week(events=0, alerts=0), "alerts": {"total": 0, "items": []}})
    assert "No usage alert is open." in shown(view)
    assert "AI usage" not in shown(home_view())  # not an admin: no usage at all


def test_app_home_with_every_section_full_and_usage_stays_within_100_blocks():
    page = {"items": [record_summary(n=i) for i in range(10)], "total": 500, "offset": 10}
    incidents = {"items": [{"id": i, "title": "I", "severity": "sev1", "status": "open", "channel": "C0INC",
                            "acknowledged_by": None} for i in range(5)], "total": 50, "offset": 0}
    waiting = [{"id": i, "kind": "code", "audience": "internal", "title": "t", "reference": "r", "requester": "U0R",
                "revision": 1, "status": "pending", "approvals_count": 0,
                "policy": {"required": 2, "approvers": ["a"], "distinct_groups": False}} for i in range(11)]
    view = home_view(waiting=waiting, mine=waiting, notice="n", records=page,
                     vendors={**page, "items": page["items"][:5]}, incidents=incidents,
                     on_call=[("rot", "U0ON")], usage={"week": samples.week(), "alerts": samples.open_alerts()})
    View(**view).validate_json()
    assert len(view["blocks"]) <= VIEW_BLOCKS


def test_a_call_without_a_model_is_named_as_such():
    assert usage_blocks.model_label(None, "openai") == "_(no model named)_ (openai)"
    assert usage_blocks.model_label("a" * 500).endswith("…") and len(usage_blocks.model_label("a" * 500)) <= 80
