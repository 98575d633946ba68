"""AI-usage ingestion: events/s through the running bot next to a bare bulk insert of the same
rows, and what ingesting at full speed does to Slack's acknowledgements, in one run.

    .venv/bin/python bench/ingest.py [--batches 40] [--clients 4] [--acks 200]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--json FILE]

1. The real bot (`python -m bot serve`, production pacing) on a fresh database, with a token
   of scope `ingest`. Slack acks first with nothing else going on: `/ai-approve help` from 4
   concurrent clients, signed as Slack signs.
2. Ingestion at full speed: C clients in a process of their own, each posting batches of
   1,000 events, first as OTLP protobuf to /v1/traces (GenAI spans, a prompt with an address
   to redact in each), then as native JSON to /api/v1/ai-events; events/s per kind, from the
   first request to the last answer. Meanwhile the same Slack acks are measured again.
3. The limit: the rows the product wrote (read back) inserted again under fresh keys by
   SQLAlchemy Core, 1,000 a transaction, into the same table: what the database takes
   without parsing, redaction or HTTP.
4. The bot's resident memory at the end and its peak (VmRSS, VmHWM).

Goals (issue "AI usage"): PostgreSQL >= 10,000 events/s and >= 0.5x the bare insert; SQLite
>= 3,000/s; ack p99 while ingesting <= 2x idle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue  # noqa: E402
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from bench import ack_latency  # noqa: E402
from bench.ack_latency import EXAMPLE_PLAYBOOK, TEST_SPEEDUPS, send  # noqa: E402
from bench.common import bounded, database, version  # noqa: E402
from bot.db import make_engine  # noqa: E402
from models.usage import UsageEvent  # noqa: E402
from services import tokens  # noqa: E402
from bot.db import Database  # noqa: E402
from tests.harness.fake_slack import FakeSlack  # noqa: E402
from tests.harness.server import BotProcess, bot_env, free_port  # noqa: E402

BATCH = 1000
START_NS = 1_764_579_600_000_000_000
PROMPT = ("Customer jane.doe@example.com asks why invoice 4711 was charged twice; summarise "
          "the ticket history and draft a polite answer for the support agent to review.")


def kv(key: str, value: str | int) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(int_value=value) if isinstance(value, int)
                    else AnyValue(string_value=value))


def otlp_body(batch: int) -> bytes:
    spans = []
    for i in range(BATCH):
        n = batch * BATCH + i
        spans.append(Span(
            trace_id=(n + 1).to_bytes(16, "big"), span_id=(n + 1).to_bytes(8, "big"), name="chat",
            start_time_unix_nano=START_NS + n * 1_000_000, end_time_unix_nano=START_NS + n * 1_000_000 + 900_000_000,
            attributes=[kv("gen_ai.operation.name", "chat"), kv("gen_ai.provider.name", "openai"),
                        kv("gen_ai.request.model", "gpt-4o-mini"),
                        kv("gen_ai.usage.input_tokens", 120), kv("gen_ai.usage.output_tokens", 40),
                        kv("user.id", f"U{n % 50:04d}"), kv("countersign.use_case", "UC-12"),
                        kv("gen_ai.input.messages", json.dumps(
                            [{"role": "user", "parts": [{"type": "text", "content": PROMPT}]}]))]))
    resource = ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])
    resource.resource.attributes.append(kv("service.name", "support-bot"))
    return ExportTraceServiceRequest(resource_spans=[resource]).SerializeToString()


def native_body(batch: int) -> bytes:
    return json.dumps({"events": [
        {"id": f"bench-{batch}-{i}", "started_at": "2026-12-01T09:00:00Z", "model": "gpt-4o",
         "provider": "openai", "service": "copy-writer", "user": f"U{i % 50:04d}",
         "input_tokens": 200, "output_tokens": 80, "input": PROMPT}
        for i in range(BATCH)]}).encode()


async def ingest(url: str, token: str, bodies: list[bytes], clients: int,
                 content_type: str) -> tuple[float, int, list[float]]:
    """(wall seconds, events accepted, per-request latencies)."""
    todo = iter(bodies)
    accepted = 0
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal accepted
        for body in todo:
            while True:
                started = time.perf_counter()
                answer = await http.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                if answer.status_code == 429:  # told to come back: as an exporter would
                    await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
                    continue
                if answer.status_code != 200:
                    raise SystemExit(f"ingest: {answer.status_code} {answer.text[:300]}")
                accepted += BATCH if content_type == "application/x-protobuf" else \
                    answer.json()["accepted"]
                break

    pool = [httpx.AsyncClient(timeout=120) for _ in range(clients)]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for http in pool))
        return time.perf_counter() - started, accepted, latencies
    finally:
        await asyncio.gather(*(http.aclose() for http in pool))


def ingest_elsewhere(url: str, token: str, kind: str, batches: int, clients: int
                     ) -> tuple[float, int, list[float]]:
    """`ingest` in a process of its own: building and sending megabytes of batches must not
    slow the loop that times the Slack acks beside it."""
    build, content_type = ((otlp_body, "application/x-protobuf") if kind == "otlp"
                           else (native_body, "application/json"))
    bodies = [build(b) for b in range(batches)]
    return asyncio.run(ingest(url, token, bodies, clients, content_type))


async def acks_while(url: str, fake: FakeSlack, n: int, pool: ProcessPoolExecutor, *args
                     ) -> tuple[list[float], tuple[float, int, list[float]]]:
    """Slack acks measured while another process ingests (rounds of n until it is done)."""
    work = asyncio.get_running_loop().run_in_executor(pool, ingest_elsewhere, *args)
    latencies: list[float] = []
    while not work.done():
        got, errors, _, _ = await send(url, fake, "command", n, 4, 300)
        if errors:
            raise SystemExit(f"ingest: {errors} Slack acks failed during ingestion")
        latencies.extend(got)
    return latencies, await work


def bare_insert(url: str, rounds: int) -> tuple[float, int]:
    """The product's own rows, re-keyed, through SQLAlchemy Core in transactions of BATCH."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            sample = [dict(r._mapping) for r in conn.execute(
                select(UsageEvent.__table__).limit(BATCH))]
        for row in sample:
            row.pop("id")
        table = UsageEvent.__table__
        started = time.perf_counter()
        for r in range(rounds):
            rows = [{**row, "key": f"bare:{r}:{i}"} for i, row in enumerate(sample)]
            with engine.begin() as conn:
                conn.execute(insert(table), rows)
        return time.perf_counter() - started, rounds * len(sample)
    finally:
        engine.dispose()


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM in MB of the process and, summed, of its children (the workers)."""
    def status(p: int) -> dict[str, float]:
        fields = {}
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
        return fields

    own = status(pid)
    children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for child in children:
        for name, value in status(child).items():
            own[f"children {name}"] = own.get(f"children {name}", 0) + value
    own["children"] = len(children)
    return own


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000 if ordered else math.nan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=bounded(2, 1000), default=40,
                        help="batches of 1,000 events per kind (default 40)")
    parser.add_argument("--clients", type=bounded(1, 32), default=4)
    parser.add_argument("--acks", type=bounded(20, 5000), default=200,
                        help="Slack acks per measurement round (default 200)")
    parser.add_argument("--processes", type=bounded(0, 16), default=None,
                        help="the bot's INGEST_PROCESSES (default: the bot's own default)")
    parser.add_argument("--no-watch", action="store_true",
                        help="keep the usage watcher idle (USAGE_WATCH_INTERVAL very long), to see "
                             "ingestion alone")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    figures: dict[str, object] = {"batches": args.batches, "batch": BATCH, "clients": args.clients}
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ingest-")))
        url, desc = stack.enter_context(database(args.database_url, tmp, prog="ingest",
                                                 migrate_sqlite=True))
        db = Database(make_engine(url))
        with db.session() as s:
            token = tokens.create(s, name="bench", scopes="ingest", now=datetime.now(UTC),
                                  actor="cli:bench")
        db.dispose()
        fake = FakeSlack()
        fake.start()
        stack.callback(fake.stop)
        env = bot_env(database_url=url, slack_api_url=fake.base_url, PORT=str(free_port()),
                      PLAYBOOK_PATH=str(EXAMPLE_PLAYBOOK))
        for name in TEST_SPEEDUPS:
            env.pop(name, None)
        if args.no_watch:
            env["USAGE_WATCH_INTERVAL"] = "1000000"
        if args.processes is not None:
            env["INGEST_PROCESSES"] = str(args.processes)
        bot = BotProcess("serve", env, tmp)
        stack.callback(bot.stop)
        bot.start()
        asyncio.run(send(bot.url, fake, "command", 30, 1, 60))  # warm-up
        idle, errors, _, _ = asyncio.run(send(bot.url, fake, "command", args.acks, 4, 300))
        if errors:
            raise SystemExit(f"ingest: {errors} Slack acks failed while idle")
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            busy_otlp, (otlp_wall, otlp_n, otlp_lat) = asyncio.run(acks_while(
                bot.url, fake, args.acks, pool, f"{bot.url}/v1/traces", token, "otlp",
                args.batches, args.clients))
            busy, (native_wall, native_n, native_lat) = asyncio.run(acks_while(
                bot.url, fake, args.acks, pool, f"{bot.url}/api/v1/ai-events", token,
                "native", args.batches, args.clients))
        busy += busy_otlp
        rss = memory(bot.proc.pid)
        engine = make_engine(url)
        with engine.connect() as conn:
            stored = conn.scalar(select(func.count()).select_from(UsageEvent))
        engine.dispose()
        bot.stop()
        bare_wall, bare_n = bare_insert(url, args.batches)
    expected = 2 * args.batches * BATCH
    if stored != expected:
        raise SystemExit(f"ingest: {stored} events stored, expected {expected}")
    rows = [("OTLP protobuf /v1/traces", otlp_n, otlp_wall, otlp_lat),
            ("native JSON /api/v1/ai-events", native_n, native_wall, native_lat),
            ("bare bulk insert (Core)", bare_n, bare_wall, [])]
    print(f"database: {desc}")
    print(f"python {sys.version.split()[0]}, sqlalchemy {version('sqlalchemy')}, "
          f"{args.clients} clients, batches of {BATCH}\n")
    head = f"{'path':<32} {'events':>8} {'seconds':>8} {'events/s':>9} {'vs bare':>8} {'req p99 ms':>11}"
    print(head + "\n" + "-" * len(head))
    bare_rate = bare_n / bare_wall
    for name, n, wall, lat in rows:
        rate = n / wall
        figures[name] = {"events": n, "seconds": round(wall, 3), "events_per_s": round(rate)}
        print(f"{name:<32} {n:>8} {wall:>8.2f} {rate:>9.0f} {rate / bare_rate:>8.2f} "
              f"{pct(lat, .99) if lat else math.nan:>11.0f}")
    print(f"\n{'Slack ack (c=4)':<32} {'count':>8} {'p50 ms':>8} {'p99 ms':>9} {'max ms':>8}")
    for name, lat in (("idle", idle), ("while ingesting", busy)):
        figures[f"ack {name}"] = {"count": len(lat), "p50_ms": round(pct(lat, .5), 1),
                                  "p99_ms": round(pct(lat, .99), 1)}
        print(f"{name:<32} {len(lat):>8} {pct(lat, .5):>8.1f} {pct(lat, .99):>9.1f} "
              f"{pct(lat, 1):>8.1f}")
    print(f"ack p99 ingesting / idle: {pct(busy, .99) / pct(idle, .99):.2f}")
    figures["rss_mb"] = {k: round(v, 1) for k, v in rss.items()}
    print(f"bot memory at the end: RSS {rss.get('VmRSS', 0):.0f} MB, peak {rss.get('VmHWM', 0):.0f} MB; "
          f"its {rss['children']:.0f} child processes (workers, multiprocessing's tracker): RSS {rss.get('children VmRSS', 0):.0f} MB, "
          f"peak {rss.get('children VmHWM', 0):.0f} MB")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
