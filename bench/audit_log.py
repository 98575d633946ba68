"""The audit log's costs, each beside its physical limit measured in the same run.

    .venv/bin/python bench/audit_log.py [--events 1000000] [--writers 8] [--written 20000]
        [--postgres URL | --sqlite-only] [--json FILE]

1. Sealing while writers insert: W threads insert events as the product does (one transaction
   each, services.audit.append) for a fixed count, first alone, then with the sequencer sealing
   beside them. Printed: the writers' events/s both ways (what sealing costs them) and the
   sequencer's events/s, next to raw SQL updating the same rows with precomputed seals (the
   database's own limit for that write).
2. `audit verify` over N events (default 1,000,000, bulk-inserted and sealed first): its time
   and events/s, next to reading what verify reads (the database spells each event's canonical
   encoding; no hashing) and to reading every column through the driver's bare cursor (the
   limit) — the goal is at least 200,000 events/s and at most twice the read.

One table per database, and a JSON document (--json) with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import bindparam, func, insert, select, update  # noqa: E402

from bench.common import add_database_args, bounded, database, run_script, version  # noqa: E402
from bot.audit_job import verify_engine  # noqa: E402
from bot.db import Database, make_engine, snapshot  # noqa: E402
from models.audit import AuditEvent  # noqa: E402
from services import audit  # noqa: E402
from services.audit_log import sealer, store  # noqa: E402
from services.audit_log.keys import keygen, load_signing_key  # noqa: E402
from services.audit_log.sealer import CHECKPOINT_ACTION  # noqa: E402

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ORIGIN = "bench/audit"


def write(db: Database, count: int, writer: int) -> None:
    for i in range(count):
        with db.session() as s:
            audit.append(s, at=T0 + timedelta(milliseconds=i), actor=f"U{writer:04d}",
                         action="approval.approved", entity_type="approval_request",
                         entity_id=str(writer * 1_000_000 + i),
                         payload={"writer": writer, "n": i, "reason": "looks right to me"})


def writers(db: Database, n: int, total: int) -> float:
    each = total // n
    threads = [threading.Thread(target=write, args=(db, each, w)) for w in range(n)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return each * n / (time.perf_counter() - start)


def seal_everything(db: Database) -> int:
    total = 0
    while True:
        try:
            with db.session() as s:
                got = len(sealer.seal_batch(s, now=datetime.now(UTC)).records)
        except sealer.SealConflict:
            continue
        total += got
        if got < sealer.BATCH:
            return total


def sealing_beside_writers(url: str, n: int, total: int) -> dict:
    db = Database(make_engine(url), threads=n + 2)
    alone = writers(db, n, total)
    seal_everything(db)
    stop = threading.Event()
    sealed = [0]

    def sequencer() -> None:
        while not stop.is_set():
            sealed[0] += seal_everything(db)

    clock = threading.Thread(target=sequencer)
    start = time.perf_counter()
    clock.start()
    beside = writers(db, n, total)
    stop.set()
    clock.join()
    seconds = time.perf_counter() - start
    sealed[0] += seal_everything(db)
    # The sequencer alone on a backlog, and raw SQL writing the same seals (the limit).
    bulk(db, 50_000, start=10_000_000)
    start = time.perf_counter()
    backlog = seal_everything(db)
    sealing_rate = backlog / (time.perf_counter() - start)
    raw_rate = raw_seal_update(db, 50_000)
    db.dispose()
    return {"writers": n, "events_per_writer_run": total, "writers_alone_eps": alone,
            "writers_with_sealing_eps": beside, "sealed_while_writing_eps": sealed[0] / seconds,
            "sequencer_backlog_eps": sealing_rate, "raw_sql_seal_update_eps": raw_rate}


def bulk(db: Database, count: int, *, start: int = 0) -> None:
    rows = ({"at": T0 + timedelta(seconds=i), "actor": "U0001", "action": "incident.paged",
             "entity_type": "incident", "entity_id": str(i),
             "payload": {"step": i % 7, "policy": "critical"}, "request_id": None}
            for i in range(start, start + count))
    chunk: list[dict] = []
    with db.session() as s:
        for row in rows:
            chunk.append(row)
            if len(chunk) == 10_000:
                s.execute(insert(AuditEvent), chunk)
                chunk = []
        if chunk:
            s.execute(insert(AuditEvent), chunk)


def raw_seal_update(db: Database, count: int) -> float:
    """UPDATE the same columns of `count` fresh rows with precomputed values, batches of 1,000:
    what the database itself needs for sealing's writes."""
    bulk(db, count, start=20_000_000)
    with db.session() as s:
        ids = list(s.scalars(select(AuditEvent.id).where(AuditEvent.seq.is_(None))
                             .order_by(AuditEvent.id)))
        top = s.scalar(select(func.max(AuditEvent.seq))) or 0
    table = AuditEvent.__table__
    stmt = (update(table).where(table.c.id == bindparam("_id"), table.c.seq.is_(None))
            .values(seq=bindparam("_seq"), leaf_hash=bindparam("_leaf"), sealed_at=T0))
    start = time.perf_counter()
    for i in range(0, len(ids), 1000):
        with db.session() as s:
            s.execute(stmt, [{"_id": id_, "_seq": top + 1 + i + j, "_leaf": "ab" * 32}
                             for j, id_ in enumerate(ids[i:i + 1000])])
    return len(ids) / (time.perf_counter() - start)


