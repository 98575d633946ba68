"""fields.clean: every kind of field refuses bad input in words the form can show."""

from datetime import date, timedelta

import pytest

from services.registry import fields
from services.registry.fields import clean, format_models, parse_models

TODAY = date(2026, 3, 2)

USECASE = {"title": "Support bot", "description": "Answers tickets", "owner": "U0OWN", "audience": "external",
           "purpose": "Speed", "risk_tier": "high", "models": "OpenAI / gpt-4o"}
VENDOR = {"name": "OpenAI", "provides": "LLM API", "trains_on_our_data": "no", "deployment": "cloud",
          "injection_tested": "passed", "risk_level": "high", "review_status": "not_started",
          "assignee": "U0ASSIGN"}


def errors_of(kind: str, raw: dict, *, partial: bool = True) -> dict[str, str]:
    return clean(kind, raw, today=TODAY, partial=partial)[1]


def test_a_full_use_case_is_cleaned_to_plain_values():
    values, errors = clean("usecase", {**USECASE, "title": "  Support bot  ", "contributors": ["U0A", "U0A", "W0B"],
                                       "vendors": ["3", 1, 3]}, today=TODAY, partial=False)
    assert errors == {}
    assert values["title"] == "Support bot"
    assert values["contributors"] == ["U0A", "W0B"]
    assert values["vendors"] == [3, 1]
    assert values["models"] == [{"provider": "OpenAI", "model": "gpt-4o", "version": "", "hosting": ""}]


def test_full_cleaning_names_every_missing_required_field_shown_on_the_first_form():
    assert errors_of("usecase", {}, partial=False) == {
        "title": "Title is missing: name the use case in a few words.",
        "description": "Description is missing: say what the AI does here.",
        "owner": "Owner is missing: choose who answers for this record.",
        "audience": "Audience is missing: choose internal or external.",
        "purpose": "Purpose and justification is missing: say why AI is used here and why that is justified.",
        "risk_tier": "Risk tier is missing: choose a risk tier.",
    }
    assert sorted(errors_of("vendor", {}, partial=False)) == [
        "assignee", "deployment", "injection_tested", "name", "provides", "review_status", "risk_level",
        "trains_on_our_data"]


def test_partial_cleaning_leaves_absent_fields_alone():
    assert clean("usecase", {"drift": " seasonal "}, today=TODAY, partial=True) == ({"drift": "seasonal"}, {})
    # A field that is present must still be valid, even when partial.
    assert errors_of("usecase", {"title": "   "}) == {"title": "Title is missing: name the use case in a few words."}


def test_over_long_text_says_how_long_and_the_limit():
    assert errors_of("usecase", {"title": "x" * 151}) == {
        "title": "Title is 151 characters long; the limit is 150."}
    assert errors_of("usecase", {"title": "x" * 150}) == {}
    assert errors_of("usecase", {"description": "y" * 3001}) == {
        "description": "Description is 3001 characters long; the limit is 3000."}


def test_text_that_is_not_a_string_is_refused():
    assert errors_of("usecase", {"drift": 42}) == {"drift": "Drift sensitivity must be text."}


def test_a_value_outside_the_choices_lists_the_choices():
    assert errors_of("usecase", {"risk_tier": "critical"}) == {
        "risk_tier": "“critical” is not a choice for Risk tier; choose one of prohibited, high, limited, minimal."}
    assert errors_of("usecase", {"audience": ""}) == {"audience": "Audience is missing: choose internal or external."}
    assert errors_of("vendor", {"review_status": "done"}) == {
        "review_status": "“done” is not a choice for Review status; choose one of not_started, in_review, "
                         "reviewed, requires_follow_up, rejected."}


@pytest.mark.parametrize("bad", ["bad", "u0own", "C0CHANNEL", "U0", "U" + "A" * 32, 17])
def test_a_user_must_be_a_slack_user_id(bad):
    assert errors_of("usecase", {"owner": bad}) == {"owner": "Owner must be a Slack user."}


def test_users_lists_refuse_any_bad_id_and_more_than_twenty():
    assert errors_of("usecase", {"contributors": ["U0OK", "nope"]}) == {
        "contributors": "Contributors must be Slack users."}
    many = [f"U0{i:03d}" for i in range(21)]
    assert errors_of("usecase", {"contributors": many}) == {
        "contributors": "21 people chosen for Contributors; at most 20."}
    assert clean("usecase", {"contributors": many[:20]}, today=TODAY, partial=True)[0]["contributors"] == many[:20]


def test_an_optional_user_may_be_empty():
    assert clean("vendor", {"reviewer": ""}, today=TODAY, partial=True) == ({"reviewer": None}, {})


@pytest.mark.parametrize("bad", ["openai.com", "ftp://openai.com", "https://", "https://open ai.com"])
def test_a_website_must_be_a_web_address(bad):
    assert errors_of("vendor", {"website": bad}) == {
        "website": "Website must be a web address starting with https:// or http://."}


