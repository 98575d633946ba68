"""Each watch rule: fires once per key per day and again the next day, not at all when the
playbook turns it off, and not for the near misses beside what it is after."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from models.registry import PROPOSED, REJECTED, RETIRED, REVIEWED
from services.usage.rules import RULES
from tests.integration.usage.usage_world import (
    ALERTS,
    DAY,
    T0,
    alerts,
    event,
    keys,
    observe,
    outbox_rows,
    playbook,
    use_case,
    vendor,
    watch,
    watch_all,
)

ALLOW = {"allow": [{"groups": ["writers"], "models": ["gpt-4o*"]}, {"services": ["batch-*"]},
                   {"groups": ["legal"], "models": ["claude-*"]}]}
EMAIL = "Reply to sam@example.org about the refund"


def _undocumented(db, day):  # noqa: ANN001, ANN202
    return [event(started_at=T0 + day, request_model="gpt-4o-mini"),
            event(started_at=T0 + day, request_model="claude-3-5-sonnet-20241022", provider="anthropic")]


def _unapproved(db, day):  # noqa: ANN001, ANN202
    return [event(started_at=T0 + day, use_case="UC-2"), event(started_at=T0 + day, use_case="UC-99")]


def _not_allowed(db, day):  # noqa: ANN001, ANN202
    return [event(started_at=T0 + day, user="U0BOB", service=None),
            event(started_at=T0 + day, request_model="claude-3-opus", provider="anthropic")]


def _personal(db, day):  # noqa: ANN001, ANN202
    return [event(started_at=T0 + day, use_case="UC-3", input_text=EMAIL)]


SCENARIOS: dict[str, tuple[Callable[[Any, Any], list], list[str], dict]] = {
    "undocumented_model": (_undocumented, ["anthropic/claude-3-5-sonnet-20241022", "openai/gpt-4o-mini"], {}),
    "unapproved_use_case": (_unapproved, ["UC-2", "UC-99"], {}),
    "not_allowed": (_not_allowed, ["user:U0ALICE|anthropic/claude-3-opus", "user:U0BOB"], ALLOW),
    "personal_data": (_personal, ["UC-3"], {}),
}


@pytest.fixture
def registry(db):  # noqa: ANN001, ANN201
    """UC-1 approved for gpt-4o, UC-2 proposed, UC-3 approved with no privacy notes."""
    assert use_case(db) == 1
    assert use_case(db, status=PROPOSED, title="Draft helper") == 2
    assert use_case(db, privacy="", title="Ticket tagger") == 3
    return db


@pytest.mark.parametrize("rule", sorted(SCENARIOS))
def test_a_rule_fires_once_per_key_per_day_and_again_the_next_day(registry, rule) -> None:  # noqa: ANN001
    db = registry
    events, expected, usage = SCENARIOS[rule]
    pb = playbook(rule, usage=usage)
    first = events(db, 0 * DAY)
    observe(db, *first)
    watched = watch(db, pb, now=T0)
    assert watched.events == len(first)
    assert sorted(keys(db)) == [(rule, k, "2026-12-01") for k in expected]
    assert len(watched.alerts) == len(expected)

    observe(db, *events(db, 0 * DAY), *events(db, 0 * DAY))  # the same things again that day
    watch(db, pb, now=T0 + DAY / 4)
    assert len(alerts(db)) == len(expected)

    observe(db, *events(db, DAY))
    watch(db, pb, now=T0 + DAY)
    assert sorted(keys(db)) == sorted([(rule, k, "2026-12-01") for k in expected]
                                      + [(rule, k, "2026-12-02") for k in expected])
    # Each raised alert is owed to the alert channel exactly once.
    messages = outbox_rows(db)
    assert len(messages) == 2 * len(expected)
    assert {m.channel for m in messages} == {ALERTS}
    assert {m.key for m in messages} == {f"usage_alert:{a.id}" for a in alerts(db)}


@pytest.mark.parametrize("rule", RULES)
def test_a_rule_turned_off_raises_nothing(registry, rule) -> None:  # noqa: ANN001
    db = registry
    on = [r for r in RULES if r != rule]
    pb = playbook(*on, usage=ALLOW, volume={"factor": 2, "min_events": 1} if "volume" in on else False)
    _history(db, [1, 1, 1, 1], service="quiet-job")
    observe(db, *[event(user=None, service="quiet-job") for _ in range(10)])  # 10 × a day's 1
    for make in (_undocumented, _unapproved, _not_allowed, _personal):
        observe(db, *make(db, 0 * DAY))
    watch_all(db, pb)
    # Every other rule fired on these events: the rule left out was what was off.
    assert {a.rule for a in alerts(db)} == set(on)


# --- near misses -------------------------------------------------------------------------------


def test_undocumented_model_matches_versions_and_providers_but_not_other_models(registry) -> None:  # noqa: ANN001
    db = registry
    use_case(db, status=PROPOSED, models="Anthropic / claude-3-opus")  # proposed: documents nothing
    pb = playbook("undocumented_model")
    documented = [event(request_model=m) for m in (
        "gpt-4o", "GPT-4o", "gpt-4o-2024-08-06", "openai/gpt-4o", "gpt-4o@2024-08-06", "gpt-4o-latest")]
    documented.append(event(request_model="gpt-4o", provider=None))  # no provider: the model decides
    documented.append(event(request_model="gpt-4o", provider="OpenAI"))
    observe(db, *documented)
    watch(db, pb)
    assert keys(db) == []
    observe(db, event(request_model="gpt-4o-mini"), event(request_model="gpt-4o", provider="azure"),
            event(request_model="claude-3-opus", provider="anthropic"),
            event(request_model="gpt-4o-2024-08-06-preview"))
    watch(db, pb)
    assert sorted(k for _, k, _ in keys(db)) == [
        "anthropic/claude-3-opus", "azure/gpt-4o", "openai/gpt-4o-2024-08-06-preview", "openai/gpt-4o-mini"]
    mini = next(a for a in alerts(db) if a.key == "openai/gpt-4o-mini")
    assert mini.evidence["models"] == ["gpt-4o-mini"] and mini.evidence["events"] == 1
    assert mini.evidence["services"] == ["support-bot"] and mini.evidence["people"] == ["U0ALICE"]
    assert mini.evidence["use_cases"] == ["UC-1"]  # attributed through usage.services
    assert mini.evidence["first_seen"] == T0.isoformat() == mini.evidence["last_seen"]


def test_undocumented_model_counts_a_vendor_nobody_reviewed(registry) -> None:  # noqa: ANN001
    db = registry
    pb = playbook("undocumented_model")
    vendor(db, "OpenAI Ireland Ltd", "in_review")
    observe(db, event(), event(provider=None))  # no provider named: no vendor to judge
    watch(db, pb)
    [alert] = alerts(db)
    assert alert.key == "openai/gpt-4o"
    assert alert.evidence["reasons"] == ["its vendor V-1 OpenAI Ireland Ltd is in review"]
    assert "V-1" in alert.summary and "no approved use case" not in alert.summary
    # One of its vendor records reviewed: the provider is reviewed.
    vendor(db, "OpenAI", REVIEWED)
    observe(db, event(started_at=T0 + DAY))
    watch(db, pb, now=T0 + DAY)
    assert len(alerts(db)) == 1


def test_unapproved_use_case_near_misses(registry) -> None:  # noqa: ANN001
    db = registry
    due_tomorrow = use_case(db, next_review_at=T0 + DAY)
    overdue = use_case(db, next_review_at=T0 - DAY)
    rejected = use_case(db, status=REJECTED)
    retired = use_case(db, status=RETIRED)
    prohibited = use_case(db, risk_tier="prohibited")
    pb = playbook("unapproved_use_case")
    observe(db, event(use_case=f"UC-{due_tomorrow}"), event(use_case="uc-1"), event(service="support-x"))
    watch(db, pb)
    assert keys(db) == []
    observe(db, *[event(use_case=f"UC-{n}") for n in (overdue, rejected, retired, prohibited)],
            event(use_case="support"))
    watch(db, pb)
    found = {a.key: a.evidence["problem"] for a in alerts(db)}
    assert found == {f"UC-{overdue}": "is overdue for review (due 2026-11-30)",
                     f"UC-{rejected}": "is rejected, not approved",
                     f"UC-{retired}": "is retired, not approved",
                     f"UC-{prohibited}": "is in the prohibited risk tier",
                     "support": "is not in the registry"}


def test_not_allowed_near_misses(registry) -> None:  # noqa: ANN001
    db = registry
    pb = playbook("not_allowed", usage=ALLOW)
    observe(db,
            event(),  # alice (writers, through usage.people) on gpt-4o*
            event(request_model="gpt-4o-mini", user="U0ALICE"),
            event(user=None, service="batch-nightly", request_model="anything"),  # a granted service
            event(user="U0CAROL", service="batch-nightly", request_model="o3"),  # through the service
            event(user="U0LAWYER", service=None, request_model="claude-3-opus"))  # legal is unresolved
    watch(db, pb, unresolved=frozenset({"legal"}))
    assert keys(db) == []
    observe(db, event(user=None, service="cron-job"), event(user=None, service=None))
    watch(db, pb)
    assert sorted(k for _, k, _ in keys(db)) == ["anonymous", "service:cron-job"]
    # Without grants there is nothing to be outside of.
    observe(db, event(user="U0BOB", service=None, started_at=T0 + DAY))
    watch(db, playbook("not_allowed"), now=T0 + DAY)
    assert len(alerts(db)) == 2


def test_first_use_is_once_ever_and_remembered_while_off(db) -> None:  # noqa: ANN001
    observe(db, event(request_model="o3"))
    watch(db, playbook())  # first_use off: nothing raised, the pairs remembered all the same
    on = playbook("first_use")
    observe(db, event(request_model="o3"), event())
    watch(db, on)
    assert sorted(k for _, k, _ in keys(db)) == ["service:support-bot|gpt-4o", "user:U0ALICE|gpt-4o"]
    observe(db, event(started_at=T0 + DAY), event(started_at=T0 + 2 * DAY, service="other-bot"))
    watch(db, on, now=T0 + 2 * DAY)
    # other-bot was never seen before: its first use is one alert about it, not one per model.
    assert sorted(keys(db)) == [("first_use", "service:other-bot", "2026-12-03"),
                                ("first_use", "service:support-bot|gpt-4o", "2026-12-01"),
                                ("first_use", "user:U0ALICE|gpt-4o", "2026-12-01")]
    first = alerts(db)[0]
    assert first.summary == "service:support-bot used gpt-4o (openai) for the first time."


def test_a_caller_never_seen_before_raises_one_first_use_naming_its_models(db) -> None:  # noqa: ANN001
    on = playbook("first_use")
    observe(db, *[event(user=None, service="new-bot", request_model=f"model-{n:02d}")
                  for n in range(25)])
    watch(db, on)
    [alert] = alerts(db)
    assert (alert.rule, alert.key) == ("first_use", "service:new-bot")
    assert alert.summary == ("service:new-bot used AI for the first time: model-00, model-01, "
                             "model-02, model-03, model-04, model-05, model-06, model-07, "
                             "model-08, model-09 and 15 more.")
    observe(db, event(user=None, service="new-bot", request_model="model-99"))
    watch(db, on)  # now known: its next new model is an alert of its own
    assert sorted(a.key for a in alerts(db)) == ["service:new-bot", "service:new-bot|model-99"]


def _history(db, per_day: list[int], *, service: str = "busy-job") -> None:  # noqa: ANN001
    for back, n in zip(range(len(per_day), 0, -1), per_day, strict=True):
        observe(db, *[event(started_at=T0 - back * DAY, user=None, service=service) for _ in range(n)])


def test_volume_fires_over_factor_times_the_median_and_again_the_next_day(db) -> None:  # noqa: ANN001
    pb = playbook(volume={"factor": 3, "min_events": 20})
    _history(db, [10, 0, 10, 9, 11])  # active days 10, 10, 9, 11: median 10
    observe(db, *[event(user=None, service="busy-job") for _ in range(30)])
    watch_all(db, pb)
    assert keys(db) == []  # 30 is not over 3 × 10
    observe(db, event(user=None, service="busy-job"))
    watch(db, pb)
    [alert] = alerts(db)
    assert (alert.rule, alert.key, alert.day) == ("volume", "service:busy-job", "2026-12-01")
    assert (alert.evidence["today"], alert.evidence["median"], alert.evidence["active_days"]) == (31, "10", 4)
    observe(db, *[event(user=None, service="busy-job") for _ in range(10)])
    watch(db, pb)
    assert len(alerts(db)) == 1
    observe(db, *[event(started_at=T0 + DAY, user=None, service="busy-job") for _ in range(35)])
    watch(db, pb, now=T0 + DAY)
    assert [a.day for a in alerts(db)] == ["2026-12-01", "2026-12-02"]


def test_volume_needs_enough_events_and_enough_history(db) -> None:  # noqa: ANN001
    pb = playbook(volume={"factor": 3, "min_events": 20})
    _history(db, [1, 1, 1], service="small-job")
    observe(db, *[event(user=None, service="small-job") for _ in range(19)])  # under min_events
    _history(db, [5, 5], service="new-job")
    observe(db, *[event(user=None, service="new-job") for _ in range(50)])  # two days of history
    _history(db, [5] * 15 + [0] * 14, service="old-job")  # active only before the 14 days
    observe(db, *[event(user=None, service="old-job") for _ in range(50)])
    watch_all(db, pb)
    assert keys(db) == []


def test_personal_data_near_misses(registry) -> None:  # noqa: ANN001
    db = registry
    says_none = use_case(db, privacy="None.")
    says_no_pd = use_case(db, privacy="No personal data is processed here.")
    documented = use_case(db, privacy="None of it leaves the EU; names and e-mails are redacted.")
    pb = playbook("personal_data")
    observe(db,
            event(use_case="UC-1", input_text=EMAIL),  # UC-1 documents its personal data
            event(use_case=f"UC-{documented}", input_text=EMAIL),
            event(use_case="UC-3", input_text="key sk-abcdefghijklmnopqrstuvwx1234 in here"),  # a secret
            event(use_case="UC-3", input_text="no personal data at all"),
            event(use_case=None, service="elsewhere", input_text=EMAIL))  # no use case to judge
    watch(db, pb)
    assert keys(db) == []
    observe(db, event(use_case=f"UC-{says_none}", input_text="call +44 20 7946 0958"),
            event(use_case=f"UC-{says_no_pd}", input_text=EMAIL, output_text=EMAIL))
    watch(db, pb)
    found = {a.key: a.evidence["redactions"] for a in alerts(db)}
    assert found == {f"UC-{says_none}": {"phone": 1}, f"UC-{says_no_pd}": {"email": 2}}
