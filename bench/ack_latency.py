"""How long Countersign takes to ack Slack, next to a bare Bolt app on the same stack.

    .venv/bin/python bench/ack_latency.py [--requests N] [--concurrency C]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Starts a fake Slack, then each server in turn (the real `python -m bot serve`, then
bench/bare_bolt_app.py), sends both the same signed requests over loopback and prints
client-side latency percentiles, throughput and the Countersign/bare ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: `bot` and `tests.harness` live at the root

import httpx  # noqa: E402
import yaml  # noqa: E402

from bench.common import bounded, database, version  # noqa: E402
from tests.harness import payloads  # noqa: E402
from tests.harness.fake_slack import FakeSlack  # noqa: E402
from tests.harness.server import SIGNING_SECRET, BotProcess, bot_env, free_port  # noqa: E402
from tests.harness.signing import FORM, JSON, SlackSigner  # noqa: E402

BARE_APP = Path(__file__).resolve().parent / "bare_bolt_app.py"
ACK_DEADLINE = 3.0  # Slack shows the user an error if the ack takes longer
REQUEST_TIMEOUT = 10.0
MAX_REQUESTS = 20_000
MAX_CONCURRENCY = 64
# bot_env speeds the clock up for tests; the bench wants the background load of production.
TEST_SPEEDUPS = ("OUTBOX_POLL_INTERVAL", "OUTBOX_CHANNEL_INTERVAL", "OUTBOX_RETRY_BASE",
                 "OUTBOX_LEASE", "SLACK_API_TIMEOUT", "TIMER_SWEEP_INTERVAL",
                 "LEADER_REFRESH_INTERVAL", "PLAYBOOK_WATCH_INTERVAL")
EXAMPLE_PLAYBOOK = REPO / "playbook.example.yaml"


class BareBoltProcess(BotProcess):
    """BotProcess's health wait, logs and stop, around bench/bare_bolt_app.py instead."""

    def start(self, wait_healthy: bool = True, timeout: float = 30.0) -> BareBoltProcess:
        self.runs += 1
        out = open(self.workdir / f"{self.name}-run{self.runs}.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(BARE_APP), "--port", str(self.port)],
            cwd=self.workdir, env={**self.env, "PYTHONPATH": str(REPO)},
            stdout=out, stderr=subprocess.STDOUT,
        )
        if wait_healthy:
            self.wait_healthy(timeout)
        return self


# -- requests ------------------------------------------------------------------------------

Check = Callable[[httpx.Response], bool]


def help_command(fake: FakeSlack) -> tuple[str, str, Check]:
    trigger_id = payloads.new_trigger_id()  # fresh, or Countersign drops it as a retry
    fields = payloads.slash_command("/ai-approve", "help", trigger_id=trigger_id,
                                    response_url=fake.response_url(trigger_id))

    def answered(resp: httpx.Response) -> bool:
        # An empty 200 is Countersign dropping a "retry": an ack, but not the one we timed.
        return resp.status_code == 200 and resp.content != b"" and \
            resp.json().get("response_type") == "ephemeral"

    return urlencode(fields), FORM, answered


def home_opened(_: FakeSlack) -> tuple[str, str, Check]:
    event = {"type": "app_home_opened", "user": "U0USER", "tab": "home", "channel": "D0USER",
             "event_ts": f"{time.time():.6f}"}
    return json.dumps(payloads.event_callback(event)), JSON, lambda r: r.status_code == 200


WORKLOADS = {"command": help_command, "app_home_opened": home_opened}


@dataclass
class Result:
    server: str
    workload: str
    concurrency: int
    latencies: list[float]
    errors: int
    wall: float
    size: int  # bytes of the largest response body

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000 if ordered else math.nan

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall else math.nan

    @property
    def within_deadline(self) -> int:
        return sum(1 for x in self.latencies if x < ACK_DEADLINE)


