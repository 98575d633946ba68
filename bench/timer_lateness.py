"""How late Countersign pages once an escalation step falls due, with many incidents open.

    .venv/bin/python bench/timer_lateness.py [--incidents N] [--people K] [--spread S]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Starts a fake Slack and the real bot (`python -m bot serve`, production background settings),
opens N incidents in the bot's database with `escalation.open_incident` (what /ai-incident
runs), and times every page from the instant its step fell due to the instant the fake Slack
received the page DM (chat.postMessage). Three rounds on the same N open incidents:

  step 1  due on opening, committed by another process (this one): the bot's sweep finds it;
  step 2  due times spread over S seconds of real time: the bot's one-shot wake-ups;
  step 3  all N due at one instant: the bot's clock (CLOCK_OFFSET_FILE) jumps past them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: `bot`, `bench`, `tests.harness` live at the root

from sqlalchemy import Engine, create_engine, func  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

import escalation  # noqa: E402
from bench.common import bounded, database, version  # noqa: E402
from bot.clock import OffsetFileClock  # noqa: E402
from bot.db import Database, make_engine  # noqa: E402
from models.outbox import PENDING, SENDING, OutboxMessage  # noqa: E402
from models.timer import DONE, Timer  # noqa: E402
from services.playbook.loader import load_playbook  # noqa: E402
from tests.harness.fake_slack import FakeSlack  # noqa: E402
from tests.harness.server import BotProcess, bot_env, free_port  # noqa: E402

MAX_INCIDENTS = 5000
# bot_env speeds the clock up for tests; the bench wants the background load of production.
TEST_SPEEDUPS = ("OUTBOX_POLL_INTERVAL", "OUTBOX_CHANNEL_INTERVAL", "OUTBOX_RETRY_BASE",
                 "OUTBOX_LEASE", "SLACK_API_TIMEOUT", "TIMER_SWEEP_INTERVAL",
                 "LEADER_REFRESH_INTERVAL", "PLAYBOOK_WATCH_INTERVAL")
REPORTER = "U0REPORTER"
INCIDENTS_CHANNEL = "C0INC"
STEP2_WAIT = "10m"  # step 2 → step 3: long, so that only the clock jump makes step 3 due
# A page's outbox key: incident:{id}:page:{run}:{round}:{step}:{recipient} (escalation/paging.py)
PAGE_KEY = re.compile(r"^incident:(\d+):page:(\d+):(\d+):(\d+):(.+)$")
POLL = 0.25  # how often the bench looks; the fake stamps each call itself on arrival


# -- playbook ------------------------------------------------------------------------------

def playbook_yaml(classes: int, people: int, base_wait: int, spread: int) -> str:
    """Severities s0000…: primary (wait base+k s) → secondary (wait 10m) → lead.

    Class c waits base_wait + c % spread seconds before step 2 and pages team c % people, one
    person per rotation (who is on call at any moment). No incident channels and no
    status-update reminders: the load is paging.
    """
    lines = ["# Written by bench/timer_lateness.py", "version: 1", "timezone: UTC",
             "admins: [U0ADMIN]",
             f"channels: {{governance: C0GOV, incidents: {INCIDENTS_CHANNEL}}}",
             "escalation:", "  severities:"]
    lines += [f"    s{c:04d}: {{policy: p{c:04d}}}" for c in range(classes)]
    lines.append("  policies:")
    for c in range(classes):
        team = c % people
        wait = base_wait + c % spread
        lines += [f"    p{c:04d}:", "      steps:",
                  f'        - {{notify: "rotation:primary-{team}", wait: {wait}s}}',
                  f'        - {{notify: "rotation:secondary-{team}", wait: {STEP2_WAIT}}}',
                  f'        - {{notify: "rotation:lead-{team}"}}']
    lines.append("  rotations:")
    for team in range(people):
        for role, letter in (("primary", "P"), ("secondary", "S"), ("lead", "L")):
            lines.append(f'    {role}-{team}: {{members: [U0{letter}{team:04d}], '
                         'handoff: "mon 09:00", shift: 1w}')
    return "\n".join(lines) + "\n"


# -- database ------------------------------------------------------------------------------

def reader(url: str) -> Engine:
    """The bench's own reads. On SQLite not through make_engine, whose BEGIN IMMEDIATE takes the
    write lock even to read: in WAL mode a plain reader looks without queueing behind the bot."""
    if url.startswith("sqlite:"):
        return create_engine(url, connect_args={"timeout": 30})
    return make_engine(url, pool_size=1)


def as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass
class StepTimer:
    due: datetime  # the bot's clock
    claimed: datetime | None  # fired_at: the `now` of the sweep that claimed it (the bot's clock)
    done: bool


@dataclass
class Owed:
    """One page's outbox row."""
    status: str
    dispatched: datetime | None  # attempt_started_at: the dispatcher's claim (the bot's clock)


