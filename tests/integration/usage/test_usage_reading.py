"""The usage views on a real database (SQLite, or PostgreSQL with TEST_DATABASE_URL): a use
case's observed models beside its documented ones, `/ai-audit usage`'s totals and filters, the
week's new models and alerts, open alerts — and days older than USAGE_RETENTION read from
usage_daily rather than from raw events that may have expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest

from models.registry import UseCase
from models.usage import UsageAlert, UsageDaily, UsageFirstSeen
from services.playbook.schema import Usage
from services.usage import views
from services.usage.event import Observation
from services.usage.store import store

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
BERLIN = ZoneInfo("Europe/Berlin")
USAGE = Usage.model_validate({"services": {"copy-*": "UC-1", "support-bot": "UC-2"},
                              "people": {"alice@acme.example": "U0ALICE"}})
_KEYS = count()


def call(at: datetime, model: str, *, provider: str | None = "openai", service: str | None = "app",
         user: str | None = "U0BOB", use_case: str | None = None, tokens: tuple[int, int] = (100, 20),
         cost: float | None = 0.01) -> Observation:
    return Observation(key=f"native:{next(_KEYS)}", source="native", started_at=at, request_model=model,
                       provider=provider, service=service, user=user, use_case=use_case,
                       input_tokens=tokens[0], output_tokens=tokens[1], cost_usd=cost)


def ingest(db, *calls: Observation) -> None:
    with db.session() as s:
        store(s, list(calls), source="native", ingested_by="test", now=NOW)


def use_case(db, *models: str) -> int:
    """A use case documenting `models` ("provider / model / version" lines)."""
    lines = [dict(zip(("provider", "model", "version", "hosting"), [*m.split(" / "), "", "", ""][:4],
                      strict=True)) for m in models]
    with db.session() as s:
        record = UseCase(title="Copy drafts", owner="U0OWN", models=lines, created_by="U0OWN",
                         created_at=NOW, updated_at=NOW, next_review_at=NOW + 90 * DAY)
        s.add(record)
        s.flush()
        return record.id


def add(db, *rows) -> None:
    with db.session() as s:
        s.add_all(rows)


def daily(day: str, model: str, events: int, *, user: str = "U0BOB", service: str = "app",
          provider: str = "openai", use_case: str = "") -> UsageDaily:
    at = datetime.fromisoformat(f"{day}T12:00:00+00:00")
    return UsageDaily(day=day, model=model, provider=provider, user_id=user, service=service,
                      use_case=use_case, events=events, input_tokens=10 * events, output_tokens=events,
                      cost_usd=0.5 * events, first_at=at, last_at=at)


def alert(rule: str, at: datetime, status: str = "open", summary: str = "x") -> UsageAlert:
    return UsageAlert(rule=rule, key=f"{rule}:{next(_KEYS)}", day=at.date().isoformat(), raised_at=at,
                      status=status, summary=summary)


def read(db, fn, *args, **kwargs):
    with db.session() as s:
        return fn(s, *args, **kwargs)


# --- a use case: observed beside documented ---------------------------------------------------------


def test_observed_models_and_services_beside_the_documented_ones(db):
    uc = use_case(db, "OpenAI / gpt-4o / 2024-08-06", "Anthropic / claude-3-opus")
    ingest(db,
           *[call(NOW - n * DAY, "gpt-4o-2024-08-06", service="support-bot", use_case="UC-1") for n in (1, 2, 3)],
           # No use case named: the playbook maps copy-writer to UC-1.
           call(NOW - 4 * DAY, "gpt-4o-mini", service="copy-writer"),
           call(NOW - 2 * DAY, "gpt-4o-mini", service="copy-writer"),
           # Not UC-1's: too old, another use case named, another service's mapping.
           call(NOW - 31 * DAY, "gpt-3.5-turbo", use_case="UC-1"),
           call(NOW - DAY, "llama-3", service="copy-writer", use_case="UC-2"),
           call(NOW - DAY, "llama-3", service="support-bot"))
    seen = read(db, views.observed_for_use_case, uc, now=NOW, usage=USAGE, tz=BERLIN)
    assert seen["use_case"] == "UC-1" and seen["events"] == 5
    assert [(m["model"], m["provider"], m["events"], m["documented"]) for m in seen["models"]] == [
        ("gpt-4o-2024-08-06", "openai", 3, True), ("gpt-4o-mini", "openai", 2, False)]
    assert [(s["service"], s["events"], s["last_seen"]) for s in seen["services"]] == [
        ("support-bot", 3, (NOW - DAY).isoformat()), ("copy-writer", 2, (NOW - 2 * DAY).isoformat())]
    assert [(e["model"], e["observed"], e["events"], e["last_seen"]) for e in seen["documented_seen"]] == [
        ("gpt-4o", ["gpt-4o-2024-08-06"], 3, (NOW - DAY).isoformat())]
    assert [m["model"] for m in seen["undocumented"]] == ["gpt-4o-mini"]  # another model, not a version
    assert [(e["provider"], e["model"]) for e in seen["not_seen"]] == [("Anthropic", "claude-3-opus")]


def test_documented_names_match_without_regard_to_case_and_need_the_same_provider(db):
    uc = use_case(db, "OpenAI / GPT-4o", "Azure OpenAI / o1")
    ingest(db, call(NOW - DAY, "gpt-4o", use_case="UC-1"), call(NOW - DAY, "o1", provider="openai", use_case="UC-1"))
    seen = read(db, views.observed_for_use_case, uc, now=NOW)
    assert [m["model"] for m in seen["undocumented"]] == ["o1"]  # documented at Azure, used at OpenAI
    assert [e["model"] for e in seen["documented_seen"]] == ["GPT-4o"]


def test_a_use_case_nothing_was_seen_for(db):
    uc = use_case(db, "OpenAI / gpt-4o")
    ingest(db, call(NOW - DAY, "gpt-4o", use_case="UC-99"))
    seen = read(db, views.observed_for_use_case, f"UC-{uc}", now=NOW)
    assert (seen["events"], seen["models"], seen["services"], seen["documented_seen"]) == (0, [], [], [])
    assert [e["model"] for e in seen["not_seen"]] == ["gpt-4o"]


# --- /ai-audit usage ------------------------------------------------------------------------------


@pytest.fixture
def week_of_calls(db):
    ingest(db,
           *[call(NOW - n * DAY, "gpt-4o-2024-08-06", user="U0BOB", service="app") for n in range(1, 5)],
           call(NOW - DAY, "gpt-4o-mini", user="alice@acme.example", service="copy-writer", cost=None),
           call(NOW - 2 * DAY, "claude-3-5-sonnet", provider="anthropic", user="U0ALICE", service="copy-writer",
                use_case="UC-7", tokens=(1000, 500), cost=0.25),
           call(NOW - DAY, "gpt-4o", user=None, service=None),
           call(NOW - 8 * DAY, "gpt-4o", user="U0CAROL"),  # before the window
           call(NOW, "gpt-4o", user="U0CAROL"))  # at its end: [since, until)


def test_the_summary_counts_calls_people_services_tokens_and_cost(db, week_of_calls):
    got = read(db, views.summary, since=NOW - 7 * DAY, until=NOW, usage=USAGE)
    assert (got["events"], got["people"], got["services"]) == (7, 2, 2)  # alice counted once, by Slack id
    assert (got["input_tokens"], got["output_tokens"]) == (1600, 620)
    assert got["cost_usd"] == pytest.approx(0.30)
    assert [(m["model"], m["events"]) for m in got["top_models"]] == [
        ("gpt-4o-2024-08-06", 4), ("claude-3-5-sonnet", 1), ("gpt-4o", 1), ("gpt-4o-mini", 1)]
    assert got["top_people"] == [{"user": "U0BOB", "events": 4}, {"user": "U0ALICE", "events": 2}]
    assert got["by_day_through"] is None


def test_the_summary_filters_by_model_person_and_use_case(db, week_of_calls):
    def ask(**filters):
        return read(db, views.summary, since=NOW - 7 * DAY, until=NOW, usage=USAGE, **filters)

    # gpt-4o covers its dated version, not gpt-4o-mini.
    assert ask(model="GPT-4o")["events"] == 5
    assert {m["model"] for m in ask(model="gpt-4o")["top_models"]} == {"gpt-4o", "gpt-4o-2024-08-06"}
    assert ask(model="gpt-4")["events"] == 0
    # A Slack user, and the telemetry ids the playbook maps to them.
    alice = ask(user="U0ALICE")
    assert (alice["events"], alice["people"], alice["top_people"]) == (2, 1, [{"user": "U0ALICE", "events": 2}])
    assert ask(user="alice@acme.example")["events"] == 1
    # UC-1: copy-writer's calls that name no use case; the one naming UC-7 is UC-7's.
    assert ask(use_case="UC-1")["events"] == 1
    assert ask(use_case="uc-7")["events"] == 1
    assert ask(use_case="UC-1", model="claude-3-5-sonnet")["events"] == 0


def test_days_past_the_retention_come_from_the_daily_counters(db):
    raw_from = NOW - 180 * DAY  # 2026-06-13 09:00 UTC, 11:00 in Berlin
    add(db, daily("2026-06-01", "gpt-4o", 10), daily("2026-06-13", "gpt-4o", 3, user="U0OLD"),
        daily("2026-06-14", "gpt-4o", 1000),  # raw events still answer for this day
        daily("2026-05-01", "gpt-4o", 7))  # before the window
    ingest(db, call(raw_from - DAY, "gpt-4o"),  # already counted in its day: not again
           call(datetime(2026, 6, 14, 8, tzinfo=UTC), "gpt-4o"),
           call(NOW - DAY, "claude-3", provider="anthropic"))
    got = read(db, views.summary, since=NOW - 200 * DAY, until=NOW, raw_from=raw_from, tz=BERLIN)
    assert got["events"] == 10 + 3 + 2
    assert got["by_day_through"] == "2026-06-13"
    assert (got["people"], got["input_tokens"]) == (2, 130 + 200)
    assert [(m["model"], m["events"]) for m in got["top_models"]] == [("gpt-4o", 14), ("claude-3", 1)]
    inside = read(db, views.summary, since=NOW - 30 * DAY, until=NOW, raw_from=raw_from, tz=BERLIN)
    assert (inside["events"], inside["by_day_through"]) == (1, None)


# --- the week ---------------------------------------------------------------------------------------


def test_the_week_names_models_first_seen_in_it_and_counts_alerts_by_rule(db):
    since = NOW - 7 * DAY
    ingest(db, call(NOW - DAY, "gpt-4o"), call(NOW - 10 * DAY, "gpt-4o"),  # seen before
           call(NOW - 2 * DAY, "claude-3", provider="anthropic"), call(NOW - DAY, "claude-3", provider="anthropic"),
           call(NOW - DAY, "mistral-large", provider="mistral"),
           call(NOW - DAY, "o1"), call(NOW - DAY, "gemini-2"))
    add(db, daily((NOW - 40 * DAY).date().isoformat(), "o1", 2),  # its raw events expired
        UsageFirstSeen(who="service:app", model="gemini-2", at=NOW - 20 * DAY),
        alert("first_use", NOW - DAY), alert("first_use", NOW - 2 * DAY, status="acknowledged"),
        alert("volume", NOW - 3 * DAY), alert("volume", since - DAY))
    got = read(db, views.week, since=since, until=NOW, tz=BERLIN)
    assert (got["events"], got["people"]) == (6, 1)
    assert [(m["model"], m["provider"], m["events"], m["first_seen"]) for m in got["new_models"]] == [
        ("claude-3", "anthropic", 2, (NOW - 2 * DAY).isoformat()),
        ("mistral-large", "mistral", 1, (NOW - DAY).isoformat())]
    assert got["new_models_total"] == 2
    assert got["alerts"] == [{"rule": "first_use", "count": 2}, {"rule": "volume", "count": 1}]
    assert got["alerts_total"] == 3
    assert got["top_models"][0]["model"] in ("claude-3", "gpt-4o")


def test_a_quiet_week(db):
    got = read(db, views.week, since=NOW - 7 * DAY, until=NOW)
    assert (got["events"], got["people"], got["top_models"], got["new_models"], got["alerts_total"]) == (0, 0, [], [], 0)


def test_open_alerts_newest_first(db):
    add(db, *[alert("volume", NOW - n * DAY, summary=f"alert {n}") for n in range(1, 8)],
        alert("first_use", NOW, status="acknowledged"), alert("first_use", NOW, status="incident"))
    got = read(db, views.open_alerts, limit=3)
    assert got["total"] == 7
    assert [a["summary"] for a in got["items"]] == ["alert 1", "alert 2", "alert 3"]
    assert got["items"][0]["raised_at"] == (NOW - DAY).isoformat()


def test_the_teams_digest_carries_the_week_and_a_personal_one_does_not(db):
    from services.registry import digest

    ingest(db, call(NOW - DAY, "gpt-4o", user="alice@acme.example"), call(NOW - 8 * DAY, "gpt-4o"))
    add(db, alert("not_allowed", NOW - DAY))
    with db.session() as s:
        team = digest.build(s, now=NOW, soon=7 * DAY, usage=USAGE, tz=BERLIN)
        mine = digest.build(s, now=NOW, soon=7 * DAY, usage=USAGE, tz=BERLIN, user="U0ALICE")
    assert (team["usage"]["events"], team["usage"]["people"], team["usage"]["alerts_total"]) == (1, 1, 1)
    assert team["usage"]["new_models"] == []  # gpt-4o was seen the week before
    assert mine["usage"] is None
