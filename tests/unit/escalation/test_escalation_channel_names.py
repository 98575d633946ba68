"""Incident channel names: ai-inc-<yyyymmdd>-<slug>, Slack-safe, at most 80 characters."""

from datetime import date

import pytest

from escalation.channel import NAME_MAX, channel_name, slug

DAY = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Prompt injection in support bot", "prompt-injection-in-support-bot"),
        ("  PII leaked -> vendor (Acme AI)!! ", "pii-leaked-vendor-acme-ai"),
        ("Café résumé déjà vu", "cafe-resume-deja-vu"),
        ("モデル障害", ""),
        ("a__b..c", "a-b-c"),
    ],
)
def test_slug(title, expected):
    assert slug(title) == expected


def test_names_carry_the_date_and_a_number_from_the_second_on():
    assert channel_name(DAY, "Data leak") == "ai-inc-20260302-data-leak"
    assert channel_name(DAY, "Data leak", 2) == "ai-inc-20260302-data-leak-2"
    assert channel_name(DAY, "モデル障害") == "ai-inc-20260302-incident"


@pytest.mark.parametrize("number", [1, 2, 10, 123])
def test_long_titles_are_cut_to_80_characters_with_room_for_the_number(number):
    name = channel_name(DAY, "word " * 60, number)
    assert len(name) <= NAME_MAX
    assert not name.startswith("-") and "--" not in name
    assert name.endswith(f"-{number}") if number > 1 else name.endswith("word")