def step_timers(engine: Engine, step: int) -> dict[int, StepTimer]:
    """incident id → its round-1 timer for `step`."""
    with Session(engine) as s:
        rows = s.exec(select(Timer).where(Timer.kind == escalation.STEP)).all()
    found = {}
    for t in rows:
        if (t.payload or {}).get("step") == step and (t.payload or {}).get("round") == 1:
            found[int(t.ref.split(":")[1])] = StepTimer(as_utc(t.due_at), as_utc(t.fired_at),
                                                        t.status == DONE)
    return found


def owed_pages(engine: Engine, step: int) -> dict[int, Owed]:
    """incident id → the outbox row of its round-1 page for `step` (one recipient per step)."""
    with Session(engine) as s:
        rows = s.exec(select(OutboxMessage.key, OutboxMessage.status,
                             OutboxMessage.attempt_started_at)
                      .where(col(OutboxMessage.key).like(f"incident:%:page:1:1:{step}:%"))).all()
    return {int(key.split(":")[1]): Owed(status, as_utc(at)) for key, status, at in rows}


def backlog(engine: Engine) -> tuple[int, int]:
    """(outbox messages owed, of which to the shared incidents channel)."""
    with Session(engine) as s:
        owed = col(OutboxMessage.status).in_([PENDING, SENDING])
        total = s.exec(select(func.count()).select_from(OutboxMessage).where(owed)).one()
        shared = s.exec(select(func.count()).select_from(OutboxMessage)
                        .where(owed, OutboxMessage.channel == INCIDENTS_CHANNEL)).one()
    return total, shared


