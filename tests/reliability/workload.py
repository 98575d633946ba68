"""The scripted workload the fault tests drive through the real bot, and how they judge it:
what Slack was owed (outbox rows, and the content each acknowledged request must produce),
what the fake Slack holds, and the figures (ack latency, outage, lost, doubled) they report."""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from blocks.approvals import APPROVE
from bot.clock import OffsetFileClock
from models.outbox import PENDING, SENDING, SENT, OutboxMessage
from services import registry
from services.playbook import load_playbook
from tests.harness.fake_slack import FakeSlack
from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient
from tests.reliability import figures as reliability_figures

PLAYBOOK = Path(__file__).parent / "playbooks" / "workload.yaml"
LOADED = load_playbook(PLAYBOOK)
APPROVALS, GOVERNANCE, INCIDENTS = "C0APPROVE", "C0GOV", "C0INC"
REQUESTER, REPORTER, REVIEWER, ON_CALL = "U0DEV", "U0REPORTER", "U0REV1", "U0PRI1"
DAY, HOUR = 86400, 3600
# Slack shows the user an error after 3 s without an acknowledgement; the margin is for a busy
# 2-core CI machine running the client, the fake Slack and the bot at once.
ACK_BOUND = 2.5


def knob(name: str, ci: float) -> float:
    """A length CI keeps short (`ci`) and a tests/soak/ script makes long: env `name`."""
    return float(os.environ.get(name) or ci)


def timeout(ci: float) -> pytest.MarkDecorator:
    """pytest-timeout for a test CI bounds at `ci` seconds; SOAK_TIMEOUT overrides (0: none)."""
    return pytest.mark.timeout(knob("SOAK_TIMEOUT", ci))


def bot_settings(**settings: str) -> dict[str, str]:
    """`settings` plus RELIABILITY_BOT_ENV ("NAME=value,NAME=value"): how a soak script gives
    the bot production's timeouts and back-off instead of the harness's quick ones."""
    extra = dict(pair.split("=", 1) for pair in os.environ.get("RELIABILITY_BOT_ENV", "").split(",") if pair)
    return {**settings, **extra}


@pytest.fixture
def workload_bot(bot_factory, fake_slack, clock_file):  # noqa: ANN001
    follow_bot_clock(fake_slack, clock_file)
    return bot_factory(**bot_settings(PLAYBOOK_PATH=str(PLAYBOOK), CLOCK_OFFSET_FILE=str(clock_file))).start()


def follow_bot_clock(fake: FakeSlack, clock_file: Path) -> None:
    """Slack's time moves with the bot's: the dispatcher looks for an earlier attempt's message
    by comparing Slack's ts with its own clock."""
    clock = OffsetFileClock(str(clock_file))
    fake.follow_clock(lambda: clock.now().timestamp())


@pytest.fixture
def workload_slack(workload_bot, fake_slack):  # noqa: ANN001
    with SignedSlackClient(workload_bot.url, SIGNING_SECRET, fake=fake_slack) as client:
        yield client


# -- producing work ------------------------------------------------------------------------------


def owner(n: int) -> str:
    return f"U0OWN{n}"


def seed_use_cases(db, fake: FakeSlack, count: int, *, now: datetime) -> list[str]:  # noqa: ANN001
    """`count` use cases documented at `now` (next review 30 days on), each with its own owner;
    written by the registry service, as the bot's own form would. Returns their titles."""
    titles = []
    for n in range(1, count + 1):
        fake.add_user(owner(n))
        title = f"Use case load-{n:03d}"
        raw = {"title": title, "description": f"{title}: what the AI does", "owner": owner(n),
               "audience": "internal", "purpose": "Saves time", "risk_tier": "limited",
               "models": "OpenAI / gpt-4o / 2024-08-06 / vendor cloud"}
        with db.session() as s:
            registry.create(s, "usecase", raw, now=now, playbook=LOADED.playbook,
                            authority=registry.Authority(owner(n), frozenset(LOADED.playbook.admins)))
        titles.append(title)
    return titles


def signoff_title(n: int) -> str:
    return f"Sign-off load-{n:03d}"


def incident_title(n: int) -> str:
    return f"Incident load-{n:03d}"


def open_signoff(slack: SignedSlackClient, n: int, **kwargs) -> httpx.Response:  # noqa: ANN003
    return slack.command("/ai-approve", f"code https://github.com/acme/app/pull/{n} {signoff_title(n)}",
                         user_id=REQUESTER, channel_id="C0TEAM", **kwargs)


def open_incident(slack: SignedSlackClient, n: int, **kwargs) -> httpx.Response:  # noqa: ANN003
    return slack.command("/ai-incident", f"sev2 {incident_title(n)}", user_id=REPORTER, **kwargs)


def request_messages(fake: FakeSlack) -> list[dict]:
    """Top-level sign-off messages in the approvals channel, oldest first."""
    return [m for m in fake.messages(APPROVALS) if m.get("thread_ts") in (None, m["ts"])
            and m.get("text", "").startswith("Sign-off #")]


def request_message(fake: FakeSlack, n: int, timeout: float = 15) -> dict:
    def found() -> list[dict]:
        return [m for m in request_messages(fake) if signoff_title(n) in m["text"]]
    return fake._poll(found, 1, timeout, f"the message of {signoff_title(n)!r}")[0]


def approve(slack: SignedSlackClient, message: dict, **kwargs) -> httpx.Response:  # noqa: ANN003
    return slack.block_action(APPROVE, user_id=REVIEWER, channel_id=APPROVALS,
                              message_ts=message["ts"], **kwargs)


def move(clock_file: Path, seconds: float) -> None:
    clock_file.write_text(str(seconds))


# -- acknowledgements ----------------------------------------------------------------------------


