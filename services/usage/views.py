"""AI usage read for people: which models and services a use case was seen with beside what its
record documents, the totals `/ai-audit usage` answers, and the week the digest and App Home show.

Raw events (usage_event) answer for as long as they are kept. Before `raw_from` (now minus
USAGE_RETENTION) they may have expired, so a window reaching back past it reads those days from
usage_daily instead — whole days of the playbook's calendar, up to and including the day
`raw_from` falls in (the day the purge may have cut into) — and raw events from the next
midnight on. `raw_from=None` reads raw events only.

A call belongs to the use case its source named, else to the one `usage.services` maps its
service to (as README says; usage_daily holds the use case as the watcher attributed it).
Telemetry's user ids are read as Slack users through `usage.people`. Whether a record's model
line covers an observed model is services/usage/documented.py's rule, the one the watch rules
apply, so a record's "seen but not documented" and an undocumented-model alert never disagree.
Results are plain dicts (datetimes as ISO text), so they travel in outbox payloads as they are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from models.registry import UseCase
from models.usage import UsageAlert, UsageDaily, UsageEvent, UsageFirstSeen
from services.playbook.schema import Usage
from services.usage.documented import ModelLine, model_matches
from services.wallclock import local_day

OBSERVED_DAYS = 30
TOP = 5
# Groups read per question: far more distinct models or services than a screen shows, and a
# bound on what a flood of invented names can cost.
GROUPS_READ = 500
OPEN = "open"


# --- where the answer comes from -------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """One table as the views read it: its columns, and how many events a row stands for."""

    model: Any
    provider: Any
    service: Any
    user: Any
    use_case: Any
    events: Any
    input_tokens: Any
    output_tokens: Any
    cost: Any
    first: Any
    last: Any
    unknown: Any  # how the table spells an unknown dimension: NULL, or ''

    def no_use_case(self) -> Any:
        return self.use_case.is_(None) if self.unknown is None else self.use_case == self.unknown


_RAW = _Source(UsageEvent.model, UsageEvent.provider, UsageEvent.service,
               UsageEvent.user_id, UsageEvent.use_case, func.count(),
               func.coalesce(func.sum(UsageEvent.input_tokens), 0),
               func.coalesce(func.sum(UsageEvent.output_tokens), 0),
               func.coalesce(func.sum(UsageEvent.cost_usd), 0.0),
               func.min(UsageEvent.started_at), func.max(UsageEvent.started_at), None)
_DAILY = _Source(UsageDaily.model, UsageDaily.provider, UsageDaily.service,
                 UsageDaily.user_id, UsageDaily.use_case, func.coalesce(func.sum(UsageDaily.events), 0),
                 func.coalesce(func.sum(UsageDaily.input_tokens), 0),
                 func.coalesce(func.sum(UsageDaily.output_tokens), 0),
                 func.coalesce(func.sum(UsageDaily.cost_usd), 0.0),
                 func.min(UsageDaily.first_at), func.max(UsageDaily.last_at), "")


@dataclass(frozen=True)
class _Window:
    raw: tuple[datetime, datetime] | None  # [from, until) of usage_event.started_at
    days: tuple[str, str] | None  # first and last usage_daily.day, both included
    since: datetime
    until: datetime


def raw_horizon(now: datetime, retention: timedelta | None) -> datetime | None:
    """Since when raw events are surely all still kept (None: kept forever)."""
    return None if retention is None else now - retention


def _window(since: datetime, until: datetime, raw_from: datetime | None, tz: tzinfo) -> _Window:
    if raw_from is None or since >= raw_from:
        return _Window((since, until), None, since, until)
    cut_day = local_day(raw_from, tz) + timedelta(days=1)
    cut = datetime.combine(cut_day, time(), tzinfo=tz).astimezone(UTC)
    first = local_day(since, tz)
    last = min(cut_day - timedelta(days=1), local_day(until - timedelta(microseconds=1), tz))
    days = (first.isoformat(), last.isoformat()) if first <= last else None
    return _Window((max(since, cut), until) if cut < until else None, days, since, until)


def _sources(window: _Window) -> list[tuple[_Source, list[Any]]]:
    """Each table to read, with the condition that keeps it to the window."""
    found: list[tuple[_Source, list[Any]]] = []
    if window.raw is not None:
        start, end = window.raw
        found.append((_RAW, [UsageEvent.started_at >= start, UsageEvent.started_at < end]))
    if window.days is not None:
        first, last = window.days
        found.append((_DAILY, [UsageDaily.day >= first, UsageDaily.day <= last]))
    return found


@dataclass(frozen=True)
class _Filter:
    models: tuple[str, ...] | None = None  # the observed names a `model:` filter covers
    users: tuple[str, ...] = ()
    use_case: str | None = None
    services: tuple[str, ...] = ()  # services the playbook maps to `use_case`, for calls naming none

    def conditions(self, source: _Source) -> list[Any]:
        found: list[Any] = []
        if self.models is not None:
            found.append(col(source.model).in_(self.models))
        if self.users:
            found.append(col(source.user).in_(self.users))
        if self.use_case is not None:
            named = source.use_case == self.use_case
            if self.services:
                named = or_(named, and_(source.no_use_case(), col(source.service).in_(self.services)))
            found.append(named)
        return found


def _known(value: str | None) -> str | None:
    return value or None


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else _aware(moment).astimezone(UTC).isoformat()


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((m for m in (a, b) if m is not None), default=None)


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    return min((m for m in (a, b) if m is not None), default=None)


def _mapped_services(session: Session, window: _Window, use_case: str, usage: Usage) -> tuple[str, ...]:
    """Services whose calls named no use case and that the playbook maps to `use_case`."""
    if not usage.services:
        return ()
    names: set[str] = set()
    for source, within in _sources(window):
        rows = session.exec(select(source.service).distinct().where(*within, source.no_use_case())).all()
        names.update(r for r in rows if r)
    return tuple(sorted(n for n in names if usage.use_case_of(n) == use_case))


def _covered_models(session: Session, window: _Window, model: str) -> tuple[str, ...]:
    """The model names seen in the window that `model` covers, as a record's line naming it would
    (`gpt-4o` covers `gpt-4o-2024-08-06`, not `gpt-4o-mini`)."""
    names: set[str] = set()
    for source, within in _sources(window):
        # Every covered name holds the asked one: the database narrows, the rule decides.
        rows = session.exec(select(source.model).distinct().where(
            *within, func.lower(source.model).contains(model.lower(), autoescape=True))).all()
        names.update(r for r in rows if r and model_matches(model, "", r))
    return tuple(sorted(names))


def _grouped(session: Session, window: _Window, flt: _Filter, *dims: str,
             ) -> dict[tuple[str | None, ...], dict[str, Any]]:
    """Totals per value of `dims` ("model", "provider", "service", "user"), both tables merged."""
    merged: dict[tuple[str | None, ...], dict[str, Any]] = {}
    for source, within in _sources(window):
        columns = [getattr(source, d) for d in dims]
        query = (select(*columns, source.events, source.input_tokens, source.output_tokens,
                        source.cost, source.first, source.last)
                 .where(*within, *flt.conditions(source)))
        if columns:
            query = query.group_by(*columns).order_by(source.events.desc()).limit(GROUPS_READ)
        for row in session.exec(query).all():
            key = tuple(_known(v) for v in row[:len(dims)])
            events, tokens_in, tokens_out, cost, first, last = row[len(dims):]
            if not events:
                continue
            into = merged.setdefault(key, {"events": 0, "input_tokens": 0, "output_tokens": 0,
                                           "cost_usd": 0.0, "first": None, "last": None})
            into["events"] += int(events)
            into["input_tokens"] += int(tokens_in or 0)
            into["output_tokens"] += int(tokens_out or 0)
            into["cost_usd"] += float(cost or 0.0)
            into["first"] = _earlier(into["first"], first and _aware(first))
            into["last"] = _later(into["last"], last and _aware(last))
    return merged


def _distinct(session: Session, window: _Window, flt: _Filter, dim: str) -> set[str]:
    found: set[str] = set()
    for source, within in _sources(window):
        column = getattr(source, dim)
        found.update(v for v in session.exec(select(column).distinct().where(
            *within, *flt.conditions(source))).all() if v)
    return found


def _by_events(groups: dict[Any, dict[str, Any]]) -> list[tuple[Any, dict[str, Any]]]:
    return sorted(groups.items(), key=lambda item: (-item[1]["events"], str(item[0])))


def _model_item(key: tuple[str | None, ...], totals: dict[str, Any]) -> dict[str, Any]:
    model, provider = key
    return {"model": model, "provider": provider, "events": totals["events"],
            "input_tokens": totals["input_tokens"], "output_tokens": totals["output_tokens"],
            "cost_usd": round(totals["cost_usd"], 6), "first_seen": _iso(totals["first"]),
            "last_seen": _iso(totals["last"])}


def _people(users: Iterable[str | None], usage: Usage) -> Counter:
    return Counter(u for u in (usage.slack_user(user) for user in users) if u)


def _telemetry_ids(user: str, usage: Usage) -> tuple[str, ...]:
    """The ids telemetry may know `user` by: the id itself and every one the playbook maps to it."""
    return (user, *sorted(k for k, v in usage.people.items() if v == user and k != user))


def use_case_ref(use_case: int | str) -> str:
    """`3`, `"3"` or `"UC-3"` → `UC-3`, as events name use cases."""
    return f"UC-{int(str(use_case).strip().upper().removeprefix('UC-'))}"


# --- a use case: observed beside documented ---------------------------------------------------


def observed_for_use_case(session: Session, use_case_id: int | str, *, now: datetime,
                          days: int = OBSERVED_DAYS, usage: Usage | None = None,
                          raw_from: datetime | None = None, tz: tzinfo = UTC) -> dict[str, Any]:
    """Models (with provider) and services seen for the use case in the last `days`, with
    counts and when last seen, beside the models its record documents: documented and seen,
    seen but not documented, documented but not seen."""
    usage = usage or Usage()
    ref = use_case_ref(use_case_id)
    record = session.get(UseCase, int(ref.removeprefix("UC-")))
    documented = [m for m in (record.models if record else []) if str(m.get("model") or "").strip()]
    lines = [ModelLine(str(m.get("provider") or ""), str(m["model"]), str(m.get("version") or ""))
             for m in documented]
    window = _window(now - timedelta(days=days), now, raw_from, tz)
    flt = _Filter(use_case=ref, services=_mapped_services(session, window, ref, usage))
    models = [_model_item(key, totals) for key, totals in
              _by_events(_grouped(session, window, flt, "model", "provider"))]
    services = [{"service": key[0], "events": totals["events"], "last_seen": _iso(totals["last"])}
                for key, totals in _by_events(_grouped(session, window, flt, "service"))]

    def covers(line: ModelLine, item: dict[str, Any]) -> bool:
        return item["model"] is not None and line.documents(item["provider"], item["model"])

    for item in models:
        item["documented"] = any(covers(line, item) for line in lines)
    entries = []
    for line in lines:
        covered = [m for m in models if covers(line, m)]
        entries.append({"provider": line.provider, "model": line.model, "version": line.version,
                        "events": sum(m["events"] for m in covered),
                        "observed": [m["model"] for m in covered],
                        "last_seen": max((m["last_seen"] for m in covered), default=None)})
    return {
        "use_case": ref, "days": days, "since": _iso(window.since), "until": _iso(window.until),
        "events": sum(m["events"] for m in models),
        "models": models, "services": services,
        "documented_seen": [e for e in entries if e["events"]],
        "undocumented": [m for m in models if not m["documented"]],
        "not_seen": [e for e in entries if not e["events"]],
    }


# --- /ai-audit usage ---------------------------------------------------------------------------


def summary(session: Session, *, since: datetime, until: datetime, model: str | None = None,
            user: str | None = None, use_case: str | None = None, usage: Usage | None = None,
            raw_from: datetime | None = None, tz: tzinfo = UTC, top: int = TOP) -> dict[str, Any]:
    """Events, distinct people and services, tokens, cost, top models and people in
    [since, until). `model` covers what a record's line naming it would (its dated versions);
    `user` is a Slack user id or a telemetry id; `use_case` a ref like UC-3."""
    usage = usage or Usage()
    window = _window(since, until, raw_from, tz)
    ref = use_case_ref(use_case) if use_case is not None else None
    flt = _Filter(models=_covered_models(session, window, model) if model else None,
                  users=_telemetry_ids(user, usage) if user else (), use_case=ref,
                  services=_mapped_services(session, window, ref, usage) if ref else ())
    totals = _grouped(session, window, flt).get((), {"events": 0, "input_tokens": 0,
                                                     "output_tokens": 0, "cost_usd": 0.0})
    models = _by_events(_grouped(session, window, flt, "model", "provider"))
    people: Counter = Counter()
    for (who,), t in _grouped(session, window, flt, "user").items():
        if (person := usage.slack_user(who)) is not None:
            people[person] += t["events"]
    return {
        "since": _iso(since), "until": _iso(until), "model": model, "user": user, "use_case": ref,
        "by_day_through": window.days[1] if window.days else None,
        "events": totals["events"], "input_tokens": totals["input_tokens"],
        "output_tokens": totals["output_tokens"], "cost_usd": round(totals["cost_usd"], 6),
        "people": len(_people(_distinct(session, window, flt, "user"), usage)),
        "services": len(_distinct(session, window, flt, "service")),
        "models": len(models),
        "top_models": [_model_item(key, t) for key, t in models[:top]],
        "top_people": [{"user": who, "events": n}
                       for who, n in sorted(people.items(), key=lambda p: (-p[1], p[0]))[:top]],
    }


# --- the week: digest and App Home ---------------------------------------------------------------


def _new_models(session: Session, window: _Window, names: list[str], tz: tzinfo) -> set[str]:
    """Of `names` (seen in the window), those seen nowhere before it: no earlier raw event, no
    earlier day counted, no earlier first use remembered."""
    if not names:
        return set()
    first_raw = session.exec(select(UsageEvent.model, func.min(UsageEvent.started_at))
                             .where(col(UsageEvent.model).in_(names)).group_by(UsageEvent.model)).all()
    earlier = {m for m, at in first_raw if at is not None and _aware(at) < window.since}
    earlier |= set(session.exec(select(UsageDaily.model).distinct().where(
        col(UsageDaily.model).in_(names), UsageDaily.day < local_day(window.since, tz).isoformat())).all())
    earlier |= set(session.exec(select(UsageFirstSeen.model).distinct().where(
        col(UsageFirstSeen.model).in_(names), UsageFirstSeen.at < window.since)).all())
    return set(names) - earlier


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def week(session: Session, *, since: datetime, until: datetime, usage: Usage | None = None,
         raw_from: datetime | None = None, tz: tzinfo = UTC, top: int = TOP) -> dict[str, Any]:
    """The digest's and App Home's week: events, people, top models, models first seen in
    [since, until), and the alerts watch rules raised in it, counted by rule."""
    usage = usage or Usage()
    window = _window(since, until, raw_from, tz)
    flt = _Filter()
    models = _by_events(_grouped(session, window, flt, "model", "provider"))
    by_model: dict[str, dict[str, Any]] = {}
    for (model, provider), t in models:
        if model is None:
            continue
        entry = by_model.setdefault(model, {"model": model, "provider": provider, "events": 0,
                                            "first_seen": None})
        entry["events"] += t["events"]
        entry["first_seen"] = _earlier(entry["first_seen"], t["first"])
    new = _new_models(session, window, list(by_model), tz)
    alerts = dict(session.exec(select(UsageAlert.rule, func.count())
                               .where(UsageAlert.raised_at >= since, UsageAlert.raised_at < until)
                               .group_by(UsageAlert.rule)).all())
    total = _grouped(session, window, flt).get((), {"events": 0})
    return {
        "since": _iso(since), "until": _iso(until),
        "events": total["events"],
        "people": len(_people(_distinct(session, window, flt, "user"), usage)),
        "top_models": [_model_item(key, t) for key, t in models[:top]],
        "new_models": [{**e, "first_seen": _iso(e["first_seen"])} for e in
                       sorted((by_model[m] for m in new), key=lambda e: (-e["events"], e["model"]))[:top]],
        "new_models_total": len(new),
        "alerts": [{"rule": rule, "count": n} for rule, n in sorted(alerts.items(), key=lambda a: (-a[1], a[0]))],
        "alerts_total": sum(alerts.values()),
    }


def open_alerts(session: Session, *, limit: int = TOP) -> dict[str, Any]:
    """Alerts nobody has acknowledged or turned into an incident yet, newest first."""
    total = session.exec(select(func.count()).select_from(UsageAlert)
                         .where(UsageAlert.status == OPEN)).one()
    rows = session.exec(select(UsageAlert).where(UsageAlert.status == OPEN)
                        .order_by(col(UsageAlert.raised_at).desc(), col(UsageAlert.id).desc())
                        .limit(limit)).all()
    return {"total": total, "items": [{"id": a.id, "rule": a.rule, "day": a.day, "summary": a.summary,
                                       "raised_at": _iso(a.raised_at)} for a in rows]}