class FiredLog:
    """When each step timer was first seen done: its step's transaction had committed by then
    (to within one poll). No row records a commit time; `fired_at` is when the sweep began."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: set[int] = set()
        self.at: dict[tuple[int, int], float] = {}  # (incident, step) → time.time()

    def poll(self) -> None:
        now = time.time()
        with self.engine.connect() as conn:
            done = conn.execute(select(Timer.id).where(Timer.kind == escalation.STEP,
                                                       Timer.status == DONE)).scalars().all()
            new = [i for i in done if i not in self.seen]
            if not new:
                return
            rows = conn.execute(select(Timer.id, Timer.ref, Timer.payload)
                                .where(col(Timer.id).in_(new))).all()
        for timer_id, ref, payload in rows:
            self.seen.add(timer_id)
            if (payload or {}).get("round") == 1 and "step" in (payload or {}):
                self.at[(int(ref.split(":")[1]), int(payload["step"]))] = now


# -- pages ---------------------------------------------------------------------------------

@dataclass
class Page:
    incident: int
    step: int
    at: float  # time.time() when the fake received it


class PageLog:
    """The page DMs the fake received, read incrementally from its call log."""

    def __init__(self, fake: FakeSlack, fired: FiredLog) -> None:
        self.fake = fake
        self.fired = fired
        self.seen = 0
        self.pages: list[Page] = []
        self.other_calls: Counter = Counter()

    def refresh(self) -> list[Page]:
        calls = self.fake.calls
        for call in calls[self.seen:]:
            meta = call.args.get("metadata") if call.method == "chat.postMessage" else None
            payload = meta.get("event_payload") if isinstance(meta, dict) else None
            match = PAGE_KEY.match(str((payload or {}).get("key", "")))
            if match:
                self.pages.append(Page(int(match[1]), int(match[4]), call.at))
            else:
                self.other_calls[call.method] += 1
        self.seen = len(calls)
        return self.pages

    def of_step(self, step: int) -> list[Page]:
        return [p for p in self.refresh() if p.step == step]

    def wait(self, step: int, count: int, deadline: float) -> list[Page]:
        """Pages of `step` once `count` incidents got one, or whatever came by the deadline."""
        while True:
            self.fired.poll()
            pages = self.of_step(step)
            if len({p.incident for p in pages}) >= count or time.time() >= deadline:
                return pages
            time.sleep(POLL)


# -- results -------------------------------------------------------------------------------

@dataclass
class Round:
    name: str
    how: str
    expected: int
    due_span: float = math.nan  # seconds from the first to the last due time
    lateness: list[float] = field(default_factory=list)  # seconds, first page per incident
    censored: list[float] = field(default_factory=list)  # not in by the deadline: later than this
    to_claim: list[float] = field(default_factory=list)  # due → the timer claimed
    to_commit: list[float] = field(default_factory=list)  # claimed → the step committed (seen)
    to_dispatch: list[float] = field(default_factory=list)  # committed → page dispatched
    to_slack: list[float] = field(default_factory=list)  # page dispatched → the fake received it
    queued: int = 0  # still owed at the deadline (timer unfired or page undelivered)
    missed: int = 0  # expected, never received and no longer owed (failed or never written)
    duplicates: int = 0
    rate: float = math.nan  # pages per second, first due → last page

    def pct(self, q: float) -> str:
        """Percentile over every expected page, those not in by the deadline counting as later
        than all that came (shown as '>' the earliest of their lower bounds)."""
        total = len(self.lateness) + len(self.censored)
        if not total:
            return "-"
        k = max(0, math.ceil(q * total) - 1)
        if k < len(self.lateness):
            return f"{sorted(self.lateness)[k]:.3f}"
        return f">{min(self.censored):.0f}"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan


def measure(name: str, how: str, step: int, expected: set[int], pages: list[Page],
            due: dict[int, float], timers: dict[int, StepTimer], owed: dict[int, Owed],
            fired: dict[tuple[int, int], float], offset: float, deadline: float) -> Round:
    """Each expected incident's first page of the round minus its due time, both real time.

    `offset`: the bot's clock minus real time while the round ran (timer and outbox times are
    the bot's)."""
    result = Round(name, how, len(expected))
    first: dict[int, float] = {}
    for p in pages:
        first[p.incident] = min(p.at, first.get(p.incident, math.inf))
    dues = [due[i] for i in expected if i in due]
    if dues:
        result.due_span = max(dues) - min(dues)
    for incident in sorted(expected):
        at, timer, row = first.get(incident), timers.get(incident), owed.get(incident)
        if at is None:
            # No timer yet: the step before has not fired. A timer done without a page owed
            # (or with one failed for good) is a page lost.
            if timer is None or not timer.done or (row is not None and row.status in
                                                   (PENDING, SENDING)):
                result.queued += 1
                result.censored.append(deadline - due.get(incident, deadline))
            else:
                result.missed += 1
            continue
        result.lateness.append(at - due[incident])
        seen = fired.get((incident, step))
        if timer is None or timer.claimed is None or seen is None or row is None \
                or row.dispatched is None:
            continue
        claimed = timer.claimed.timestamp() - offset
        dispatched = row.dispatched.timestamp() - offset
        committed = min(seen, dispatched)  # the page cannot go before its step committed
        result.to_claim.append(claimed - due[incident])
        result.to_commit.append(committed - claimed)
        result.to_dispatch.append(dispatched - committed)
        result.to_slack.append(at - dispatched)
    if first and dues:
        result.rate = len(result.lateness) / max(max(first.values()) - min(dues), 1e-9)
    return result


