"""One outbox claim round with a big backlog, on SQLite and PostgreSQL.

    .venv/bin/python bench/outbox_claim.py [--owed N] [--busy-share F] [--history M] [--repeat R]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test] [--sqlite-only]

Seeds a throwaway database with M delivered messages (default 20,000) and N owed ones
(default 8,000), a share of them (default 84%) to one busy channel and the rest to 1,000 DM
channels, half of all replies in a thread, as an incident storm leaves the outbox: every page
notice and summary update to the incidents channel, one page DM per person. Then times what
the dispatcher runs each round, `services.outbox.claim_due(limit=50)` in one transaction
(rolled back, so each run sees the same backlog), and counts its SQL statements. The same is
done with a backlog 10× smaller: a time that stays put shows the claim does not walk the
backlog or the delivered history.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: `bot`, `bench`, `services` live at the root

from sqlalchemy import event, insert, text
from sqlmodel import Session

from bench.common import add_database_args, bounded, database, run_script, version
from bot.db import make_engine
from models.outbox import PENDING, SENT, OutboxMessage
from services import outbox

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BUSY = "C0INCIDENTS"
DM_CHANNELS = 1_000
LIMIT = 50
SMALLER = 10


def seed(engine, *, owed: int, busy_share: float, history: int) -> None:
    rows = []
    for n in range(history):
        rows.append({"key": f"sent:{n}", "channel": BUSY if n % 3 == 0 else f"D{n % DM_CHANNELS:04d}",
                     "status": SENT, "next_attempt_at": NOW - timedelta(days=1)})
    busy = int(owed * busy_share)
    for n in range(owed):
        channel = BUSY if n < busy else f"D{n % DM_CHANNELS:04d}"
        rows.append({"key": f"owed:{n}", "channel": channel, "status": PENDING, "next_attempt_at": NOW,
                     "thread_of": "sent:0" if n % 2 else None})
    common = {"method": "chat.postMessage", "payload": {}, "attempts": 0, "maybe_sent": False,
              "thread_of": None, "created_at": NOW - timedelta(days=1)}
    with engine.begin() as conn:
        for start in range(0, len(rows), 5_000):
            conn.execute(insert(OutboxMessage.__table__), [{**common, **r} for r in rows[start:start + 5_000]])
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE outbox_message"))  # as autovacuum would after such a load


def measure(url: str, *, repeat: int) -> tuple[list[float], int, int]:
    """(seconds per round, messages claimed, statements per round)."""
    engine = make_engine(url)
    statements = [0]

    @event.listens_for(engine, "after_cursor_execute")
    def count(*_: object) -> None:
        statements[0] += 1

    times, claimed = [], 0
    try:
        for n in range(repeat + 1):  # the first is a warm-up
            with Session(engine) as s:
                statements[0] = 0
                start = time.perf_counter()
                claimed = len(outbox.claim_due(s, now=NOW, owner="bench", lease=timedelta(seconds=60),
                                               limit=LIMIT))
                elapsed = time.perf_counter() - start
                s.rollback()
            if n:
                times.append(elapsed)
    finally:
        engine.dispose()
    return times, claimed, statements[0]


def run(url: str | None, args: argparse.Namespace) -> None:
    for scale in (1, SMALLER):
        owed, history = max(1, args.owed // scale), args.history // scale
        with tempfile.TemporaryDirectory(prefix="outbox-bench-") as tmp, \
                database(url, Path(tmp), prog="outbox_claim", migrate_sqlite=True) as (db_url, what):
            if scale == 1:
                print(f"\n=== {what}")
            engine = make_engine(db_url)
            started = time.perf_counter()
            seed(engine, owed=owed, busy_share=args.busy_share, history=history)
            engine.dispose()
            seeded = time.perf_counter() - started
            times, claimed, stmts = measure(db_url, repeat=args.repeat)
            ms = sorted(t * 1000 for t in times)
            p90 = ms[min(len(ms) - 1, int(len(ms) * 0.9))]
            print(f"{owed:>7,} owed + {history:>7,} delivered (seeded in {seeded:4.1f} s): claimed {claimed} "
                  f"per round; p50 {statistics.median(ms):7.1f} ms, p90 {p90:7.1f} ms, "
                  f"max {ms[-1]:7.1f} ms; {stmts} statements")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owed", type=bounded(10, 1_000_000), default=8_000,
                        help="messages owed (8000)")
    parser.add_argument("--busy-share", type=float, default=0.84,
                        help="share of the owed messages to the one busy channel (0.84)")
    parser.add_argument("--history", type=bounded(0, 5_000_000), default=20_000,
                        help="messages already delivered (20000)")
    parser.add_argument("--repeat", type=bounded(1, 1000), default=10,
                        help="timed rounds after one warm-up (10)")
    add_database_args(parser)
    args = parser.parse_args()
    if not 0 <= args.busy_share <= 1:
        parser.error("--busy-share must be between 0 and 1")

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine : {os.cpu_count()} CPUs, {platform.platform()}; load average {load} at start")
    print(f"python  : {platform.python_version()}; sqlalchemy {version('sqlalchemy')}, "
          f"psycopg {version('psycopg')}")
    print(f"workload: {args.busy_share:.0%} of the owed messages to {BUSY}, the rest over {DM_CHANNELS:,} DM "
          f"channels, half of them thread replies; claim_due(limit={LIMIT}) per round, rolled back; "
          f"then the same at 1/{SMALLER}")
    run(None, args)
    if args.postgres and not args.sqlite_only:
        run(args.postgres, args)
    return 0


if __name__ == "__main__":
    run_script(main)
