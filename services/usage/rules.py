"""The watch rules: what in a batch of usage events deserves a person's look.

Each rule is a function of plain values — the batch's events as attributed (`Seen`), what the
registry documents, the playbook's grants — giving `Candidate`s: an alert that should exist,
keyed so that `alerts.raise_alert` keeps at most one per rule, key and day. The day is the
events' own day on the playbook's calendar, so a backlog watched late still counts each day
for itself. The key names what the alert is about, never a count: the same thing seen again the
same day is the same alert.

  rule                 key                                  fires when
  undocumented_model   provider/model (lower case)          no approved use case documents the model, or
                                                            the provider's vendor records are none reviewed
  unapproved_use_case  the use case (UC-12)                 usage is attributed to a use case that is
                                                            unknown, proposed, rejected, retired, prohibited
                                                            or overdue for review
  not_allowed          who, or who|provider/model           `usage.allow` has grants and none covers who
                                                            called, or none of theirs covers the model
  first_use            who|model, or who                    a service or person uses a model for the first
                                                            time ever (a caller never seen before: one
                                                            alert, keyed who, naming all its models)
  volume               who                                  a day's events reach `min_events` and exceed
                                                            `factor` × the median of its active days among
                                                            the 14 before (needs 3 such days)
  personal_data        the use case (UC-12)                 e-mail, phone, card or IBAN redactions in calls of
                                                            a use case whose record's Privacy field is empty
                                                            or says none

"Who" is `service:<name>` or `user:<id>`, the id mapped to a Slack user by `usage.people`.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.playbook.schema import Grant, Volume, matches
from services.usage.documented import Documented, use_case_number

RULES = ("undocumented_model", "unapproved_use_case", "not_allowed", "first_use", "volume",
         "personal_data")
PERSONAL = ("email", "phone", "card", "iban")  # redaction rules that find personal data
SHOWN = 10  # names kept per list of evidence; the rest are counted
HISTORY_DAYS = 14
MIN_HISTORY = 3  # active days before a day can be called unusual
SUMMARY_MAX = 1000


@dataclass(frozen=True)
class Seen:
    """One usage event as the rules see it: attributed to a use case and a person."""

    id: int
    day: str  # YYYY-MM-DD on the playbook's calendar
    at: datetime
    service: str | None
    user: str | None  # as telemetry sent it
    person: str | None  # the Slack user `usage.people` maps it to (or `user` as is)
    model: str | None
    provider: str | None
    use_case: str | None  # the event's, else `usage.services`'
    redactions: Mapping[str, int] = field(default_factory=dict)

    @property
    def who(self) -> str:
        """The one the call is charged to: the person, else the service."""
        if self.person:
            return f"user:{self.person}"
        return f"service:{self.service}" if self.service else "anonymous"

    @property
    def callers(self) -> list[str]:
        """Every who of the call: its service and its person."""
        return ([f"service:{self.service}"] if self.service else []) + \
            ([f"user:{self.person}"] if self.person else [])


@dataclass(frozen=True, order=True)
class Candidate:
    rule: str
    key: str
    day: str
    summary: str = field(compare=False)
    evidence: dict[str, Any] = field(compare=False)


def _distinct(values: Iterable[str | None]) -> list[str]:
    return sorted({v for v in values if v})


def evidence(seen: Sequence[Seen], **extra: Any) -> dict[str, Any]:
    """Who, which models and providers, which use cases, how many calls, first and last seen.
    Integers and strings only: it goes into the audit log too, which holds no floats."""
    found: dict[str, Any] = {"events": len(seen),
                             "first_seen": min(s.at for s in seen).isoformat(),
                             "last_seen": max(s.at for s in seen).isoformat()}
    more: dict[str, int] = {}
    for name, values in (("services", (s.service for s in seen)), ("people", (s.person for s in seen)),
                         ("models", (s.model for s in seen)), ("providers", (s.provider for s in seen)),
                         ("use_cases", (s.use_case for s in seen))):
        names = _distinct(values)
        found[name] = names[:SHOWN]
        if len(names) > SHOWN:
            more[name] = len(names) - SHOWN
    if more:
        found["more"] = more
    return {**found, **extra}


def by_day(seen: Iterable[Seen]) -> dict[str, list[Seen]]:
    days: dict[str, list[Seen]] = {}
    for s in seen:
        days.setdefault(s.day, []).append(s)
    return days


def _grouped(seen: Iterable[Seen], key: Any) -> dict[tuple[str, Any], list[Seen]]:
    groups: dict[tuple[str, Any], list[Seen]] = {}
    for s in seen:
        k = key(s)
        if k is not None:
            groups.setdefault((s.day, k), []).append(s)
    return groups


def _use_case_key(s: Seen) -> str | None:
    """The use case as a key: a registry ref in upper case (uc-12 is UC-12), anything else
    as the source spelled it."""
    if not s.use_case:
        return None
    return s.use_case.upper() if use_case_number(s.use_case) is not None else s.use_case


def _named(model: str, provider: str | None) -> str:
    return f"{model} ({provider})" if provider else model


def _candidate(rule: str, key: str, day: str, summary: str, seen: Sequence[Seen],
               **extra: Any) -> Candidate:
    return Candidate(rule, key, day, summary[:SUMMARY_MAX], evidence(seen, **extra))


def undocumented_model(seen: Iterable[Seen], documented: Documented) -> list[Candidate]:
    found = []
    groups = _grouped(seen, lambda s: None if s.model is None
                      else ((s.provider or "").lower(), s.model.lower()))
    for (day, k), group in groups.items():
        provider, model = group[0].provider, group[0].model or ""
        reasons = []
        if not documented.documenting(provider, model):
            reasons.append("no approved use case documents it")
        vendors = documented.unreviewed_vendor(provider)
        if vendors:
            v = vendors[0]
            reasons.append(f"its vendor {v.ref} {v.name} is {v.review_status.replace('_', ' ')}")
        if not reasons:
            continue
        found.append(_candidate(
            "undocumented_model", f"{k[0] or '-'}/{k[1]}", day,
            f"{_named(model, provider)} was used, but {' and '.join(reasons)}.", group,
            reasons=reasons, **({"vendors": [v.ref for v in vendors]} if vendors else {})))
    return found


def unapproved_use_case(seen: Iterable[Seen], documented: Documented, *, now: datetime) -> list[Candidate]:
    found = []
    for (day, ref), group in _grouped(seen, _use_case_key).items():
        facts = documented.use_case(ref)
        problem = "is not in the registry" if facts is None else facts.problem(now)
        if problem is None:
            continue
        status = "unknown" if facts is None else facts.status
        title = f" ({facts.title})" if facts is not None else ""
        found.append(_candidate("unapproved_use_case", ref, day,
                                f"AI calls were made for {ref}{title}, which {problem}.", group,
                                use_case_status=status, problem=problem))
    return found


NOT_GRANTED, MODEL_NOT_GRANTED, ALLOWED, UNSURE = "not_granted", "model_not_granted", "allowed", "unsure"


def _covers(grant: Grant, s: Seen, members: Mapping[str, Sequence[str]]) -> bool:
    return bool(s.person and any(s.person in members.get(g, ()) for g in grant.groups)) or \
        matches(grant.services, s.service)


def _permits(grant: Grant, s: Seen) -> bool:
    return (not grant.models or matches(grant.models, s.model)) and \
        (not grant.providers or matches(grant.providers, s.provider))


def verdict(s: Seen, grants: Sequence[Grant], members: Mapping[str, Sequence[str]],
            unresolved: frozenset[str] = frozenset()) -> str:
    """Whether the grants allow this call. A grant to a user group Slack would not resolve
    might be the one that allows it: such a call is `unsure`, and not alerted on."""
    covering = [g for g in grants if _covers(g, s, members)]
    if any(_permits(g, s) for g in covering):
        return ALLOWED
    if s.person and any(set(g.groups) & unresolved and _permits(g, s) for g in grants):
        return UNSURE
    return MODEL_NOT_GRANTED if covering else NOT_GRANTED


def not_allowed(seen: Iterable[Seen], grants: Sequence[Grant], members: Mapping[str, Sequence[str]],
                unresolved: frozenset[str] = frozenset()) -> list[Candidate]:
    groups: dict[tuple[str, str], list[Seen]] = {}
    for s in seen:
        v = verdict(s, grants, members, unresolved)
        if v == NOT_GRANTED:
            groups.setdefault((s.day, s.who), []).append(s)
        elif v == MODEL_NOT_GRANTED:
            what = f"{(s.provider or '-').lower()}/{(s.model or '-').lower()}"
            groups.setdefault((s.day, f"{s.who}|{what}"), []).append(s)
    found = []
    for (day, key), group in groups.items():
        who = group[0].who
        if "|" in key:
            summary = (f"{who} used {_named(group[0].model or 'a model', group[0].provider)}, "
                       "which none of the playbook's grants for them allows.")
        else:
            summary = f"{who} used AI without a grant in the playbook's usage.allow."
        found.append(_candidate("not_allowed", key, day, summary, group, who=who))
    return found


@dataclass(frozen=True)
class FirstUses:
    pairs: Mapping[tuple[str, str], Sequence[Seen]]  # (who, model) used for the first time ever
    newcomers: frozenset[str]  # callers never seen before this batch, with any model


def first_use(firsts: FirstUses) -> list[Candidate]:
    """One alert per model a known caller starts using; for a caller never seen before, one
    alert naming all its models: a service (or a whole workspace) starting to report would
    otherwise raise one per model it calls, a flood on the day ingestion is switched on."""
    found = []
    newcomers: dict[str, list[Seen]] = {}
    for (who, model), group in firsts.pairs.items():
        if who in firsts.newcomers:
            newcomers.setdefault(who, []).extend(group)
            continue
        first = min(group, key=lambda s: s.at)
        found.append(_candidate("first_use", f"{who}|{model}", first.day,
                                f"{who} used {_named(model, first.provider)} for the first time.",
                                group, who=who))
    for who, group in newcomers.items():
        first = min(group, key=lambda s: s.at)
        models = sorted({s.model for s in group if s.model})
        shown = ", ".join(models[:SHOWN]) + (f" and {len(models) - SHOWN} more"
                                             if len(models) > SHOWN else "")
        found.append(_candidate("first_use", who, first.day,
                                f"{who} used AI for the first time: {shown}.", group, who=who,
                                models=models[:SHOWN]))
    return found


def unusual(today: int, history: Sequence[int], volume: Volume) -> float | None:
    """The median today is measured against, when today is unusual; None otherwise."""
    active = [n for n in history if n > 0]
    if today < volume.min_events or len(active) < MIN_HISTORY:
        return None
    median = statistics.median(active)
    return median if today > volume.factor * median else None


def volume(who: str, day: str, today: int, history: Sequence[int], seen: Sequence[Seen],
           setting: Volume) -> Candidate | None:
    median = unusual(today, history, setting)
    if median is None:
        return None
    return _candidate("volume", who, day,
                      f"{who} made {today} AI calls on {day}, over {setting.factor:g} × the "
                      f"median of {median:g} a day over its last {HISTORY_DAYS} days.", seen,
                      who=who, today=today, median=f"{median:g}", factor=f"{setting.factor:g}",
                      active_days=len([n for n in history if n > 0]))


def personal_data(seen: Iterable[Seen], documented: Documented) -> list[Candidate]:
    found = []
    for (day, ref), group in _grouped(seen, _use_case_key).items():
        facts = documented.use_case(ref)
        if facts is None or not facts.says_no_personal_data:
            continue
        hits = {rule: sum(int(s.redactions.get(rule, 0)) for s in group) for rule in PERSONAL}
        hits = {rule: n for rule, n in hits.items() if n > 0}
        if not hits:
            continue
        with_hits = [s for s in group if any(s.redactions.get(r) for r in PERSONAL)]
        kinds = ", ".join(f"{n} {rule}" for rule, n in sorted(hits.items()))
        found.append(_candidate(
            "personal_data", ref, day,
            f"Personal data was redacted from AI calls for {ref} ({facts.title}) — {kinds} — but "
            "its record documents no personal data (Privacy implementation empty or none).",
            with_hits, redactions=hits))
    return found