async def send(base_url: str, fake: FakeSlack, kind: str, n: int, concurrency: int,
               seconds: float) -> tuple[list[float], int, float, int]:
    signer = SlackSigner(SIGNING_SECRET)
    build = WORKLOADS[kind]
    todo = iter(range(n))  # shared by the workers, so each request is sent once
    latencies: list[float] = []
    errors = size = 0

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors, size
        for _ in todo:
            if time.monotonic() > deadline:
                return
            body, content_type, ok = build(fake)
            headers = {"Content-Type": content_type, **signer.headers(body)}
            started = time.perf_counter()
            try:
                resp = await http.post(f"{base_url}/slack/events", content=body.encode(),
                                       headers=headers)
                good = ok(resp)
                size = max(size, len(resp.content))
            except (httpx.HTTPError, ValueError):
                good = False
            latencies.append(time.perf_counter() - started)
            errors += not good

    # Making an httpx client blocks the loop for tens of ms (its SSL context), and a first
    # request pays for the connection: do both before the clock starts, or the first
    # requests of a concurrent run time the client, not the server.
    clients = [httpx.AsyncClient(timeout=REQUEST_TIMEOUT) for _ in range(concurrency)]
    try:
        await asyncio.gather(*(http.get(f"{base_url}/healthz") for http in clients))
        deadline = time.monotonic() + seconds
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for http in clients))
        wall = time.perf_counter() - started
    finally:
        await asyncio.gather(*(http.aclose() for http in clients))
    return latencies, errors, wall, size


def drain_publishes(fake: FakeSlack, expected: int) -> None:
    """Home tabs are published after the ack; let them finish so they don't slow the next run."""
    try:
        fake.wait_for("views.publish", count=expected, timeout=30)
    except AssertionError:
        print(f"  note: {len(fake.calls_to('views.publish'))} of {expected} home tabs published",
              file=sys.stderr)


def measure(name: str, server: BotProcess, fake: FakeSlack, args: argparse.Namespace,
            seconds: float) -> list[Result]:
    """Warm-up and the four measured rows, each allowed `seconds` of sending."""
    url = server.url
    fake.reset()
    events_sent = 0
    for kind in WORKLOADS:  # warm-up: lazy imports, DB pool, Bolt's first auth.test
        lat, *_ = asyncio.run(send(url, fake, kind, args.warmup, 1, seconds))
        events_sent += len(lat) if kind == "app_home_opened" else 0
    results = []
    for kind in WORKLOADS:
        for concurrency in sorted({1, args.concurrency}):
            lat, errors, wall, size = asyncio.run(
                send(url, fake, kind, args.requests, concurrency, seconds))
            results.append(Result(name, kind, concurrency, lat, errors, wall, size))
            if kind == "app_home_opened":
                events_sent += len(lat)
                drain_publishes(fake, events_sent)
    return results


def seed_playbook_groups(fake: FakeSlack) -> None:
    """The user groups the example playbook names exist, so the bot starts as in production."""
    groups = yaml.safe_load(EXAMPLE_PLAYBOOK.read_text()).get("groups") or {}
    for i, group in enumerate(g for g in groups.values() if "usergroup" in g):
        fake.add_usergroup(group["usergroup"], [f"U0GROUP{i}A", f"U0GROUP{i}B"])


# -- database ------------------------------------------------------------------------------

# -- report --------------------------------------------------------------------------------

def machine_facts(db_description: str, args: argparse.Namespace) -> None:
    loop = "uvloop" if version("uvloop") != "-" else "asyncio"
    http = "httptools" if version("httptools") != "-" else "h11"
    print(f"machine   : {os.cpu_count()} CPUs, {platform.platform()}; client and both servers "
          "share them")
    print(f"python    : {platform.python_version()} ({platform.python_implementation()})")
    print(f"stack     : slack_bolt {version('slack_bolt')}, starlette {version('starlette')}, "
          f"uvicorn {version('uvicorn')} ({loop} loop, {http}), httpx {version('httpx')} client")
    print(f"database  : {db_description}")
    print(f"workload  : warm-up {args.warmup} of each kind, then {args.requests} requests per row, "
          f"sequential (c=1) and {args.concurrency} concurrent clients; keep-alive, loopback")
    print()