# -- report --------------------------------------------------------------------------------

def machine_facts(db_description: str, args: argparse.Namespace, env: dict[str, str]) -> None:
    print(f"machine   : {os.cpu_count()} CPUs, {platform.platform()}; the bot, the fake Slack "
          "and this script share them")
    print(f"python    : {platform.python_version()} ({platform.python_implementation()}); "
          f"sqlalchemy {version('sqlalchemy')}, apscheduler {version('apscheduler')}, "
          f"slack_sdk {version('slack_sdk')}")
    print(f"database  : {db_description}")
    print("bot       : python -m bot serve with production defaults: timer sweep every 5 s plus a "
          "one-shot wake-up at each due time it sets; outbox polled every 1 s and woken on "
          "commit, 50 messages a round, 8 calls at once, in order per channel")
    pacing = (f"OUTBOX_CHANNEL_INTERVAL={env['OUTBOX_CHANNEL_INTERVAL']} (production 1 s between "
              "posts to one channel"
              + ("; pages here are DMs to different users)" if args.people == args.incidents
                 else ")"))
    print(f"changed   : {pacing}; CLOCK_OFFSET_FILE (moves the bot's clock)")
    if args.people == args.incidents:
        who = "each incident its own on-call people"
    elif args.people == 1:
        who = "one person per rotation: a step pages the same person for every incident"
    else:
        who = f"{args.people} teams, incidents round-robin over them"
    print(f"workload  : {args.incidents} open incidents, opened by this script with "
          f"escalation.open_incident; chain primary → wait {args.base_wait}–"
          f"{args.base_wait + args.spread - 1} s → secondary → wait {STEP2_WAIT} → lead; {who}; "
          f"no incident channels (announcements to C0GOV, summaries, page notices and summary "
          f"updates to {INCIDENTS_CHANNEL}), no update reminders")
    print()


def report(rounds: list[Round]) -> None:
    head = (f"{'round':<7} {'due by':<27} {'paged':>5} {'queued':>6} {'missed':>6} {'dup':>4} "
            f"{'span':>5} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8} {'pages/s':>7}")
    print(head + "\n" + "-" * len(head))
    for r in rounds:
        print(f"{r.name:<7} {r.how:<27} {len(r.lateness):>5} {r.queued:>6} {r.missed:>6} "
              f"{r.duplicates:>4} {r.due_span:>5.1f} {r.pct(.5):>8} {r.pct(.9):>8} "
              f"{r.pct(.99):>8} {r.pct(1):>8} {r.rate:>7.1f}")
    print("(seconds, real time: the fake Slack receiving the page DM minus the step's due time; "
          "paged: incidents whose page came by the deadline; queued: still owed then (timer not "
          "fired or page not yet sent), counted in the percentiles as later than every page that "
          "came ('>' their least lateness); missed: neither paged nor owed; dup: pages beyond one "
          "per incident and step, to the end of the run; span: first to last due time; pages/s: "
          "paged / (last page − first due))")

    print(f"\n{'where the time goes, p50 / p99 (s)':<26} {'due→claimed':>15} "
          f"{'claimed→committed':>17} {'committed→dispatched':>20} {'dispatched→Slack':>16}")
    for r in rounds:
        cells = [f"{pct(xs, .5):.3f} / {pct(xs, .99):.3f}" if xs else "-"
                 for xs in (r.to_claim, r.to_commit, r.to_dispatch, r.to_slack)]
        print(f"{r.name:<26} {cells[0]:>15} {cells[1]:>17} {cells[2]:>20} {cells[3]:>16}")
    print(f"(paged incidents only. claimed: the `now` of the sweep that claimed the step's timer "
          f"(the periodic sweep, or the one-shot wake-up at its due time); a sweep claims 100 "
          f"timers, then fires them one by one. committed: this script first saw the timer done "
          f"(polled every {POLL:g} s), or the page dispatched if that came first. dispatched: "
          f"the outbox dispatcher claiming the page DM; Slack: the fake receiving it)")