def test_a_website_may_be_empty_or_http():
    values, errors = clean("vendor", {"website": "", "contact": "HTTP://x.example"}, today=TODAY, partial=True)
    assert (values, errors) == ({"website": "", "contact": "HTTP://x.example"}, {})
    assert clean("vendor", {"website": "HTTP://openai.com/x"}, today=TODAY, partial=True)[1] == {}


def test_models_are_parsed_line_by_line_skipping_blank_lines():
    text = "OpenAI / gpt-4o / 2024-08-06 / vendor cloud\n\n  Meta/Llama 3 / 70b  \n"
    assert parse_models(text) == [
        {"provider": "OpenAI", "model": "gpt-4o", "version": "2024-08-06", "hosting": "vendor cloud"},
        {"provider": "Meta", "model": "Llama 3", "version": "70b", "hosting": ""},
    ]
    assert parse_models("") == []


@pytest.mark.parametrize(("text", "line", "shown"), [
    ("justone", 1, "justone"),
    ("A / B\n / gpt", 2, "/ gpt"),
    ("A / B\n\nA / B / C / D / E", 3, "A / B / C / D / E"),
    ("A /  ", 1, "A /"),
])
def test_a_bad_models_line_is_named(text, line, shown):
    assert errors_of("usecase", {"models": text}) == {"models": (
        f"Line {line} (“{shown}”) is not “provider / model / version / hosting”: give at least a provider and "
        "a model, separated by “/”.")}


def test_at_most_twenty_models():
    lines = [f"P{i} / m{i}" for i in range(21)]
    assert errors_of("usecase", {"models": "\n".join(lines)}) == {"models": "21 models listed; at most 20."}
    assert len(clean("usecase", {"models": "\n".join(lines[:20])}, today=TODAY, partial=True)[0]["models"]) == 20


def test_the_models_text_has_its_own_limit():
    text = "\n".join(["Provider / model-name-xx"] * 100)  # 2,499 characters
    assert errors_of("usecase", {"models": text}) == {
        "models": f"Models used is {len(text)} characters long; the limit is 2000."}


def test_models_round_trip_through_their_text_form():
    models = [
        {"provider": "OpenAI", "model": "gpt-4o", "version": "2024-08-06", "hosting": "vendor cloud"},
        {"provider": "Meta", "model": "Llama 3", "version": "", "hosting": "on-prem"},
        {"provider": "Anthropic", "model": "Claude", "version": "", "hosting": ""},
    ]
    text = format_models(models)
    assert text == "OpenAI / gpt-4o / 2024-08-06 / vendor cloud\nMeta / Llama 3 /  / on-prem\nAnthropic / Claude"
    assert parse_models(text) == models
    assert format_models(None) == ""


@pytest.mark.parametrize("bad", [["x"], [None], [1, "two"], 5])
def test_links_must_be_record_numbers(bad):
    assert errors_of("usecase", {"vendors": bad}) == {"vendors": "Vendors must be record numbers."}


def test_at_most_fifty_links():
    assert errors_of("vendor", {"use_cases": list(range(1, 52))}) == {
        "use_cases": "51 records linked in Use cases relying on it; at most 50."}
    assert clean("vendor", {"use_cases": list(range(1, 51))}, today=TODAY, partial=True)[1] == {}


@pytest.mark.parametrize(("picked", "error"), [
    (TODAY, "Next review date must be after today (2026-03-02)."),
    (TODAY - timedelta(days=1), "Next review date must be after today (2026-03-02)."),
    ("2026-02-30", "Next review date must be a date like 2027-03-31."),
    ("next week", "Next review date must be a date like 2027-03-31."),
    (TODAY + timedelta(days=3 * 366 + 1), "Next review date is more than three years away; review sooner."),
])
def test_a_review_date_must_be_after_today_and_within_three_years(picked, error):
    assert errors_of("usecase", {"next_review": picked}) == {"next_review": error}


@pytest.mark.parametrize(("picked", "expected"), [
    (TODAY + timedelta(days=1), TODAY + timedelta(days=1)),
    ("2026-03-03", date(2026, 3, 3)),
    (TODAY + timedelta(days=3 * 366), TODAY + timedelta(days=3 * 366)),
    ("", None),
    (None, None),
])
def test_an_acceptable_review_date_becomes_a_date(picked, expected):
    assert clean("vendor", {"next_review": picked}, today=TODAY, partial=True) == ({"next_review": expected}, {})


def test_every_error_of_one_form_is_reported_at_once():
    errors = errors_of("usecase", {**USECASE, "title": "", "owner": "bad", "risk_tier": "x", "models": "one"},
                       partial=False)
    assert sorted(errors) == ["models", "owner", "risk_tier", "title"]


def test_every_field_has_one_spec_and_status_is_not_asked_on_the_first_form():
    for kind, specs in fields.FIELDS.items():
        names = [spec.name for spec in specs]
        assert len(names) == len(set(names)), kind
    assert fields.BY_NAME["usecase"]["status"].on_new is False
    # status is required but not on the first form: a full clean of a new record does not ask for it
    assert "status" not in errors_of("usecase", USECASE, partial=False)
    assert errors_of("vendor", VENDOR, partial=False) == {}
