"""Digest build and App Home render time with a big registry, on SQLite and PostgreSQL.

    .venv/bin/python bench/registry_scale.py [--requests N] [--records M] [--repeat R]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test] [--sqlite-only]

Seeds a throwaway database with N sign-off requests (default 100,000) and M use-case and
vendor records (default 10,000) in bulk, then times what the bot reads for

  team digest      services.registry.digest.build(...) + blocks.digest.registry_digest(view)
  personal digest  the same for one heavy user (an approver who keeps 5% of the records)
  App Home         the loads of handlers/events/app_home.publish_home for that user
                   + blocks.home.home_view(...)

and counts the SQL statements each one runs. The same is done at a dataset 10× smaller: a
statement count that stays put shows there is no per-item (N+1) query; a time that grows
while the count stays put is a query (or the Python over its rows) that reads more with N.
Each operation is also split into its sections, so a figure that grows is explained.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: `bot`, `bench`, `services` live at the root

from sqlalchemy import Engine, event, func, insert, text
from sqlmodel import Session, select

import escalation
from bench.common import add_database_args, bounded, database, run_script, version
from blocks.digest import registry_digest
from blocks.home import (
    HOME_INCIDENTS,
    HOME_MINE,
    HOME_RECORDS,
    HOME_VENDORS,
    HOME_WAITING,
    home_view,
)
from bot.db import Database, make_engine
from models.approval import (
    APPROVE,
    APPROVED,
    CANCELLED,
    CHANGES_REQUESTED,
    EXPIRED,
    PENDING,
    REJECT,
    REJECTED,
    REQUEST_CHANGES,
    ApprovalRequest,
    ApprovalVote,
    ChecklistConfirmation,
)
from models.audit import AuditEvent
from models.incident import ACTIVE_STATUSES, Incident
from models.registry import APPROVED as UC_APPROVED
from models.registry import (
    FOLLOW_UP,
    IN_REVIEW,
    NOT_STARTED,
    PROPOSED,
    RETIRED,
    REVIEWED,
    USECASE,
    VENDOR,
    VENDOR_REJECTED,
    UseCase,
    UseCaseVendor,
    Vendor,
)
from models.registry import REJECTED as UC_REJECTED
from services import approvals, registry
from services.approvals.queries import decidable_ids
from services.approvals.refs import normalize_ref
from services.playbook import load_playbook_text
from services.playbook.loader import LoadedPlaybook
from services.playbook.snapshot import approval_policy
from services.registry import digest

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a fixed Monday: the same data every run
DAY = timedelta(days=1)
HEAVY = "U0HEAVY"  # in both approver groups that most requests name, keeps 5% of the records
HEAVY_SHARE = 0.05  # 500 of 10,000 records
SMALLER = 10  # the second dataset is this many times smaller
BATCH = 5000  # rows per bulk insert
SEED = 20260302

PLAYBOOK_YAML = """
# Written by bench/registry_scale.py
version: 1
timezone: UTC
admins: [U0ADMIN]
groups:
  reviewers: {members: [U0HEAVY, U0REV1, U0REV2, U0REV3, U0REV4, U0REV5, U0REV6, U0REV7, U0REV8]}
  eng-leads: {members: [U0HEAVY, U0LEAD1, U0LEAD2, U0LEAD3, U0LEAD4]}
  legal: {members: [U0LEGAL1, U0LEGAL2]}
  doc-approvers: {members: [U0GOV]}
channels: {governance: C0GOV, approvals: C0APPROVE, incidents: C0INC}
approvals:
  code: {approvers: [reviewers], required: 1, remind_after: 1d, expire_after: 14d}
  pair: {approvers: [reviewers], required: 2, expire_after: 14d}
  copy:
    internal: {approvers: [eng-leads], required: 1}
    external: {approvers: [eng-leads, legal], required: 2, distinct_groups: true}
  launch:
    approvers: [eng-leads, legal]
    required: 2
    checklist: [privacy-review, {id: security-review, text: Pen test done}]
escalation:
  severities:
    sev2: {policy: critical}
    sev3: {policy: low}
  policies:
    critical:
      steps:
        - {notify: "rotation:ai-primary", wait: 15m}
        - {notify: "rotation:ai-secondary"}
    low:
      steps:
        - {notify: "channel:governance"}
  rotations:
    ai-primary: {members: [U0PRI1, U0PRI2], handoff: "mon 09:00", shift: 1w, start: 2026-01-05}
    ai-secondary: {members: [U0SEC1, U0SEC2], handoff: "mon 09:00", shift: 1w, start: 2026-01-05}
