"""A scripted workload run through the real bot while it is SIGKILLed at seeded points, and
what must hold after the last restart. Shared by the CI test and tests/soak/crash_points.sh.

The workload opens sign-offs and approves some, opens incidents and acknowledges some, and
moves the injected clock so that reminders, expiries, escalation steps and revisit nudges
come due. Kill points are counts: of acknowledged requests (the kill lands right after the
200 went out, while the listener's work may still be running) and of Web API calls the fake
Slack received (the kill lands mid-delivery or mid-listener). Each kill is followed by a
restart; a request the kill cut off is sent again as a new request, as its user would.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from sqlmodel import select

from blocks.incidents import ACK
from models.approval import ApprovalRequest
from models.audit import AuditEvent
from models.inbound import InboundDelivery
from models.incident import Incident
from models.timer import FIRING, PENDING, Timer
from tests.harness.fake_slack import FakeSlack
from tests.harness.server import BotProcess
from tests.harness.signing import SignedSlackClient
from tests.reliability.workload import (
    APPROVALS,
    DAY,
    GOVERNANCE,
    HOUR,
    ON_CALL,
    approve,
    count_containing,
    judge,
    move,
    outbox_key,
    owner,
    request_messages,
    seed_use_cases,
    wait_settled,
)


START_TIMEOUT = 90  # seconds for a restart to answer /healthz; a loaded CI machine is slow


@dataclass(frozen=True)
class Step:
    kind: str  # signoff | approve | incident | ack | clock
    n: int  # which sign-off / incident, or the clock's offset in seconds


def script(rounds: int) -> list[Step]:
    """The workload: per round a sign-off and an incident; the previous round's sign-off
    approved and every other incident acknowledged; the clock moved every few rounds."""
    steps: list[Step] = []
    offset = 0
    for r in range(1, rounds + 1):
        steps += [Step("signoff", r), Step("incident", r)]
        if r > 1:
            steps.append(Step("approve", r - 1))
        if r > 1 and r % 2 == 0:
            steps.append(Step("ack", r - 1))
        if r % 4 == 0:
            offset += 31 * 60  # the next escalation step (30 m) of what is still open
            steps.append(Step("clock", offset))
    steps += [Step("clock", offset + 2 * HOUR),  # approval reminders (1 h)
              Step("clock", offset + DAY + HOUR),  # expiries (1 d)
              Step("clock", 27 * DAY + 2 * HOUR)]  # revisit nudges (30 d, 3 d before)
    return steps


@dataclass(frozen=True)
class KillPoint:
    after: str  # "acks" or "calls"
    count: int


def kill_points(seed: int, *, count: int, acks: int, calls: int) -> list[KillPoint]:
    """`count` distinct points, half after the n-th ack, half after the n-th Web API call."""
    rng = random.Random(seed)
    by_acks = rng.sample(range(1, acks + 1), count // 2)
    by_calls = rng.sample(range(1, calls + 1), count - count // 2)
    return sorted([KillPoint("acks", n) for n in by_acks] + [KillPoint("calls", n) for n in by_calls],
                  key=lambda p: (p.after, p.count))


@dataclass
class Outcome:
    """What the run did: requests acknowledged (by kind → labels), requests cut off, kills."""

    acked: dict[str, list[str]] = field(default_factory=lambda: {"signoff": [], "approve": [],
                                                                 "incident": [], "ack": []})
    cut_off: list[str] = field(default_factory=list)
    kills: list[str] = field(default_factory=list)  # when (since the run began) and why
    restarts: int = 0
    start_seconds: list[float] = field(default_factory=list)  # each start, until healthy


class CrashRun:
    def __init__(self, bot: BotProcess, fake: FakeSlack, db, clock_file, points: list[KillPoint]) -> None:  # noqa: ANN001
        self.bot, self.fake, self.db, self.clock_file = bot, fake, db, clock_file
        self.call_points = sorted(p.count for p in points if p.after == "calls")
        self.ack_points = {p.count for p in points if p.after == "acks"}
        self.outcome = Outcome()
        self.acks = 0
        self._lock = threading.Lock()  # held while the bot is started or killed
        self._up = threading.Event()
        self._done = threading.Event()
        self._began = time.monotonic()
        self._watcher = threading.Thread(target=self._watch_calls, name="crash-watcher", daemon=True)

    # -- killing and restarting -----------------------------------------------------------

    def kill(self, why: str) -> None:
        with self._lock:
            if self._up.is_set():
                self._up.clear()
                self.bot.kill()
                self.outcome.kills.append(f"{time.monotonic() - self._began:7.2f}s {why}")

    def _watch_calls(self) -> None:
        while not self._done.is_set() and self.call_points:
            if self._up.is_set() and len(self.fake.calls) >= self.call_points[0]:
                n = self.call_points.pop(0)
                self.kill(f"after Web API call {n}")
            time.sleep(0.002)

    def ensure_up(self) -> None:
        with self._lock:
            if self._up.is_set() and self.bot.proc.poll() is None:
                return
            started = time.monotonic()
            self.bot.start(timeout=START_TIMEOUT)
            self.outcome.restarts += self.bot.runs > 1
            self.outcome.start_seconds.append(round(time.monotonic() - started, 2))
            self._up.set()

    # -- the workload -----------------------------------------------------------------------

    def run(self, slack_for: Callable[[], SignedSlackClient], steps: list[Step]) -> Outcome:
        self.ensure_up()
        self._watcher.start()
        try:
            for step in steps:
                self._do(slack_for, step)
        finally:
            self._done.set()
            self._watcher.join(timeout=5)
        return self.outcome

    def _do(self, slack_for: Callable[[], SignedSlackClient], step: Step) -> None:
        if step.kind == "clock":
            move(self.clock_file, step.n)
            return
        attempt = 0
        while True:
            self.ensure_up()
            label = f"{step.kind}-{step.n:03d}" + (f"-again{attempt}" if attempt else "")
            try:
                resp = self._send(slack_for(), step, label)
            except httpx.TransportError:  # killed while this request was in flight
                self.outcome.cut_off.append(label)
                attempt += 1
                continue
            if resp is None:  # nothing to act on yet (a message not delivered): skip the step
                return
            assert resp.status_code == 200, (label, resp.status_code, resp.text)
            self.outcome.acked[step.kind].append(label)
            self.acks += 1
            if self.acks in self.ack_points:
                self.kill(f"after ack {self.acks} ({label})")
            return

    def _send(self, slack: SignedSlackClient, step: Step, label: str) -> httpx.Response | None:
        if step.kind == "signoff":
            return slack.command("/ai-approve", f"code https://github.com/acme/app/pull/{step.n} {label}",
                                 user_id="U0DEV", channel_id="C0TEAM")
        if step.kind == "incident":
            return slack.command("/ai-incident", f"sev2 {label}", user_id="U0REPORTER")
        if step.kind == "approve":
            message = self._posted(lambda m: f" signoff-{step.n:03d}" in m["text"], APPROVALS)
            return None if message is None else approve(slack, message)
        if step.kind == "ack":
            message = self._posted(lambda m: f"incident-{step.n:03d}" in m["text"]
                                   and "You are paged" in m["text"], ON_CALL)
            return None if message is None else slack.block_action(
                ACK, user_id=ON_CALL, channel_id="D" + ON_CALL[1:], message_ts=message["ts"])
        raise ValueError(step.kind)

    def _posted(self, matches: Callable[[dict], bool], channel: str, timeout: float = 10) -> dict | None:
        """The bot's message the step acts on, once delivered (through restarts); None when the
        request it belongs to was never acknowledged and so may not exist."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.fake.messages(channel) if matches(m)]
            if found:
                return found[0]
            self.ensure_up()
            time.sleep(0.05)
        return None

    def settle(self, timeout: float = 60) -> None:
        """Bring the bot up (the last kill may have been the last word) and wait until the
        outbox is delivered and no due timer is left unfired."""
        self.ensure_up()
        # A request acknowledged by a process killed before its work was done is replayed by
        # the next one (bot/redelivery.py) within a sweep: on a busy machine, not at once.
        self.fake._poll(lambda: [] if unfinished_deliveries(self.db) else [1], 1, timeout,
                        "every acknowledged but unfinished Slack request to be replayed")
        wait_settled(self.db, self.fake, timeout)
        self.fake._poll(lambda: [] if unfired_timers(self.db, self.bot_now()) else [1], 1, timeout,
                        "every due timer to fire")
        wait_settled(self.db, self.fake, timeout)

    def bot_now(self):  # noqa: ANN201
        from bot.clock import OffsetFileClock
        return OffsetFileClock(str(self.clock_file)).now()