def report(results: list[Result]) -> None:
    head = (f"{'server':<12} {'workload':<16} {'c':>2} {'count':>6} {'p50':>7} {'p95':>7} "
            f"{'p99':>7} {'max':>7} {'req/s':>7} {'errors':>6} {'<3s':>8} {'bytes':>6}")
    print(head + "\n" + "-" * len(head))
    for r in results:
        share = 100 * r.within_deadline / len(r.latencies) if r.latencies else math.nan
        print(f"{r.server:<12} {r.workload:<16} {r.concurrency:>2} {len(r.latencies):>6} "
              f"{r.pct(.50):>7.2f} {r.pct(.95):>7.2f} {r.pct(.99):>7.2f} {r.pct(1):>7.2f} "
              f"{r.throughput:>7.1f} {r.errors:>6} {share:>7.2f}% {r.size:>6}")
    print("(ms, client-side, from sending the request to reading the response; <3s: share "
          "acked within Slack's 3-second deadline; bytes: response body)")

    bare = {(r.workload, r.concurrency): r for r in results if r.server == "bare-bolt"}
    print(f"\n{'countersign / bare-bolt':<32} {'p50':>6} {'p99':>6} {'req/s':>6}")
    for r in results:
        b = bare.get((r.workload, r.concurrency))
        if r.server != "countersign" or b is None or not (r.latencies and b.latencies):
            continue
        print(f"{r.workload + ', c=' + str(r.concurrency):<32} {r.pct(.5) / b.pct(.5):>6.2f} "
              f"{r.pct(.99) / b.pct(.99):>6.2f} {r.throughput / b.throughput:>6.2f}")
    total = sum(len(r.latencies) for r in results)
    within = sum(r.within_deadline for r in results)
    print(f"\nall servers and workloads: {within} of {total} requests "
          f"({100 * within / max(total, 1):.2f}%) acked within {ACK_DEADLINE:.0f} s")


# -- main ----------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=bounded(1, MAX_REQUESTS), default=500,
                        help="measured requests per server, workload and concurrency (500)")
    parser.add_argument("--concurrency", type=bounded(1, MAX_CONCURRENCY), default=8,
                        help="concurrent clients for the throughput rows (8)")
    parser.add_argument("--warmup", type=bounded(0, 1000), default=50,
                        help="unmeasured requests of each kind per server first (50)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL on loopback, e.g. postgresql+psycopg://postgres@"
                             "127.0.0.1:5432/test (default: a SQLite file in a temp dir)")
    parser.add_argument("--max-seconds", type=bounded(10, 3600), default=600,
                        help="sending time in all, split evenly over the rows (600)")
    args = parser.parse_args()

    # SIGTERM unwinds like Ctrl-C, so the servers and the schema are cleaned up either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Each row (warm-ups too) gets an equal slice, so a slow row cannot starve the other server.
    rows = 2 * 3 * len(WORKLOADS)  # two servers; per kind a warm-up, c=1 and c=C
    row_seconds = args.max_seconds / rows
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ack-bench-")))
        db_url, db_description = stack.enter_context(database(args.database_url, tmp, prog="ack_latency"))
        fake = FakeSlack()
        seed_playbook_groups(fake)
        fake.start()
        stack.callback(fake.stop)
        env = bot_env(database_url=db_url, slack_api_url=fake.base_url,
                      PLAYBOOK_PATH=str(EXAMPLE_PLAYBOOK))
        for name in TEST_SPEEDUPS:
            env.pop(name, None)
        machine_facts(db_description, args)

        results: list[Result] = []
        for name, cls, command in (("countersign", BotProcess, "serve"),
                                   ("bare-bolt", BareBoltProcess, "bare")):
            # One server at a time, so neither competes with the other's background work.
            server = cls(command, {**env, "PORT": str(free_port())}, tmp)
            stack.callback(server.stop)
            server.start()
            results += measure(name, server, fake, args, row_seconds)
            server.stop()
        if any(len(r.latencies) < args.requests for r in results):
            print(f"note: rows short of {args.requests} ran out of their {row_seconds:.0f} s "
                  f"share of --max-seconds {args.max_seconds}\n")
        report(results)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        sys.exit(130)
