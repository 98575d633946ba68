"""The GitHub App's figures: webhook acknowledgement under concurrent deliveries beside the
Slack acknowledgement of the same run, and the time from the last approval to the check's
`success` reaching GitHub.

One real bot (`python -m bot serve`, as the e2e tests start it, production intervals), a fake
Slack and a fake GitHub on loopback. Every delivery is an AI-made pull request (a Claude
trailer in its commits), so behind each acknowledgement the clock reads the commits, opens a
sign-off request, posts it to Slack and creates a check run: the acks are timed with that work
going on, as on a busy day.

1. GitHub: N signed `pull_request.opened` deliveries from C concurrent clients.
2. Slack: N signed `/ai-approve help` commands from C concurrent clients, same server.
3. Sign-off: for K of those pull requests, two approvals clicked in Slack; timed from sending
   the last click to the fake GitHub answering the check run's update to `success`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import re
import signal
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: `bot` and `tests.harness` live at the root

import httpx  # noqa: E402

from bench.common import add_database_args, bounded, database, run_script, version  # noqa: E402
from tests.harness import github_hooks, payloads  # noqa: E402
from tests.harness.fake_github import FakeGitHub, commit  # noqa: E402
from tests.harness.fake_slack import FakeSlack  # noqa: E402
from tests.harness.server import SIGNING_SECRET, BotProcess, bot_env, free_port  # noqa: E402
from tests.harness.signing import FORM, SignedSlackClient, SlackSigner  # noqa: E402

PLAYBOOK = REPO / "tests" / "e2e" / "playbooks" / "github.yaml"  # pair: 2 of reviewers
SECRET = "bench-webhook-secret-0123456789"
INSTALLATION = 7
OWNER, REPO_NAME = "Codertocat", "Hello-World"
CLAUDE = "Add retries\n\nCo-authored-by: Claude <noreply@anthropic.com>\n"
# bot_env speeds the clock up for tests; the bench wants production's intervals.
TEST_SPEEDUPS = ("OUTBOX_POLL_INTERVAL", "OUTBOX_CHANNEL_INTERVAL", "OUTBOX_RETRY_BASE",
                 "OUTBOX_LEASE", "SLACK_API_TIMEOUT", "TIMER_SWEEP_INTERVAL",
                 "LEADER_REFRESH_INTERVAL", "PLAYBOOK_WATCH_INTERVAL")


def pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000


def sha(number: int) -> str:
    return f"{number:040x}"


def deliveries(fake: FakeGitHub, n: int) -> list[tuple[bytes, dict[str, str]]]:
    """N opened deliveries of N pull requests, each with its commits on the fake GitHub."""
    built = []
    for number in range(1, n + 1):
        payload = github_hooks.pull_request_event("opened", installation_id=INSTALLATION,
                                                  number=number, head_sha=sha(number))
        fake.add_pull(OWNER, REPO_NAME, number, pull=payload["pull_request"],
                      commits=[commit(sha(number), CLAUDE)])
        built.append(github_hooks.delivery("pull_request", payload, secret=SECRET))
    return built


async def blast(url: str, requests: list[tuple[bytes, dict[str, str]]], concurrency: int,
                ok) -> tuple[list[float], int, float]:  # noqa: ANN001
    todo = iter(requests)
    latencies: list[float] = []
    errors = 0

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        for body, headers in todo:
            started = time.perf_counter()
            try:
                good = ok(await http.post(url, content=body, headers=headers))
            except httpx.HTTPError:
                good = False
            latencies.append(time.perf_counter() - started)
            errors += not good

    clients = [httpx.AsyncClient(timeout=30) for _ in range(concurrency)]
    try:
        # A first request pays for the connection: before the clock starts.
        await asyncio.gather(*(http.get(url.rsplit("/", 2)[0] + "/healthz") for http in clients))
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for http in clients))
        wall = time.perf_counter() - started
    finally:
        await asyncio.gather(*(http.aclose() for http in clients))
    return latencies, errors, wall


def slack_commands(n: int) -> list[tuple[bytes, dict[str, str]]]:
    signer = SlackSigner(SIGNING_SECRET)
    built = []
    for _ in range(n):
        trigger = payloads.new_trigger_id()
        body = urlencode(payloads.slash_command("/ai-approve", "help", trigger_id=trigger,
                                                response_url="http://127.0.0.1:9/unused")).encode()
        built.append((body, {"Content-Type": FORM, **signer.headers(body)}))
    return built


def sign_off_latencies(bot: BotProcess, fake_slack: FakeSlack, fake_github: FakeGitHub,
                       k: int) -> list[float]:
    """Last approval click → the fake GitHub answering the run's update to success."""
    from blocks.approvals import APPROVE

    posts = fake_slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args.get("channel")
                                == "C0APPROVE" and "Sign-off #" in (c.args.get("text") or ""),
                                count=k, timeout=600)
    messages = [m for m in fake_slack.messages("C0APPROVE") if m.get("thread_ts") in (None, m["ts"])]
    found = []
    for message in messages[:k]:
        number = re.search(r"Hello-World#(\d+)", message.get("text") or "")
        if number:
            found.append((int(number.group(1)), message))
    assert len(found) == k, f"{len(found)} of {k} request messages found ({len(posts)} posts)"
    latencies = []
    with SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake_slack, timeout=30) as slack:
        for number, message in found:
            fake_github.wait_for_check(OWNER, REPO_NAME, sha(number), status="in_progress", timeout=600)
            slack.block_action(APPROVE, user_id="U0REV2", channel_id="C0APPROVE", message_ts=message["ts"])
            fake_github.wait_for(lambda f, n=number: f.check_runs(OWNER, REPO_NAME, sha(n))[-1]["output"]
                                 ["summary"].startswith("waiting for 1"), timeout=120,
                                 description=f"the first approval of #{number}")
            started = time.perf_counter()
            slack.block_action(APPROVE, user_id="U0REV3", channel_id="C0APPROVE", message_ts=message["ts"])
            fake_github.wait_for(lambda f, n=number: f.check_runs(OWNER, REPO_NAME, sha(n))[-1]
                                 ["conclusion"] == "success", timeout=120, description=f"#{number} green")
            latencies.append(time.perf_counter() - started)
    return latencies


