"""The watcher: stored usage events counted into daily aggregates and checked against the rules.

`watch_batch` is one transaction: claim up to `limit` unwatched events (oldest first; on
PostgreSQL `FOR UPDATE SKIP LOCKED`, so two clocks split the work instead of counting an event
twice — SQLite has one writer at a time), add them to `usage_daily`, remember first uses in
`usage_first_seen`, raise the alerts the rules find (services/usage/alerts.py) and mark the
events watched. A crash anywhere rolls all of it back and the next run takes the same events.

Attribution happens here, whatever ingestion did: an event naming no use case is attributed to
the one `usage.services` maps its service to, and a user id to the Slack user `usage.people`
maps it to. Days are the playbook's calendar days of the call's start.

Rows are written in one order in every transaction (aggregates, first uses, alerts, each sorted
by key), so two watchers on PostgreSQL wait for each other rather than deadlock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import case, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from models.usage import UsageDaily, UsageEvent, UsageFirstSeen
from services import rows
from services.playbook.schema import Playbook, Usage
from services.usage import alerts, documented, rules
from services.usage.rules import Candidate, Seen

# Events one transaction watches: on SQLite it holds the one write lock, which Slack's
# acknowledgements wait on too, so a batch stays a fraction of a second.
BATCH = 500
_DIMENSIONS = ("day", "service", "user_id", "model", "provider", "use_case")
_CLAIMED = (UsageEvent.id, UsageEvent.started_at, UsageEvent.service, UsageEvent.user_id,
            UsageEvent.model, UsageEvent.provider, UsageEvent.use_case, UsageEvent.redactions,
            UsageEvent.input_tokens, UsageEvent.output_tokens, UsageEvent.cost_usd)


@dataclass(frozen=True)
class Watched:
    events: int  # events this batch watched
    alerts: tuple[int, ...]  # ids of the alerts it raised
    first_uses: int  # (who, model) pairs seen for the first time


def watch_batch(session: Session, *, now: datetime, playbook: Playbook,
                group_members: Mapping[str, Sequence[str]] | None = None,
                unresolved_groups: frozenset[str] = frozenset(), limit: int = BATCH) -> Watched:
    """Watch the oldest unwatched events, in the caller's transaction.

    `group_members` resolves the playbook's groups (for `usage.allow`); a group Slack would not
    resolve is in `unresolved_groups`, and a call only such a group's grant could allow is not
    alerted on."""
    claimed = _claim(session, limit)
    if not claimed:
        return Watched(0, (), 0)
    usage = playbook.usage
    seen = [_seen(row, usage, playbook.tz) for row in claimed]
    _add_to_daily(session, seen, claimed)
    firsts = _first_uses(session, seen)
    candidates = _candidates(session, seen, firsts, now=now, playbook=playbook,
                             members=group_members or {}, unresolved=unresolved_groups)
    raised = []
    for candidate in sorted(candidates):
        alert = alerts.raise_alert(session, candidate, now=now, playbook=playbook)
        if alert is not None and alert.id is not None:
            raised.append(alert.id)
    session.exec(update(UsageEvent).where(col(UsageEvent.id).in_([s.id for s in seen]))
                 .values(watched_at=now))
    return Watched(len(seen), tuple(raised), len(firsts.pairs))


def _claim(session: Session, limit: int) -> list[Any]:
    query = (select(*_CLAIMED).where(col(UsageEvent.watched_at).is_(None))
             .order_by(UsageEvent.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=UsageEvent)
    return list(session.exec(query).all())


def _seen(row: Any, usage: Usage, tz: tzinfo) -> Seen:
    return Seen(id=row.id, day=row.started_at.astimezone(tz).date().isoformat(), at=row.started_at,
                service=row.service, user=row.user_id, person=usage.slack_user(row.user_id),
                model=row.model, provider=row.provider,
                use_case=row.use_case or usage.use_case_of(row.service),
                redactions=row.redactions or {})


def _add_to_daily(session: Session, seen: list[Seen], claimed: list[Any]) -> None:
    """Add the batch to its days' counters: one additive upsert per (day, who, what)."""
    sums: dict[tuple[str, ...], dict[str, Any]] = {}
    for s, row in zip(seen, claimed, strict=True):
        key = (s.day, s.service or "", s.user or "", s.model or "", s.provider or "", s.use_case or "")
        total = sums.setdefault(key, {**dict(zip(_DIMENSIONS, key, strict=True)), "events": 0,
                                      "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0,
                                      "redaction_hits": 0, "first_at": s.at, "last_at": s.at})
        total["events"] += 1
        total["input_tokens"] += row.input_tokens or 0
        total["output_tokens"] += row.output_tokens or 0
        total["cost_usd"] += row.cost_usd or 0.0
        total["redaction_hits"] += sum(int(n) for n in s.redactions.values())
        total["first_at"] = min(total["first_at"], s.at)
        total["last_at"] = max(total["last_at"], s.at)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(UsageDaily)
    new, table = stmt.excluded, UsageDaily
    stmt = stmt.on_conflict_do_update(index_elements=list(_DIMENSIONS), set_={
        "events": table.events + new.events,
        "input_tokens": table.input_tokens + new.input_tokens,
        "output_tokens": table.output_tokens + new.output_tokens,
        "cost_usd": table.cost_usd + new.cost_usd,
        "redaction_hits": table.redaction_hits + new.redaction_hits,
        "first_at": case((new.first_at < table.first_at, new.first_at), else_=table.first_at),
        "last_at": case((new.last_at > table.last_at, new.last_at), else_=table.last_at),
    })
    session.connection().execute(stmt, [sums[k] for k in sorted(sums)])