documentation:
  due_soon: 7d
  approvers: [doc-approvers]
"""

# (kind, audience, weight): mostly code review, the rest spread over the other rules.
REQUEST_MIX = (("code", "internal", 55), ("pair", "internal", 10), ("copy", "internal", 10),
               ("copy", "external", 10), ("launch", "external", 15))
# Final (and changes-requested) outcomes of the requests that are no longer pending.
OUTCOMES = ((APPROVED, 75), (REJECTED, 8), (EXPIRED, 8), (CANCELLED, 5), (CHANGES_REQUESTED, 4))
PENDING_SHARE = 0.02
HISTORY = 730 * DAY  # requests are spread evenly over two years (~960 a week at 100,000)
STALE_PENDING = 120 * DAY  # how old a pending request of a rule without expire_after may be
USECASE_SHARE = 0.7  # of the records; the rest are vendors
USECASE_STATUS = ((UC_APPROVED, 70), (PROPOSED, 15), (UC_REJECTED, 5), (RETIRED, 10))
VENDOR_STATUS = ((REVIEWED, 60), (IN_REVIEW, 15), (NOT_STARTED, 10), (FOLLOW_UP, 10), (VENDOR_REJECTED, 5))
OPEN_INCIDENT_SHARE = 0.2
TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)


# -- seeding ---------------------------------------------------------------------------------

@dataclass
class Scale:
    requests: int
    records: int

    @property
    def usecases(self) -> int:
        return round(self.records * USECASE_SHARE)

    @property
    def vendors(self) -> int:
        return self.records - self.usecases

    @property
    def incidents(self) -> int:
        return max(10, self.requests // 1000)


@dataclass
class Policy:
    """One (kind, audience) rule: its frozen snapshot as stored, and what the seeder needs."""
    kind: str
    audience: str
    dump: dict[str, Any]
    groups: list[tuple[str, list[str]]]
    required: int
    distinct: bool
    checklist: list[str]
    expire_after: timedelta | None
    channel: str


def policies(loaded: LoadedPlaybook) -> list[tuple[Policy, int]]:
    """Each rule's snapshot, made once by the same function open_request uses and reused for
    every row: a valid `ApprovalRequest.policy` without opening 100,000 requests one by one."""
    pb = loaded.playbook
    out = []
    for kind, audience, weight in REQUEST_MIX:
        snap = approval_policy(pb, kind, audience)  # type: ignore[arg-type]
        out.append((Policy(kind, audience, snap.model_dump(mode="json"),
                           [(g.name, list(g.members)) for g in snap.approvers], snap.required,
                           snap.distinct_groups, [item.id for item in snap.checklist],
                           snap.expire_after, snap.channel), weight))
    return out


def pick(rng: random.Random, weighted: tuple[tuple[Any, int], ...] | list[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def bulk(conn: Any, model: type, rows: list[dict[str, Any]]) -> None:
    """Core INSERT with a list of dicts, one executemany per batch: no ORM objects, no unit
    of work, no per-row round trip through the services."""
    for start in range(0, len(rows), BATCH):
        conn.execute(insert(model.__table__), rows[start:start + BATCH])  # type: ignore[attr-defined]
    rows.clear()


def review_date(rng: random.Random) -> datetime:
    """7% overdue (up to 60 days), 8% due within a week, the rest current for up to a year."""
    r = rng.random()
    if r < 0.07:
        return NOW - timedelta(days=rng.uniform(0.1, 60))
    if r < 0.15:
        return NOW + timedelta(days=rng.uniform(0.1, 7))
    return NOW + timedelta(days=rng.uniform(7.1, 365))


def last_review(rng: random.Random, due: datetime, revisit_days: int) -> datetime:
    """The review that set `due`: one revisit period before it, never in the future (a due
    date further out than one period was set by hand)."""
    return min(due - timedelta(days=revisit_days), NOW - timedelta(days=rng.uniform(1, 30)))


def seed_records(conn: Any, rng: random.Random, scale: Scale) -> None:
    """Use cases (ids 1..U) and vendors (ids 1..V); the heavy user owns 5% of the use cases,
    signs off 2/3 of their 5% share of the vendors and is assignee of the other third. About
    half the use cases rely on one to three vendors."""
    people = [f"U0OWN{i:04d}" for i in range(400)]
    heavy_uc = set(rng.sample(range(scale.usecases), round(scale.usecases * HEAVY_SHARE)))
    heavy_vendors = rng.sample(range(scale.vendors), round(scale.vendors * HEAVY_SHARE))
    heavy_reviews = set(heavy_vendors[: len(heavy_vendors) * 2 // 3])
    heavy_assigned = set(heavy_vendors[len(heavy_vendors) * 2 // 3:])
    audit: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for i in range(scale.usecases):
        status = pick(rng, USECASE_STATUS)
        due = review_date(rng)
        reviewed = last_review(rng, due, 90) if status == UC_APPROVED else None
        created = min(reviewed or NOW, NOW) - timedelta(days=rng.uniform(1, 700))
        owner = HEAVY if i in heavy_uc else rng.choice(people)
        contributors = rng.sample(people, rng.choice((0, 0, 0, 1, 2)))
        rows.append({
            "id": i + 1, "title": f"Use case {i + 1}: assistant for team {i % 97}",
            "description": "Drafts answers for the support queue.", "owner": owner,
            "contributors": contributors, "audience": rng.choice(("internal", "external")),
            "purpose": "Faster first answers.", "risk_tier": rng.choice(("high", "limited", "limited", "minimal")),
            "models": [{"provider": "OpenAI", "model": "gpt-4o", "version": "2024-08-06",
                        "hosting": "vendor cloud"}],
            "status": status, "created_by": owner, "created_at": created, "updated_at": reviewed or created,
            "last_reviewed_at": reviewed, "last_reviewed_by": "U0GOV" if reviewed else None,
            "next_review_at": due, "snoozes": rng.choice((0, 0, 0, 1)), "state_version": 1,
        })
        audit.append(audit_row(created, owner, "usecase.created", USECASE, i + 1, {"ref": f"UC-{i + 1}"}))
    bulk(conn, UseCase, rows)
    for i in range(scale.vendors):
        status = pick(rng, VENDOR_STATUS)
        due = review_date(rng)
        reviewed = last_review(rng, due, 180) if status == REVIEWED else None
        created = min(reviewed or NOW, NOW) - timedelta(days=rng.uniform(1, 700))
        assignee = HEAVY if i in heavy_assigned else rng.choice(people)
        reviewer = HEAVY if i in heavy_reviews else rng.choice([p for p in people[:40] if p != assignee])
        rows.append({
            "id": i + 1, "name": f"Vendor {i + 1}", "provides": "LLM API", "trains_on_our_data": "no",
            "deployment": "cloud", "injection_tested": "passed", "risk_level": rng.choice(("high", "medium", "low")),
            "review_status": status, "assignee": assignee, "reviewer": reviewer, "created_by": assignee,
            "created_at": created, "updated_at": reviewed or created, "last_reviewed_at": reviewed,
            "last_reviewed_by": reviewer if reviewed else None, "next_review_at": due,
            "snoozes": 0, "state_version": 1,
        })
        audit.append(audit_row(created, assignee, "vendor.created", VENDOR, i + 1, {"ref": f"V-{i + 1}"}))
    bulk(conn, Vendor, rows)
    for i in range(scale.usecases):
        for vendor in rng.sample(range(1, scale.vendors + 1), rng.choice((0, 0, 0, 1, 1, 2, 3))):
            rows.append({"use_case_id": i + 1, "vendor_id": vendor})
    bulk(conn, UseCaseVendor, rows)
    bulk(conn, AuditEvent, audit)


def audit_row(at: datetime, actor: str, action: str, entity_type: str, entity_id: int,
              payload: dict[str, Any]) -> dict[str, Any]:
    return {"at": at, "actor": actor, "action": action, "entity_type": entity_type,
            "entity_id": str(entity_id), "payload": payload, "request_id": None}


def request_times(rng: random.Random, n: int) -> list[datetime]:
    """Evenly over the last two years, oldest first: ids grow with time, as in the bot."""
    return sorted(NOW - HISTORY * rng.uniform(0.00001, 1) for _ in range(n))


def still_pending(rng: random.Random, rules: list[tuple[Policy, int]], times: list[datetime],
                  n: int) -> dict[int, Policy]:
    """Which requests are pending, with their rule: 2% of all, among those that could still be
    (younger than the rule's expire_after; up to 120 days old for a rule that never expires)."""
    chosen: dict[int, Policy] = {}
    candidates = [i for i, t in enumerate(times) if NOW - t < STALE_PENDING]
    for i in rng.sample(candidates, len(candidates)):
        policy = pick(rng, rules)
        if policy.expire_after is None or NOW - times[i] < policy.expire_after:
            chosen[i] = policy
            if len(chosen) == n:
                break
    return chosen


def voters(rng: random.Random, policy: Policy, requester: str, count: int) -> list[tuple[str, str]]:
    """`count` distinct (user, group) approvers under the rule, one per group when the rule
    wants distinct groups; never the requester."""
    chosen: list[tuple[str, str]] = []
    groups = policy.groups[:]
    rng.shuffle(groups)
    for name, members in groups * (1 if policy.distinct else count):
        free = [m for m in members if m != requester and m not in {u for u, _ in chosen}]
        if free and len(chosen) < count:
            chosen.append((rng.choice(free), name))
    return chosen


def seed_requests(conn: Any, rng: random.Random, scale: Scale, loaded: LoadedPlaybook) -> None:
    """Requests (explicit ids 1..N), their votes (one per approver decision, older revisions
    dismissed), launch checklists and the audit rows of opening and deciding. Nothing the
    measured reads ignore (outbox rows, reminder and expiry timers) is written."""
    rules = policies(loaded)
    requesters = [f"U0DEV{i:04d}" for i in range(300)]
    times = request_times(rng, scale.requests)
    pending = still_pending(rng, rules, times, round(scale.requests * PENDING_SHARE))
    requests: list[dict[str, Any]] = []
    votes: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    audit: list[dict[str, Any]] = []
    for i, created in enumerate(times):
        rid = i + 1
        policy = pending.get(i) or pick(rng, rules)
        requester = HEAVY if rng.random() < 0.01 else rng.choice(requesters)
        status = PENDING if i in pending else outcome(rng, policy, created)
        revision = 2 if status == APPROVED and rng.random() < 0.05 else 1
        at = min(created + timedelta(hours=rng.uniform(0.5, 48)), NOW)
        decided = None
        if revision == 2:  # changes were asked on revision 1, then it was resubmitted
            who, group = voters(rng, policy, requester, 1)[0]
            votes.append(vote(rid, 1, who, REQUEST_CHANGES, group, created + timedelta(hours=1), dismissed=True))
        if status == APPROVED:
            for who, group in voters(rng, policy, requester, policy.required):
                votes.append(vote(rid, revision, who, APPROVE, group, at))
            for item in policy.checklist:
                checks.append({"request_id": rid, "revision": revision, "item": item,
                               "user": votes[-1]["user"], "at": at})
            decided = at
        elif status in (REJECTED, CHANGES_REQUESTED):
            who, group = voters(rng, policy, requester, 1)[0]
            votes.append(vote(rid, 1, who, REJECT if status == REJECTED else REQUEST_CHANGES, group, at))
            decided = at if status == REJECTED else None
        elif status in (EXPIRED, PENDING) and policy.required > 1 and rng.random() < 0.4:
            who, group = voters(rng, policy, requester, 1)[0]  # one approval of the two needed
            votes.append(vote(rid, 1, who, APPROVE, group, at))
        if status == EXPIRED:
            decided = created + policy.expire_after  # type: ignore[operator]
        elif status == CANCELLED:
            decided = at
        reference = f"https://code.acme.test/app/pull/{rid}"
        requests.append({
            "id": rid, "kind": policy.kind, "audience": policy.audience,
            "title": f"Change {rid}: refactor billing retries", "reference": reference,
            "ref_key": normalize_ref(reference), "ai_tool": rng.choice(("Copilot", "Claude", None)),
            "summary": "", "requester": requester, "origin_channel": None, "channel": policy.channel,
            "status": status, "revision": revision, "policy": policy.dump,
            "playbook_hash": loaded.content_hash, "playbook_version": loaded.version,
            "created_at": created, "updated_at": decided or created, "decided_at": decided,
            "expires_at": created + policy.expire_after if policy.expire_after else None,
            "reminders_sent": 0, "break_glass": False, "state_version": 1 + revision,
            "message_key": f"approval:{rid}:r{revision}:post",
            "use_case_id": rng.randint(1, scale.usecases) if rng.random() < 0.1 else None,
            "use_case_note": None,
        })
        audit.append(audit_row(created, requester, "approval.requested", "approval_request", rid,
                               {"revision": 1, "kind": policy.kind}))
        if decided is not None:
            audit.append(audit_row(decided, "countersign" if status == EXPIRED else requester,
                                   f"approval.{status}", "approval_request", rid, {"revision": revision}))
        if len(requests) >= BATCH:  # parents before children: votes name their request
            bulk(conn, ApprovalRequest, requests)
            bulk(conn, ApprovalVote, votes)
            bulk(conn, ChecklistConfirmation, checks)
            bulk(conn, AuditEvent, audit)
    bulk(conn, ApprovalRequest, requests)
    bulk(conn, ApprovalVote, votes)
    bulk(conn, ChecklistConfirmation, checks)
    bulk(conn, AuditEvent, audit)


def outcome(rng: random.Random, policy: Policy, created: datetime) -> str:
    """A decided request's status; only a rule with expire_after expires, and only once that
    much time has passed."""
    status = pick(rng, OUTCOMES)
    if status == EXPIRED and (policy.expire_after is None or created + policy.expire_after > NOW):
        return APPROVED
    return status


def vote(request_id: int, revision: int, user: str, decision: str, group: str, at: datetime,
         dismissed: bool = False) -> dict[str, Any]:
    return {"request_id": request_id, "revision": revision, "user": user, "decision": decision,
            "group_name": group, "reason": None if decision == APPROVE else "Please add tests.",
            "at": at, "dismissed": dismissed, "break_glass": False}


def seed_incidents(db: Database, rng: random.Random, scale: Scale, loaded: LoadedPlaybook) -> None:
    """A few incidents, so through the services (`open_incident`, `resolve`): their frozen
    chain and roster are not worth imitating. 20% stay open."""
    opened = sorted(NOW - timedelta(days=rng.uniform(0.1, 120)) for _ in range(scale.incidents))
    for i, at in enumerate(opened):
        reporter = f"U0REP{i % 20:02d}"
        with db.session() as s:
            incident = escalation.open_incident(s, playbook=loaded, severity=rng.choice(("sev2", "sev3", "sev3")),
                                                title=f"Bench incident {i + 1}", reporter=reporter, now=at)
            incident_id = incident.id
        if rng.random() >= OPEN_INCIDENT_SHARE:
            with db.session() as s:
                escalation.resolve(s, incident_id=incident_id, user=reporter, summary="Fixed the prompt filter.",
                                   now=min(at + timedelta(hours=rng.uniform(1, 72)), NOW))


def seed(db: Database, scale: Scale, loaded: LoadedPlaybook) -> float:
    """Fill a freshly migrated database; returns the seconds it took."""
    rng = random.Random(SEED)
    started = time.perf_counter()
    with db.engine.begin() as conn:  # one transaction: the fastest way in on SQLite
        seed_records(conn, rng, scale)
        seed_requests(conn, rng, scale, loaded)
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            # Explicit ids leave the id sequences at 1: move them past the rows, as if the
            # services had made them.
            for table in ("approval_request", "use_case", "vendor"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    seed_incidents(db, rng, scale, loaded)
    # Planner statistics now, as autovacuum would gather them soon after such a load. Not on
    # SQLite: the bot never runs ANALYZE there, so its planner works from the indexes alone.
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


# -- measuring -------------------------------------------------------------------------------

class StatementCounter:
    """SQL statements sent to the database (transaction control not counted: SQLite's
    BEGIN IMMEDIATE, which make_engine adds to every transaction)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if not TRANSACTION_CONTROL.match(statement):
            self.count += 1


@dataclass
class Op:
    """One thing timed: `load` runs in one session (one transaction, as the bot's reads do),
    `render` afterwards on what it returned, outside the transaction."""
    name: str
    load: Callable[[Session], Any] | None  # None: render only, no database
    render: Callable[[Any], Any] = lambda data: data
    part: bool = False  # a section of the operation above it


@dataclass
class Figures:
    times: list[float] = field(default_factory=list)  # seconds
    statements: int = 0

    def pct(self, q: float) -> float:
        ordered = sorted(self.times)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000 if ordered else math.nan


def measure(db: Database, counter: StatementCounter, op: Op, repeat: int) -> Figures:
    """One warm-up (not timed: it fills SQLAlchemy's statement cache and the database's page
    cache, as a running bot has), whose statement count is kept; then `repeat` timed runs."""
    figures = Figures()
    for run in range(repeat + 1):
        before = counter.count
        started = time.perf_counter()
        data = None
        if op.load is not None:
            with db.session() as s:
                data = op.load(s)
        op.render(data)
        took = time.perf_counter() - started
        if run == 0:
            figures.statements = counter.count - before
        else:
            figures.times.append(took)
    return figures


@dataclass
class Context:
    """What the bot would hand these functions: the playbook, resolved groups, the clock."""
    loaded: LoadedPlaybook
    members: dict[str, list[str]]
    soon: timedelta

    @property
    def pb(self) -> Any:
        return self.loaded.playbook


def digest_payload(view: dict[str, Any]) -> dict[str, Any]:
    # What bot/digest_job.py enqueues and the outbox renders: the view plus week and link.
    return registry_digest({**view, "week": "2026-W10", "home_link": None})


def digest_ops(ctx: Context, user: str | None) -> list[Op]:
    """The digest as the digest job builds it, then its sections one by one. The sections are
    digest.py's own private helpers, called with the arguments build() passes them: the only
    way to time each without copying its query here."""
    title = f"personal digest ({user})" if user else "team digest"
    args = {"now": NOW, "soon": ctx.soon, "user": user, "limit": digest.SECTION_LIMIT}
    view: dict[str, Any] = {}

    def build(s: Session) -> dict[str, Any]:
        view.update(digest.build(s, now=NOW, soon=ctx.soon, group_members=ctx.members, user=user))
        return view

    ops = [Op(f"{title}: build + render", build, digest_payload),
           Op("waiting (sign-offs)", lambda s: digest._waiting(s, now=NOW, group_members=ctx.members,
                                                                user=user, limit=digest.SECTION_LIMIT), part=True),
           Op("due (records)", lambda s: digest._due(s, **args), part=True),
           Op("vendors", lambda s: digest._vendors(s, **args), part=True),
           Op("flagged", lambda s: digest._flagged(s, **args), part=True)]
    if user is None:
        ops += [Op("incidents", lambda s: digest._incidents(s, now=NOW, limit=digest.SECTION_LIMIT), part=True),
                Op("changes (audit counts)", lambda s: digest._changes(s, since=NOW - 7 * DAY), part=True)]
    # Renders the view the whole operation built just before (ops are measured in order).
    ops.append(Op("render (registry_digest)", None, lambda _: digest_payload(view), part=True))
    return ops


def home_loads(ctx: Context, user: str) -> dict[str, Callable[[Session], Any]]:
    """publish_home's load(), section by section, with its limits (first page of each)."""
    def page(items_total: tuple[list, int]) -> dict[str, Any]:
        items, total = items_total
        return {"items": items, "total": total, "offset": 0}

    return {
        "waiting": lambda s: approvals.waiting_for(s, user=user, group_members=ctx.members,
                                                   limit=HOME_WAITING + 1, offset=0),
        "mine": lambda s: approvals.requested_by(s, user=user, limit=HOME_MINE + 1, offset=0),
        "records": lambda s: page(registry.due_for(s, user=user, now=NOW, soon=ctx.soon,
                                                   limit=HOME_RECORDS, offset=0)),
        "vendors": lambda s: page(registry.reviewing(s, user=user, now=NOW, soon=ctx.soon,
                                                     limit=HOME_VENDORS, offset=0)),
        "incidents": lambda s: page(escalation.open_incident_page(s, limit=HOME_INCIDENTS, offset=0)),
        "on_call": lambda s: [(name, escalation.on_call_now(s, ctx.pb, name, NOW))
                              for name in ctx.pb.escalation.rotations],
    }


def home_ops(ctx: Context, user: str) -> list[Op]:
    loads = home_loads(ctx, user)
    sections: dict[str, Any] = {}

    def load_all(s: Session) -> dict[str, Any]:
        sections.update({name: load(s) for name, load in loads.items()})
        return sections

    labels = {"waiting": "waiting (approvals.waiting_for)", "mine": "mine (approvals.requested_by)",
              "records": "records (registry.due_for)", "vendors": "vendors (registry.reviewing)",
              "incidents": "incidents (open_incident_page)", "on_call": "on call (on_call_now × rotations)"}
    return ([Op(f"App Home ({user}): load + render", load_all, lambda data: home_view(notice=None, **data))]
            + [Op(labels[name], load, part=True) for name, load in loads.items()]
            + [Op("render (home_view)", None, lambda _: home_view(notice=None, **sections), part=True)])


def all_ops(ctx: Context) -> list[Op]:
    return digest_ops(ctx, None) + digest_ops(ctx, HEAVY) + home_ops(ctx, HEAVY)


@dataclass
class Run:
    """One dataset on one database: what was seeded, and each operation's figures."""
    scale: Scale
    seconds: float
    facts: dict[str, int]
    figures: list[Figures]  # in the order of all_ops()
    waiting_explained: dict[str, float]


def facts(db: Database, ctx: Context) -> dict[str, int]:
    """Row counts that decide the work: how many pending requests the heavy user's waiting
    sections read, how many records they keep."""
    with db.session() as s:
        def count(model: type, *where: Any) -> int:
            return s.exec(select(func.count()).select_from(model).where(*where)).one()

        personal = digest.build(s, now=NOW, soon=ctx.soon, group_members=ctx.members, user=HEAVY)
        return {
            "requests": count(ApprovalRequest),
            "pending": count(ApprovalRequest, ApprovalRequest.status == PENDING),
            "heavy may decide": personal["waiting"]["total"],
            "votes": count(ApprovalVote),
            "use cases": count(UseCase),
            "vendors": count(Vendor),
            "links": count(UseCaseVendor),
            "heavy keeps": count(UseCase, UseCase.owner == HEAVY)
            + count(Vendor, (Vendor.reviewer == HEAVY) | (Vendor.assignee == HEAVY)),
            "heavy due": personal["due"]["total"],
            "incidents": count(Incident),
            "open incidents": count(Incident, Incident.status.in_(ACTIVE_STATUSES)),  # type: ignore[attr-defined]
            "audit events": count(AuditEvent),
        }


def explain_waiting(db: Database, repeat: int, ctx: Context) -> dict[str, float]:
    """The one part of the 'waiting' sections that still grows with the number of pending
    requests: approvals.decidable_ids reads (id, playbook version, kind, audience) of every
    pending request the user has not decided and checks one frozen policy per distinct
    (version, kind, audience). Timed alone, p50 in ms, with how many ids it returns."""
    figures = Figures()
    found = 0
    for _ in range(repeat):
        started = time.perf_counter()
        with db.session() as s:
            found = len(decidable_ids(s, user=HEAVY, group_members=ctx.members))
        figures.times.append(time.perf_counter() - started)
    return {"decidable": figures.pct(.5), "ids": found}


def run_dataset(url: str, scale: Scale, loaded: LoadedPlaybook, ctx: Context, repeat: int) -> Run:
    db = Database(make_engine(url))
    try:
        seconds = seed(db, scale, loaded)
        counter = StatementCounter(db.engine)
        figures = [measure(db, counter, op, repeat) for op in all_ops(ctx)]
        return Run(scale, seconds, facts(db, ctx), figures, explain_waiting(db, repeat, ctx))
    finally:
        db.dispose()


# -- report ----------------------------------------------------------------------------------

def describe(run: Run, label: str) -> None:
    f = run.facts
    print(f"{label:<10}: {f['requests']:,} requests ({f['pending']:,} pending, {HEAVY} may decide "
          f"{f['heavy may decide']:,}), {f['votes']:,} votes; {f['use cases']:,} use cases + "
          f"{f['vendors']:,} vendors, {f['links']:,} links, {HEAVY} keeps {f['heavy keeps']:,} "
          f"({f['heavy due']:,} due or overdue); {f['incidents']} incidents ({f['open incidents']} open); "
          f"{f['audit events']:,} audit events; seeded in {run.seconds:.1f} s")


def report(ops: list[Op], big: Run, small: Run) -> None:
    n_big = f"{big.scale.requests:,} req / {big.scale.records:,} rec"
    n_small = f"{small.scale.requests:,} / {small.scale.records:,}"
    head = (f"{'operation':<44} {'p50':>8} {'p90':>8} {'max':>8} {'stmts':>6} │ {'p50':>8} {'stmts':>6}")
    print(f"{'':<44} {n_big:^39} │ {n_small:^15}")
    print(head + "\n" + "─" * len(head))
    for op, a, b in zip(ops, big.figures, small.figures):
        if not op.part:
            print()
        name = ("  · " if op.part else "") + op.name
        print(f"{name:<44} {a.pct(.5):>8.2f} {a.pct(.9):>8.2f} {a.pct(1):>8.2f} {a.statements:>6} │ "
              f"{b.pct(.5):>8.2f} {b.statements:>6}")
    print("(ms per call, wall clock in this process; stmts: SQL statements the call sent, transaction "
          "control not counted. A line without '·' is the whole operation in one transaction, as the "
          "bot runs it; the '·' lines below it are its sections, each timed alone in its own "
          "transaction, so they add up to about the whole)")
    print()
    print("the 'waiting' sections (App Home, personal digest) read every pending request the user has not "
          "decided (a few columns) and check one policy per playbook version, kind and audience; that alone, p50:")
    for label, run in (("full", big), (f"1/{SMALLER}", small)):
        w = run.waiting_explained
        print(f"  {label:<5}: {w['decidable']:.1f} ms for {int(w['ids']):,} decidable of "
              f"{run.facts['pending']:,} pending requests")


def grows(ops: list[Op], big: Run, small: Run) -> None:
    """Say plainly which statement counts moved with N and which times grew most."""
    rows = list(zip(ops, big.figures, small.figures))
    changed = [op.name for op, a, b in rows if a.statements != b.statements]
    print("statements: " + ("the same at both sizes for every operation: no per-item queries"
                            if not changed else
                            "differ for " + "; ".join(changed) + " (a query for details that one page "
                            "needs and the other not, e.g. no request on it names a use case: per item, "
                            "the count would grow by the page size)"))

    def growth(part: bool) -> str:
        ratios = sorted(((a.pct(.5) / max(b.pct(.5), 1e-6), op.name) for op, a, b in rows
                         if op.part == part and op.load is not None), reverse=True)
        return ", ".join(f"{name} ×{r:.1f}" for r, name in (ratios if not part else ratios[:4]))

    print(f"p50 at full size ÷ p50 at 1/{SMALLER}: {growth(False)}")
    print(f"sections that grew most: {growth(True)}")


def header(args: argparse.Namespace) -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine   : {os.cpu_count()} CPUs, {platform.platform()}; load average {load} at start "
          "(other work on the machine shows in p90 and max)")
    print(f"python    : {platform.python_version()}; sqlalchemy {version('sqlalchemy')}, "
          f"sqlmodel {version('sqlmodel')}, psycopg {version('psycopg')}, pydantic {version('pydantic')}")
    print(f"workload  : {args.requests:,} sign-off requests ({PENDING_SHARE:.0%} pending, the rest approved, "
          f"rejected, expired, cancelled, changes requested), {args.records:,} records "
          f"({USECASE_SHARE:.0%} use cases); {HEAVY} is an approver in both approver groups and keeps "
          f"{HEAVY_SHARE:.0%} of the records; then the same at 1/{SMALLER}; {args.repeat} timed runs "
          f"per operation after one warm-up; now = {NOW:%Y-%m-%d %H:%M} UTC")


def bench(url: str | None, args: argparse.Namespace, loaded: LoadedPlaybook, ctx: Context) -> None:
    """Both dataset sizes on one kind of database, each in its own throwaway database."""
    runs = []
    for scale in (Scale(args.requests, args.records),
                  Scale(max(1, args.requests // SMALLER), max(10, args.records // SMALLER))):
        with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp, \
                database(url, Path(tmp), prog="registry_scale", migrate_sqlite=True) as (db_url, what):
            if not runs:
                print(f"\n=== {what}")
            runs.append(run_dataset(db_url, scale, loaded, ctx, args.repeat))
            describe(runs[-1], "full" if len(runs) == 1 else f"1/{SMALLER}")
    print()
    ops = all_ops(ctx)
    report(ops, *runs)
    grows(ops, *runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=bounded(100, 1_000_000), default=100_000,
                        help="sign-off requests in the full dataset (100000)")
    parser.add_argument("--records", type=bounded(20, 200_000), default=10_000,
                        help="use cases + vendors in the full dataset (10000)")
    parser.add_argument("--repeat", type=bounded(1, 1000), default=20,
                        help="timed runs per operation, after one warm-up (20)")
    add_database_args(parser)
    args = parser.parse_args()

    loaded = load_playbook_text(PLAYBOOK_YAML)
    pb = loaded.playbook
    # Static groups only, so this is what the bot's directory resolves them to.
    ctx = Context(loaded, {name: list(g.members) for name, g in pb.groups.items() if g.members},
                  pb.documentation.due_soon)
    header(args)
    bench(None, args, loaded, ctx)
    if args.postgres and not args.sqlite_only:
        bench(args.postgres, args, loaded, ctx)
    return 0


if __name__ == "__main__":
    run_script(main)