def row(name: str, latencies: list[float], errors: int, wall: float) -> str:
    rate = len(latencies) / wall if wall else math.nan
    late = sum(1 for s in latencies if s > 10)
    return (f"{name:<34} {len(latencies):>6} {pct(latencies, .5):>8.1f} {pct(latencies, .95):>8.1f} "
            f"{pct(latencies, .99):>8.1f} {pct(latencies, 1):>8.1f} {rate:>7.1f} {errors:>6} {late:>5}")


def run(db_url: str, db_description: str, tmp: Path, args: argparse.Namespace,
        stack: contextlib.ExitStack) -> None:
    fake_slack = FakeSlack()
    fake_slack.start()
    stack.callback(fake_slack.stop)
    fake_github = FakeGitHub()
    fake_github.add_installation(INSTALLATION)
    fake_github.start()
    stack.callback(fake_github.stop)
    env = bot_env(database_url=db_url, slack_api_url=fake_slack.base_url, PORT=str(free_port()),
                  PLAYBOOK_PATH=str(PLAYBOOK), GITHUB_APP_ID=str(fake_github.app_id),
                  GITHUB_PRIVATE_KEY=fake_github.private_key_pem, GITHUB_WEBHOOK_SECRET=SECRET,
                  GITHUB_API_URL=fake_github.base_url)
    for name in TEST_SPEEDUPS:
        env.pop(name, None)
    bot = BotProcess("serve", env, tmp)
    stack.callback(bot.stop)
    bot.start()
    print(f"database  : {db_description}")
    hooks = deliveries(fake_github, args.requests)
    github, github_errors, github_wall = asyncio.run(blast(
        f"{bot.url}/github/webhook", hooks, args.concurrency, lambda r: r.status_code == 202))
    slack, slack_errors, slack_wall = asyncio.run(blast(
        f"{bot.url}/slack/events", slack_commands(args.requests), args.concurrency,
        lambda r: r.status_code == 200 and r.content != b""))
    signed_off = sign_off_latencies(bot, fake_slack, fake_github, args.sign_offs)
    head = (f"{'row':<34} {'count':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} {'req/s':>7} "
            f"{'errors':>6} {'>10s':>5}")
    print(head + "\n" + "-" * len(head))
    print(row(f"GitHub webhook ack, c={args.concurrency}", github, github_errors, github_wall))
    print(row(f"Slack command ack, c={args.concurrency}", slack, slack_errors, slack_wall))
    print(row("last approval → check success, c=1", signed_off, 0, sum(signed_off)))
    print(f"(ms, client-side; >10s: acks later than GitHub waits)\n"
          f"GitHub ack p99 / Slack ack p99, same run: {pct(github, .99) / pct(slack, .99):.2f}; "
          f"GitHub ack p99 / GitHub's 10 s: {pct(github, .99) / 10000:.4f}\n")
    bot.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=bounded(10, 5000), default=500,
                        help="deliveries, and Slack commands, sent (500)")
    parser.add_argument("--concurrency", type=bounded(1, 64), default=50,
                        help="concurrent clients sending them (50)")
    parser.add_argument("--sign-offs", type=bounded(1, 500), default=40,
                        help="pull requests signed off one after another, for the latency (40)")
    add_database_args(parser)
    args = parser.parse_args()
    args.sign_offs = min(args.sign_offs, args.requests)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"machine   : {os.cpu_count()} CPUs, {platform.platform()}; clients, fakes and the bot "
          f"share them")
    print(f"stack     : githubkit {version('githubkit')}, slack_bolt {version('slack_bolt')}, "
          f"uvicorn {version('uvicorn')}, python {platform.python_version()}")
    print(f"workload  : {args.requests} opened deliveries of AI-made pull requests and "
          f"{args.requests} /ai-approve help commands, {args.concurrency} concurrent clients each; "
          f"then {args.sign_offs} sign-offs of two approvals\n")
    urls = [None] if args.sqlite_only or not args.postgres else [None, args.postgres]
    for url in urls:
        with contextlib.ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="github-bench-")))
            db_url, description = stack.enter_context(database(url, tmp, prog="github_app"))
            run(db_url, description, tmp, args, stack)
    return 0


if __name__ == "__main__":
    run_script(main)