def _first_uses(session: Session, seen: list[Seen]) -> rules.FirstUses:
    """The (who, model) pairs this batch is the first ever to use, with their calls, and which
    of those callers were never seen before at all."""
    calls: dict[tuple[str, str], list[Seen]] = {}
    for s in seen:
        if s.model:
            for who in s.callers:
                calls.setdefault((who, s.model), []).append(s)
    callers = sorted({who for who, _ in calls})
    known = set(session.scalars(select(UsageFirstSeen.who).where(
        UsageFirstSeen.who.in_(callers)).distinct())) if callers else set()
    pairs = [{"who": who, "model": model, "at": min(c.at for c in calls[(who, model)])}
             for who, model in sorted(calls)]
    inserted = rows.insert_new_keys(session, UsageFirstSeen, pairs, ["who", "model"])
    firsts = {pair: calls[pair] for pair in sorted(calls) if pair in inserted}
    return rules.FirstUses(firsts, frozenset(who for who, _ in firsts if who not in known))


def _candidates(session: Session, seen: list[Seen], firsts: rules.FirstUses, *,
                now: datetime, playbook: Playbook, members: Mapping[str, Sequence[str]],
                unresolved: frozenset[str]) -> list[Candidate]:
    watch = playbook.usage.watch
    found: list[Candidate] = []
    if any(watch.on(r) for r in ("undocumented_model", "unapproved_use_case", "personal_data")):
        registry = documented.load(session, {s.use_case for s in seen if s.use_case})
        if watch.on("undocumented_model"):
            found += rules.undocumented_model(seen, registry)
        if watch.on("unapproved_use_case"):
            found += rules.unapproved_use_case(seen, registry, now=now)
        if watch.on("personal_data"):
            found += rules.personal_data(seen, registry)
    if watch.on("not_allowed") and playbook.usage.allow is not None:
        found += rules.not_allowed(seen, playbook.usage.allow, members, unresolved)
    if watch.on("first_use"):
        found += rules.first_use(firsts)
    if watch.volume is not None:
        found += _volume(session, seen, watch.volume)
    return found


def _volume(session: Session, seen: list[Seen], setting: Any) -> list[Candidate]:
    """Each service and person of the batch, their day against the days before (the counters
    already hold this batch)."""
    found: list[Candidate] = []
    for day, group in sorted(rules.by_day(seen).items()):
        days = [(date.fromisoformat(day) - timedelta(days=n)).isoformat()
                for n in range(rules.HISTORY_DAYS, 0, -1)]
        for column, name_of, who_of in (
                (UsageDaily.service, lambda s: s.service, lambda s: f"service:{s.service}"),
                (UsageDaily.user_id, lambda s: s.user, lambda s: f"user:{s.person}")):
            calls: dict[str, list[Seen]] = {}
            for s in group:
                if name_of(s):
                    calls.setdefault(name_of(s), []).append(s)
            if not calls:
                continue
            totals: dict[str, dict[str, int]] = {}
            for d, name, events in session.exec(
                    select(UsageDaily.day, column, func.sum(UsageDaily.events))
                    .where(col(column).in_(sorted(calls)), UsageDaily.day >= days[0],
                           UsageDaily.day <= day)
                    .group_by(UsageDaily.day, column)).all():
                totals.setdefault(name, {})[d] = int(events)
            for name in sorted(calls):
                mine = totals.get(name, {})
                candidate = rules.volume(who_of(calls[name][0]), day, mine.get(day, 0),
                                         [mine.get(d, 0) for d in days], calls[name], setting)
                if candidate is not None:
                    found.append(candidate)
    return found
