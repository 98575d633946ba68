"""The bot scaled out on one PostgreSQL schema: web processes without a clock behind a
balancer (CLOCK_IN_WEB=false), and two clocks that both work (CLOCK_LEADER_ELECTION=false),
so nothing but the database's conditional updates and unique keys keeps a decision, a page or
a message single. Plus what the fake Slack was sent, read by outbox key."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.harness.fake_slack import FakeSlack
from tests.harness.race import race
from tests.harness.server import SIGNING_SECRET, BotProcess
from tests.harness.signing import SignedSlackClient
from tests.reliability.deliveries import Delivery

PLAYBOOK = Path(__file__).parent / "playbooks" / "fleet.yaml"
SERVERS = 3
CLOCKS = 2
# Bound of every wait for the fleet's work to settle: generous, since each channel's messages
# go out one at a time and a loaded machine runs five bot processes slowly.
WAIT = 180
# How many times a person tries again after an apology before the run counts as broken.
ATTEMPTS = 5
APOLOGY = "cannot reach its database"  # blocks/faults.database_unavailable


@dataclass
class Fleet:
    servers: list[BotProcess]
    clocks: list[BotProcess]
    clients: list[SignedSlackClient]

    def client(self, n: int) -> SignedSlackClient:
        """The n-th pick of the balancer: process n mod SERVERS."""
        return self.clients[n % len(self.clients)]

    def send_all(self, rng: random.Random, sends: list[Delivery], retry_share: float, *,
                 never_retried: frozenset[str] = frozenset()) -> Sends:
        """Every delivery at the same instant, each to a process picked by `rng`; a share of them
        (none of the triggers in `never_retried`) also retried by Slack (same body,
        X-Slack-Retry-Num) on the next process, racing it."""
        calls = []
        for d in sends:
            server = rng.randrange(len(self.clients))
            calls.append((d, lambda d=d, s=server: d.send(self.client(s))))
            if d.trigger_id not in never_retried and rng.random() < retry_share:
                calls.append((d, lambda d=d, s=server: d.send(self.client(s + 1), retry_num=1)))
        rng.shuffle(calls)
        answered = race([call for _, call in calls])
        http: dict[str, list[httpx.Response]] = defaultdict(list)
        for (d, _), response in zip(calls, answered, strict=True):
            http[d.trigger_id].append(response)
        return Sends(http, len(calls))

    def problems(self) -> list[str]:
        """Processes that died, and tracebacks any process logged."""
        found = []
        for proc in self.servers + self.clocks:
            if proc.proc.poll() is not None:
                found.append(f"{proc.name} exited with {proc.proc.returncode}")
            if "Traceback" in proc.output():
                found.append(f"{proc.name} logged a traceback")
        return found


@dataclass
class Sends:
    http: dict[str, list[httpx.Response]]  # trigger → the HTTP answers to its original and retries
    count: int

    def not_ok(self) -> list[str]:
        return [f"{trigger} answered {r.status_code}: {r.text[:200]}" for trigger, answered in self.http.items()
                for r in answered if r.status_code != 200]


@pytest.fixture
def fleet(postgres_base_url, bot_factory, fake_slack, clock_file) -> Iterator[Fleet]:  # noqa: ANN001
    env = {"PLAYBOOK_PATH": str(PLAYBOOK), "CLOCK_OFFSET_FILE": str(clock_file)}
    servers = [bot_factory("serve", CLOCK_IN_WEB="false", **env) for _ in range(SERVERS)]
    clocks = [bot_factory("clock", CLOCK_LEADER_ELECTION="false", **env) for _ in range(CLOCKS)]
    for proc in servers + clocks:
        proc.start(wait_healthy=False)
    for proc in servers:
        proc.wait_healthy(timeout=60)
    clients = [SignedSlackClient(p.url, SIGNING_SECRET, fake=fake_slack, timeout=30) for p in servers]
    yield Fleet(servers, clocks, clients)
    for client in clients:
        client.close()


def outbox_key(call_args: dict) -> str | None:
    return ((call_args.get("metadata") or {}).get("event_payload") or {}).get("key")


def posted_keys(fake: FakeSlack) -> Counter[str]:
    """How often each outbox key reached Slack by chat.postMessage."""
    return Counter(k for c in fake.calls_to("chat.postMessage") if (k := outbox_key(c.args)))


def posted_matching(fake: FakeSlack, pattern: str) -> Counter[str]:
    wanted = re.compile(pattern)
    return Counter({k: n for k, n in posted_keys(fake).items() if wanted.fullmatch(k)})


def stored_with_key(fake: FakeSlack, channel: str, pattern: str) -> dict[str, dict]:
    """Messages in `channel` whose outbox key matches, by key (the message as it stands now)."""
    wanted = re.compile(pattern)
    return {k: m for m in fake.messages(channel) if (k := outbox_key(m)) and wanted.fullmatch(k)}


def answers(fake: FakeSlack, delivery: Delivery) -> list[dict]:
    """What the bot posted to the response_url of this delivery's trigger, apologies aside."""
    return [payload for key, payload in fake.responses
            if key == delivery.trigger_id and APOLOGY not in payload.get("text", "")]


def apologized(fake: FakeSlack, delivery: Delivery, sends: Sends) -> bool:
    """Whether the bot said it could not take this delivery (in its HTTP answer or later at the
    response_url): on a loaded machine the delivery claim may miss its budget, and then nothing
    is changed and the person tries again."""
    return any(APOLOGY in r.text for r in sends.http[delivery.trigger_id]) or any(
        key == delivery.trigger_id and APOLOGY in payload.get("text", "") for key, payload in fake.responses)