def bot_log_summary(output: str) -> None:
    """Warnings and errors the bot logged (JSON lines), counted by message with digits masked."""
    levels: Counter = Counter()
    messages: Counter = Counter()
    for line in output.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        level = str(entry.get("level", "")).upper()
        levels[level] += 1
        if level in ("WARNING", "ERROR", "CRITICAL"):
            message = re.sub(r"[0-9]+", "#", str(entry.get("message", "")))[:110]
            trace = [t for t in str(entry.get("exc_info") or "").strip().splitlines()
                     if t.strip() and not t.startswith(("(Background", "[SQL", "[parameters"))]
            if trace:  # the exception itself: the traceback's last line
                message += f" [{trace[-1][:90]}]"
            messages[f"{level} {message}"] += 1
    shown = ", ".join(f"{lvl} {n}" for lvl, n in sorted(levels.items()) if lvl)
    print(f"bot log   : {shown or 'nothing'}")
    for message, n in messages.most_common(5):
        print(f"  {n:>5} × {message}")


# -- main ----------------------------------------------------------------------------------

def set_offset(path: Path, seconds: float) -> float:
    """Write the bot's clock offset atomically (it reads the file on every `now`); returns when."""
    scratch = path.with_suffix(".tmp")
    scratch.write_text(f"{seconds:.6f}")
    os.replace(scratch, path)
    return time.time()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=bounded(1, MAX_INCIDENTS), default=1000,
                        help="open incidents, each paged once per round (1000)")
    parser.add_argument("--people", type=bounded(1, MAX_INCIDENTS), default=None,
                        help="teams the incidents are spread over, each with its own on-call "
                             "people; 1: every incident pages the same person, as one set of "
                             "rotations does (default: one team per incident)")
    parser.add_argument("--spread", type=bounded(1, 600), default=60,
                        help="step 2 falls due over this many seconds (60)")
    parser.add_argument("--base-wait", type=bounded(10, 600), default=60,
                        help="the shortest wait from step 1 to step 2, seconds (60)")
    parser.add_argument("--channel-interval", type=float, default=0.0,
                        help="OUTBOX_CHANNEL_INTERVAL for the bot, seconds (0; production: 1)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL on loopback, e.g. postgresql+psycopg://postgres@"
                             "127.0.0.1:5432/test (default: a SQLite file in a temp dir)")
    parser.add_argument("--max-seconds", type=bounded(60, 3600), default=300,
                        help="the whole run from opening on; a page not in by then is "
                             "'queued' (300)")
    args = parser.parse_args()
    args.people = min(args.people or args.incidents, args.incidents)

    # SIGTERM unwinds like Ctrl-C, so the bot and the schema are cleaned up either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    classes = min(args.incidents, max(args.spread, args.people))
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="timer-bench-")))
        db_url, db_description = stack.enter_context(
            database(args.database_url, tmp, prog="timer_lateness", migrate_sqlite=True))
        playbook_path = tmp / "playbook.yaml"
        playbook_path.write_text(playbook_yaml(classes, args.people, args.base_wait, args.spread))
        loaded = load_playbook(playbook_path)
        offset_path = tmp / "clock-offset"
        set_offset(offset_path, 0)
        clock = OffsetFileClock(str(offset_path))  # the bot's clock, read the way the bot does

        fake = FakeSlack()
        fake.start()
        stack.callback(fake.stop)
        env = bot_env(database_url=db_url, slack_api_url=fake.base_url,
                      PLAYBOOK_PATH=str(playbook_path), CLOCK_OFFSET_FILE=str(offset_path))
        for name in TEST_SPEEDUPS:
            env.pop(name, None)
        env["OUTBOX_CHANNEL_INTERVAL"] = f"{args.channel_interval:g}"
        machine_facts(db_description, args, env)

        db = Database(make_engine(db_url))  # writes, made as the bot makes them
        stack.callback(db.dispose)
        look = reader(db_url)
        stack.callback(look.dispose)
        bot = BotProcess("serve", {**env, "PORT": str(free_port())}, tmp)
        stack.callback(bot.stop)
        bot.start()
        fired = FiredLog(look)
        log = PageLog(fake, fired)

        # Step 1 is due on opening. This process commits it, so nothing wakes the bot: its
        # periodic sweep finds it (as when a web process opens incidents for a separate clock).
        started = time.time()
        end = started + args.max_seconds
        due1: dict[int, float] = {}
        polled = started
        for i in range(args.incidents):
            with db.session() as s:
                now = clock.now()
                incident = escalation.open_incident(
                    s, playbook=loaded, severity=f"s{i % classes:04d}",
                    title=f"Bench incident {i}", reporter=REPORTER, now=now)
                due1[incident.id] = now.timestamp()
            if time.time() - polled >= POLL:  # the bot fires step 1 while we open
                fired.poll()
                polled = time.time()
        ids = set(due1)
        took = time.time() - started
        print(f"opened    : {len(ids)} incidents in {took:.1f} s ({len(ids) / took:.0f}/s, one "
              "transaction each)", flush=True)
        rounds: list[Round] = []

        def finish(name: str, how: str, step: int, due: dict[int, float], offset: float) -> None:
            pages = log.wait(step, len(ids), end)
            rounds.append(measure(name, how, step, ids, pages, due, step_timers(look, step),
                                  owed_pages(look, step), fired.at, offset,
                                  min(time.time(), end)))
            r = rounds[-1]
            owed, shared = backlog(look)
            print(f"{name:<10}: {len(r.lateness)} of {len(ids)} paged by "
                  f"{time.time() - started:.0f} s into the run; outbox then owes {owed} "
                  f"messages, {shared} of them to {INCIDENTS_CHANNEL}", flush=True)

        finish("step 1", "sweep (set elsewhere)", 1, due1, 0.0)

        # Step 2: due base_wait + 0..spread-1 s after step 1 fired, on the real clock (offset 0).
        # The bot set these timers itself, so its commit scheduled a one-shot at each due time.
        log.wait(2, len(ids), end)
        due2 = {i: t.due.timestamp() for i, t in step_timers(look, 2).items()}
        finish("step 2", "one-shot wake-up at due", 2, due2, 0.0)

        # Step 3: jump the bot's clock so that every step-3 timer is due at the write; due (real)
        # = the write instant. The one-shots were set for the old clock, so the sweep finds them.
        timers3 = step_timers(look, 3)
        if len(timers3) == len(ids) and not any(t.done for t in timers3.values()) \
                and time.time() < end:
            offset = max(t.due for t in timers3.values()).timestamp() - time.time()
            written = set_offset(offset_path, offset)
            finish("step 3", "sweep after a clock jump", 3, {i: written for i in timers3}, offset)
        else:
            rounds.append(Round("step 3", "not run: step 2 not done", len(ids)))

        bot.stop()
        for r, step in zip(rounds, (1, 2, 3)):
            per_incident = Counter(p.incident for p in log.of_step(step))
            r.duplicates = sum(n - 1 for n in per_incident.values())
        print(f"ran       : {time.time() - started:.0f} s from opening (--max-seconds "
              f"{args.max_seconds})")
        sent = ", ".join(f"{m} {n}" for m, n in sorted(log.other_calls.items()))
        print(f"slack     : {len(log.pages)} page DMs; other calls: {sent or 'none'}")
        bot_log_summary(bot.output())
        print()
        report(rounds)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; bot stopped", file=sys.stderr)
        sys.exit(130)
