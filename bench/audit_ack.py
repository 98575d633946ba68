"""What sealing the audit log costs the write path: the ack of a sign-off request with the
sequencer sealing beside it, and with it idle, in one run.

    .venv/bin/python bench/audit_ack.py [--requests 400] [--concurrency 8]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Starts the real bot twice on the same kind of database: once with AUDIT_SEAL_INTERVAL=0.05
(sealing every 50 ms, forty times the default pace: the worst case), once with sealing
effectively off (AUDIT_SEAL_INTERVAL=1000000). Both get the same signed `/ai-approve code
<url> <title>` commands — each really opens a sign-off and writes its audit event — sequentially
and from C concurrent clients. Prints the ack percentiles side by side and their ratio, and how
many events the sequencer sealed meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench import ack_latency  # noqa: E402
from bench.ack_latency import EXAMPLE_PLAYBOOK, TEST_SPEEDUPS, Result, send  # noqa: E402
from bench.common import bounded, database  # noqa: E402
from bot.db import make_engine  # noqa: E402
from models.audit import AuditEvent  # noqa: E402
from tests.harness import payloads  # noqa: E402
from tests.harness.fake_slack import FakeSlack  # noqa: E402
from tests.harness.server import BotProcess, bot_env, free_port  # noqa: E402
from tests.harness.signing import FORM  # noqa: E402

_numbers = itertools.count(1)


def open_signoff(fake: FakeSlack):  # noqa: ANN201
    n = next(_numbers)
    trigger_id = payloads.new_trigger_id()
    fields = payloads.slash_command(
        "/ai-approve", f"code https://github.com/acme/app/pull/{n} bench change {n}",
        user_id="U0DEV", trigger_id=trigger_id, response_url=fake.response_url(trigger_id))

    def answered(resp: httpx.Response) -> bool:
        return resp.status_code == 200

    return urlencode(fields), FORM, answered


def sealed(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            total = conn.scalar(select(func.count()).select_from(AuditEvent))
            done = conn.scalar(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.seq.is_not(None)))
    finally:
        engine.dispose()
    return total, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=bounded(10, 10_000), default=400)
    parser.add_argument("--concurrency", type=bounded(1, 64), default=8)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    ack_latency.WORKLOADS = {"signoff": open_signoff}
    results: list[Result] = []
    sealing_note = {}
    for label, interval in (("sealing", "0.05"), ("not sealing", "1000000")):
        with contextlib.ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="audit-ack-")))
            url, desc = stack.enter_context(database(args.database_url, tmp, prog="audit_ack"))
            fake = FakeSlack()
            fake.start()
            stack.callback(fake.stop)
            env = bot_env(database_url=url, slack_api_url=fake.base_url,
                          PLAYBOOK_PATH=str(EXAMPLE_PLAYBOOK), AUDIT_SEAL_INTERVAL=interval,
                          PORT=str(free_port()))
            for name in TEST_SPEEDUPS:
                env.pop(name, None)
            bot = BotProcess("serve", env, tmp)
            stack.callback(bot.stop)
            bot.start()
            asyncio.run(send(bot.url, fake, "signoff", 30, 1, 120))  # warm-up
            for c in sorted({1, args.concurrency}):
                lat, errors, wall, size = asyncio.run(
                    send(bot.url, fake, "signoff", args.requests, c, 300))
                results.append(Result(label, "sign-off", c, lat, errors, wall, size))
            sealing_note[label] = sealed(url)
            bot.stop()
    print(f"database: {desc}\n")
    head = f"{'server':<12} {'c':>2} {'count':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} {'req/s':>7} {'errors':>6}"
    print(head + "\n" + "-" * len(head))
    for r in results:
        print(f"{r.server:<12} {r.concurrency:>2} {len(r.latencies):>6} {r.pct(.5):>8.2f} "
              f"{r.pct(.95):>8.2f} {r.pct(.99):>8.2f} {r.pct(1):>8.2f} {r.throughput:>7.1f} "
              f"{r.errors:>6}")
    print("(ms, client-side ack of a signed /ai-approve that opens a sign-off)")
    off = {r.concurrency: r for r in results if r.server == "not sealing"}
    print(f"\n{'sealing / not sealing':<24} {'p50':>6} {'p99':>6} {'req/s':>6}")
    for r in results:
        if r.server == "sealing" and r.concurrency in off:
            o = off[r.concurrency]
            print(f"{'c=' + str(r.concurrency):<24} {r.pct(.5) / o.pct(.5):>6.2f} "
                  f"{r.pct(.99) / o.pct(.99):>6.2f} {r.throughput / o.throughput:>6.2f}")
    for label, (total, done) in sealing_note.items():
        print(f"{label}: {done} of {total} audit events sealed when the run ended")
    return 0


if __name__ == "__main__":
    sys.exit(main())