def raw_read_all_columns(conn) -> int:
    """Every column of every sealed row through the cursor verify reads with, as text — the
    driver parses no JSON and builds no datetime: what reading the log costs before any
    checking."""
    at, payload = ("at::text", "payload::text") if conn.dialect.name == "postgresql" \
        else ("at", "payload")
    sql = (f"SELECT seq, id, {at}, actor, action, entity_type, entity_id, {payload}, "
           "request_id, leaf_hash FROM audit_event WHERE seq IS NOT NULL ORDER BY seq")
    return sum(len(chunk) for chunk in store.driver_chunks(conn, sql))


def verify_figures(url: str, events: int) -> dict:
    db = Database(make_engine(url))
    done = 0
    while done < events:
        step = min(100_000, events - done)
        bulk(db, step, start=30_000_000 + done)
        done += step
    seal_everything(db)
    private_pem, _ = keygen(ORIGIN)
    key = load_signing_key(private_pem, name=ORIGIN)
    with db.session() as s:
        sealer.checkpoint(s, now=datetime.now(UTC), signer=key, origin=ORIGIN, interval=None)
    seal_everything(db)
    start = time.perf_counter()
    with snapshot(db.engine) as conn:
        read = sum(len(chunk) for chunk in store.encoded_chunks(conn, CHECKPOINT_ACTION))
    read_seconds = time.perf_counter() - start
    start = time.perf_counter()
    with snapshot(db.engine) as conn:
        raw = raw_read_all_columns(conn)
    raw_seconds = time.perf_counter() - start
    start = time.perf_counter()
    report = verify_engine(db.engine, trusted=key.verifier(), origin=ORIGIN)
    verify_seconds = time.perf_counter() - start
    assert report.ok, report.summary
    db.dispose()
    return {"events": report.events, "verify_seconds": verify_seconds,
            "verify_eps": report.events / verify_seconds,
            "read_records_seconds": read_seconds, "read_records_eps": read / read_seconds,
            "read_raw_seconds": raw_seconds, "read_raw_eps": raw / raw_seconds,
            "verify_over_read_records": verify_seconds / read_seconds,
            "verify_over_read_raw": verify_seconds / raw_seconds, "summary": report.summary}


def table(name: str, seal: dict, ver: dict) -> None:
    print(f"\n== {name}")
    print(f"{'sealing while writers insert':<58} {'events/s':>10}")
    print(f"{'  ' + str(seal['writers']) + ' writers alone (one transaction per event)':<58} "
          f"{seal['writers_alone_eps']:>10,.0f}")
    print(f"{'  the same writers with the sequencer sealing beside them':<58} "
          f"{seal['writers_with_sealing_eps']:>10,.0f}")
    print(f"{'  sealed meanwhile by the sequencer':<58} {seal['sealed_while_writing_eps']:>10,.0f}")
    print(f"{'  sequencer on a backlog of 50,000':<58} {seal['sequencer_backlog_eps']:>10,.0f}")
    print(f"{'  raw SQL writing the same seal columns (the limit)':<58} "
          f"{seal['raw_sql_seal_update_eps']:>10,.0f}")
    print(f"{'audit verify over ' + format(ver['events'], ',') + ' events':<58} {'seconds':>10} "
          f"{'events/s':>10}")
    print(f"{'  verify (leaves, tree, checkpoint, signature)':<58} {ver['verify_seconds']:>10.2f} "
          f"{ver['verify_eps']:>10,.0f}")
    print(f"{'  read what verify reads (the database encodes, no hashing)':<58} "
          f"{ver['read_records_seconds']:>10.2f} {ver['read_records_eps']:>10,.0f}")
    print(f"{'  read every column, raw driver cursor (the limit)':<58} "
          f"{ver['read_raw_seconds']:>10.2f} {ver['read_raw_eps']:>10,.0f}")
    print(f"  verify / read what verify reads = {ver['verify_over_read_records']:.2f}×, "
          f"verify / raw read = {ver['verify_over_read_raw']:.2f}× "
          f"(goal: ≥ 200,000 events/s and ≤ 2× the read)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=bounded(1000, 5_000_000), default=1_000_000)
    parser.add_argument("--writers", type=bounded(1, 64), default=8)
    parser.add_argument("--written", type=bounded(100, 1_000_000), default=20_000,
                        help="events the writers insert in each of the two sealing runs")
    parser.add_argument("--json", type=Path, default=None)
    add_database_args(parser)
    parser.add_argument("--postgres-only", action="store_true")
    args = parser.parse_args()
    print(f"machine : {os.cpu_count()} CPUs, {platform.platform()}, Python "
          f"{platform.python_version()}, SQLAlchemy {version('sqlalchemy')}")
    targets = [None] + ([args.postgres] if args.postgres and not args.sqlite_only else [])
    if args.postgres_only:
        if not args.postgres:
            parser.error("--postgres-only needs --postgres URL (or $TEST_DATABASE_URL)")
        targets = [args.postgres]
    out = {}
    for target in targets:
        with tempfile.TemporaryDirectory() as tmp, \
                database(target, Path(tmp), prog="audit_log", migrate_sqlite=True) as (url, desc):
            seal = sealing_beside_writers(url, args.writers, args.written)
        with tempfile.TemporaryDirectory() as tmp, \
                database(target, Path(tmp), prog="audit_log", migrate_sqlite=True) as (url, desc):
            ver = verify_figures(url, args.events)
        table(desc, seal, ver)
        out["sqlite" if target is None else "postgresql"] = {"database": desc, "sealing": seal,
                                                             "verify": ver}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    run_script(main)