def unfinished_deliveries(db) -> list[str]:  # noqa: ANN001
    """Keys of Slack requests whose body is still kept: taken, maybe acknowledged, not done."""
    with db.session() as s:
        return list(s.exec(select(InboundDelivery.key).where(InboundDelivery.body.is_not(None))))


def unfired_timers(db, now) -> list[Timer]:  # noqa: ANN001
    with db.session() as s:
        return [t for t in s.exec(select(Timer).where(Timer.status.in_([PENDING, FIRING]))).all()
                if t.due_at.replace(tzinfo=t.due_at.tzinfo or now.tzinfo) <= now]


@dataclass
class Verdict:
    lost: list[str]
    doubled: list[str]
    timer_problems: list[str]
    figures: dict

    @property
    def ok(self) -> bool:
        return not (self.lost or self.doubled or self.timer_problems)

    def describe(self) -> str:
        parts = [f"{name} ({len(items)}):\n" + "\n".join(f"  {i}" for i in items)
                 for name, items in (("lost", self.lost), ("doubled", self.doubled),
                                     ("timer problems", self.timer_problems)) if items]
        return "\n".join(parts + [f"figures: {self.figures}"])


def verdict(db, fake: FakeSlack, outcome: Outcome, *, use_cases: int, now) -> Verdict:  # noqa: ANN001
    """Nothing acknowledged lost, nothing doubled where the outbox can tell, every due timer
    fired once."""
    with db.session() as s:
        requests = s.exec(select(ApprovalRequest)).all()
        incidents = s.exec(select(Incident)).all()
        events = s.exec(select(AuditEvent)).all()
    lost: list[str] = []
    doubled: list[str] = []
    by_title = {t: [r for r in requests if r.title == t] for t in {r.title for r in requests}}
    inc_by_title = {t: [i for i in incidents if i.title == t] for t in {i.title for i in incidents}}
    posted = [m["text"] for m in request_messages(fake)]
    for label in outcome.acked["signoff"]:
        rows = by_title.get(label, [])
        held = sum(f"— {label} [" in t for t in posted)
        if not rows or held == 0:
            lost.append(f"sign-off {label}: {len(rows)} rows, {held} messages")
    page_keys = [outbox_key(m) or "" for m in fake.messages(ON_CALL)]
    for label in outcome.acked["incident"]:
        rows = inc_by_title.get(label, [])
        announced = count_containing(fake, GOVERNANCE, f"[sev2]: {label} — reported by")
        # By key: a page DM is rewritten once someone acknowledges.
        paged = sum(k.startswith(f"incident:{r.id}:page:") for r in rows for k in page_keys)
        if not rows or not announced or not paged:
            lost.append(f"incident {label}: {len(rows)} rows, {announced} announced, {paged} paged")
    voted = [e for e in events if e.action == "approval.voted"]
    for label in outcome.acked["approve"]:
        n = int(label.split("-")[1])
        targets = [r for r in requests if r.title.startswith(f"signoff-{n:03d}")]
        if not any(str(r.id) == e.entity_id for r in targets for e in voted):
            lost.append(f"approval {label}: no vote recorded")
    acknowledged = [e for e in events if e.action == "incident.acknowledged"]
    for label in outcome.acked["ack"]:
        n = int(label.split("-")[1])
        targets = [i for i in incidents if i.title.startswith(f"incident-{n:03d}")]
        if not any(str(i.id) == e.entity_id for i in targets for e in acknowledged):
            lost.append(f"acknowledgement {label}: not recorded")
    for title, rows in {**by_title, **inc_by_title}.items():
        if len(rows) > 1:  # one request, one row: each label is sent once
            doubled.append(f"{title}: {len(rows)} rows")
    for label, rows in by_title.items():
        held = sum(f"— {label} [" in t for t in posted)
        if held > 1:
            doubled.append(f"sign-off {label}: {held} messages")
    delivery = judge(db, fake)
    doubled += [f"outbox {k}: {n} extra" for k, n in delivery.doubled.items()]
    doubled += [f"outbox {k}: not sent" for k in delivery.not_sent]

    problems = [f"timer {t.kind} {t.ref} due {t.due_at} still {t.status}" for t in unfired_timers(db, now)]
    for r in requests:
        numbers = [e.payload.get("number") for e in events
                   if e.action == "approval.reminded" and e.entity_id == str(r.id)]
        if len(numbers) != len(set(numbers)) or len(numbers) != r.reminders_sent:
            problems.append(f"sign-off {r.id}: reminders {numbers}, reminders_sent {r.reminders_sent}")
    expired = [e.entity_id for e in events if e.action == "approval.expired"]
    problems += [f"sign-off {i} expired {expired.count(i)} times" for i in set(expired) if expired.count(i) > 1]
    for n in range(1, use_cases + 1):
        soon = count_containing(fake, owner(n), "is due for review on")
        if soon != 1:
            problems.append(f"use case {n}: {soon} due-soon nudges")
    figures = {"kills": len(outcome.kills), "restarts": outcome.restarts,
               "acked": sum(map(len, outcome.acked.values())), "cut_off": len(outcome.cut_off),
               "lost": len(lost), "doubled": len(doubled), "timer_problems": len(problems),
               "outbox_rows": delivery.owed}
    return Verdict(lost, doubled, problems, figures)


__all__ = ["CrashRun", "KillPoint", "Outcome", "Step", "Verdict", "kill_points", "script",
           "seed_use_cases", "verdict"]