@dataclass
class Acks:
    """Client-side time from sending a Slack request to its HTTP answer: Slack's view of an ack."""

    latencies: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def send(self, request: Callable[..., httpx.Response], *args, **kwargs) -> httpx.Response:  # noqa: ANN002, ANN003
        started = time.perf_counter()
        resp = request(*args, **kwargs)
        self.latencies.append(time.perf_counter() - started)
        self.statuses.append(resp.status_code)
        return resp

    def figures(self) -> dict[str, float | int]:
        ordered = sorted(self.latencies)
        if not ordered:
            return {"acks": 0}

        def rank(q: float) -> float:  # nearest rank: an observed value, never interpolated
            return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000, 1)
        return {"acks": len(ordered), "ack_p50_ms": rank(0.50), "ack_p99_ms": rank(0.99),
                "ack_max_ms": rank(1.0), "non_2xx": sum(not 200 <= s < 300 for s in self.statuses)}


def report(tmp_path: Path, name: str, figures: dict) -> None:
    """Print the figures (pytest shows them with -rP or on failure), keep them beside the test's
    logs, and append them to $RELIABILITY_FIGURES (one JSON object a line) when it is set."""
    line = json.dumps({"test": name, **figures}, sort_keys=True)
    print(f"reliability figures: {line}")
    reliability_figures.reported(line)
    (tmp_path / "figures.json").write_text(line + "\n")
    if os.environ.get("RELIABILITY_FIGURES"):
        with open(os.environ["RELIABILITY_FIGURES"], "a") as out:
            out.write(line + "\n")


# -- judging delivery ----------------------------------------------------------------------------


def outbox_rows(db) -> list[OutboxMessage]:  # noqa: ANN001
    with db.session() as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def wait_settled(db, fake: FakeSlack, timeout: float = 60) -> list[OutboxMessage]:  # noqa: ANN001
    """Every outbox row delivered or given up (bounded wait); the rows, oldest first."""
    fake._poll(lambda: [] if any(r.status in (PENDING, SENDING) for r in outbox_rows(db)) else [1],
               1, timeout, "the outbox to settle")
    return outbox_rows(db)


def outbox_key(message: dict) -> str | None:
    meta = message.get("metadata") or {}
    return (meta.get("event_payload") or {}).get("key") if meta.get("event_type") == "countersign_outbox" else None


@dataclass
class Delivery:
    """What Slack holds against what the outbox owed it, channel by channel."""

    owed: int  # outbox rows
    posts: int  # of them chat.postMessage, each a message Slack must hold once
    not_sent: list[str]  # rows failed or still owed
    lost: list[str]  # posts recorded as sent that Slack does not hold
    doubled: dict[str, int]  # post key → copies Slack holds beyond the first
    out_of_order: dict[str, tuple[list[str], list[str]]]  # channel/entity → (held, owed)
    strays: list[str]  # messages stamped with a key no row has

    @property
    def ok(self) -> bool:
        return not (self.not_sent or self.lost or self.doubled or self.out_of_order or self.strays)

    def figures(self) -> dict[str, int]:
        return {"owed": self.owed, "posts": self.posts, "not_sent": len(self.not_sent),
                "lost": len(self.lost), "doubled": sum(self.doubled.values()),
                "out_of_order": len(self.out_of_order), "strays": len(self.strays)}


_ENTITY = re.compile(r"^(?:approval|incident):\d+|^revisit:\w+:\d+")


def entity_of(key: str) -> str:
    """The sign-off, incident or record an outbox key belongs to.

    Order is owed among one entity's messages to a channel: they come from state changes of
    that entity, one after another. Two entities' messages may come from concurrent
    transactions, and on PostgreSQL ids come from a sequence at insert time, so a later id can
    commit (and be delivered) first; such messages have no order to keep.
    """
    found = _ENTITY.match(key)
    return found.group(0) if found else key


def judge(db, fake: FakeSlack, rows: list[OutboxMessage] | None = None) -> Delivery:  # noqa: ANN001
    rows = outbox_rows(db) if rows is None else rows
    posts = [r for r in rows if r.method == "chat.postMessage"]
    keys = {r.key for r in rows}
    channels = list(dict.fromkeys(r.channel for r in posts if r.channel))
    lost: list[str] = []
    doubled: dict[str, int] = {}
    out_of_order: dict[str, tuple[list[str], list[str]]] = {}
    strays: list[str] = []
    for channel in channels:
        held = [k for k in map(outbox_key, fake.messages(channel)) if k is not None]
        owed = [r.key for r in posts if r.channel == channel and r.status == SENT]
        for k in set(held):
            if held.count(k) > 1:
                doubled[k] = held.count(k) - 1
        lost += [k for k in owed if k not in held]
        strays += [k for k in set(held) if k not in keys]
        once = list(dict.fromkeys(held))
        for entity in dict.fromkeys(map(entity_of, owed)):
            mine_held = [k for k in once if k in owed and entity_of(k) == entity]
            mine_owed = [k for k in owed if k in once and entity_of(k) == entity]
            if mine_held != mine_owed:
                out_of_order[f"{channel}/{entity}"] = (mine_held, mine_owed)
    return Delivery(owed=len(rows), posts=len(posts),
                    not_sent=[f"{r.key} ({r.status}: {r.last_error})" for r in rows if r.status != SENT],
                    lost=lost, doubled=doubled, out_of_order=out_of_order, strays=strays)


def texts(fake: FakeSlack, channel: str) -> list[str]:
    return [m.get("text", "") for m in fake.messages(channel)]


def count_containing(fake: FakeSlack, channel: str, *words: str) -> int:
    return sum(all(w in t for w in words) for t in texts(fake, channel))
