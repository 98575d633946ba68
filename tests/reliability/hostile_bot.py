"""One real bot process per test module, and the invariants every hostile request is judged by.

Fuzzing needs hundreds of requests, not hundreds of processes, so the database, the fake Slack
and the bot here are module-scoped (the e2e fixtures are per test). Each request (`Shot`) is
judged on its own — never a 5xx; a 2xx or a 4xx that explains; no traceback logged while it was
served; nothing written by one that was refused — and each test runs inside `judging()`, which ends
with the bot settled, its whole log scanned once more, and every Web API call and response_url
post the test caused searched for markup the fuzz typed.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import SQLModel, select

import models  # noqa: F401  (registers every table on SQLModel.metadata)
from bot.db import Database
from models.outbox import PENDING, SENDING, OutboxMessage
from models.timer import FIRING
from models.timer import PENDING as TIMER_PENDING
from models.timer import Timer
from tests.conftest import migrated_database, own_database_url
from tests.e2e.conftest import seed_example_workspace
from tests.harness.fake_slack import FakeSlack
from tests.harness.paths import require_shared_file
from tests.harness.server import SIGNING_SECRET, BotProcess, bot_env
from tests.harness.signing import SignedSlackClient
from tests.reliability import figures, markup
from tests.reliability.workload import report

API_TOKEN = "ci-api-token-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
# Calls a person sees: an answer to what they did.
VISIBLE = ("chat.postMessage", "chat.postEphemeral", "chat.update", "views.open", "views.push",
           "views.update", "views.publish")
# A request's own log lines carry the request id it was sent with (bot/web.py binds it).
ACCESS_WAIT = 10.0
ANSWER_WAIT = 5.0
SETTLE_WAIT = 20.0
# A fuzz test is hundreds of real requests, each with bounded waits; the nightly profile sets more.
FUZZ_TIMEOUT = int(os.environ.get("FUZZ_TIMEOUT", 900))


# -- module-scoped world -------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_database_url(tmp_path_factory) -> Iterator[str]:  # noqa: ANN001
    with own_database_url(tmp_path_factory.mktemp("hostile-db")) as url:
        yield url


@pytest.fixture(scope="module")
def module_db(module_database_url: str) -> Iterator[Database]:
    with migrated_database(module_database_url) as database:
        yield database


@pytest.fixture(scope="module")
def module_fake() -> Iterator[FakeSlack]:
    fake = FakeSlack(spec_path=require_shared_file("slack_web_openapi_v2.json"))
    seed_example_workspace(fake)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def module_bot_factory(module_db, module_database_url, module_fake, tmp_path_factory):  # noqa: ANN001
    """Bot processes on the module's database and fake Slack; all stopped at the end."""
    started: list[BotProcess] = []

    def make(**overrides: str) -> BotProcess:
        env = bot_env(database_url=module_database_url, slack_api_url=module_fake.base_url,
                      API_TOKENS=f"ci={API_TOKEN}", **overrides)
        proc = BotProcess("serve", env, tmp_path_factory.mktemp("bot"))
        started.append(proc)
        return proc.start()

    yield make
    for proc in started:
        proc.stop()


@pytest.fixture(scope="module")
def hostile(module_bot_factory, module_fake, module_db) -> Iterator[Hostile]:  # noqa: ANN001
    world = Hostile(module_bot_factory(), module_fake, module_db)
    yield world
    world.close()


# -- a request and its judgement -------------------------------------------------------------


@dataclass
class Shot:
    """One request: the body exactly as sent, and what the generator knows about it."""

    kind: str  # command, block_actions, view_submission, message_action, block_suggestion, event, api, raw
    body: bytes = b""
    content_type: str | None = "application/x-www-form-urlencoded"
    headers: list[tuple[str, str | bytes]] = field(default_factory=list)
    method: str = "POST"
    path: str = "/slack/events"
    signed: bool = True
    trigger_id: str | None = None
    # A person is there to be told (a user id and a way to reach them survived the mutation):
    # a 2xx must reach them — in the HTTP answer, on the response_url or in a visible call.
    tell_user: bool = False
    # Not something Slack sends, and not to be acted on: nothing may be written.
    must_refuse: bool = False
    note: str = ""

    def describe(self) -> str:
        body = self.body[:1500].decode("utf-8", "backslashreplace")
        more = f" …(+{len(self.body) - 1500} bytes)" if len(self.body) > 1500 else ""
        return (f"{self.method} {self.path} [{self.kind}] {self.note}\n  headers: {self.headers}\n"
                f"  body ({len(self.body)} bytes): {body}{more}")


class BotLog:
    """The bot's output file, read forward from where the last look stopped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.scanned = 0  # bytes already searched for tracebacks

    def size(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def _lines(self, start: int) -> bytes:
        with open(self.path, "rb") as f:
            f.seek(start)
            data = f.read()
        # Only whole lines: the bot may be half-way through writing the last one.
        return data[:data.rfind(b"\n") + 1]

    def read(self, start: int) -> str:
        return self._lines(start).decode("utf-8", "replace")

    def wait_for(self, needle: str, start: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if needle in self.read(start):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def new_tracebacks(self) -> list[str]:
        chunk = self._lines(self.scanned)
        self.scanned += len(chunk)
        return [line[:3000] for line in chunk.decode("utf-8", "replace").splitlines()
                if "Traceback" in line or '"exc_info"' in line or '"stack_info"' in line]

    def wait_quiet(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Until nothing was written for `quiet` seconds (bounded): a late line is in by then."""
        deadline = time.monotonic() + timeout
        last, since = self.size(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = self.size()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return


class Rows:
    """Row counts of every table, read once the bot has nothing left in flight."""

    def __init__(self, db: Database) -> None:
        self.db = db
        tables = [t.name for t in SQLModel.metadata.sorted_tables]
        self._query = text("SELECT " + ", ".join(
            f'(SELECT count(*) FROM "{name}") AS "{name}"' for name in tables))

    def counts(self) -> dict[str, int]:
        with self.db.engine.connect() as conn:
            return dict(conn.execute(self._query).mappings().one())

    def _busy(self) -> bool:
        soon = datetime.now(UTC) + timedelta(seconds=10)
        with self.db.session() as s:
            sending = s.exec(select(OutboxMessage.id).where(
                OutboxMessage.status.in_([PENDING, SENDING])).limit(1)).first()
            # A timer about to fire writes rows no request asked for: let it fire first.
            firing = s.exec(select(Timer.id).where(
                Timer.status.in_([TIMER_PENDING, FIRING]), Timer.due_at <= soon).limit(1)).first()
        return sending is not None or firing is not None

    def settled(self, timeout: float = SETTLE_WAIT) -> dict[str, int]:
        """Counts once no message is owed, no timer is due and two reads agree."""
        deadline = time.monotonic() + timeout
        previous = None
        while True:
            current = None if self._busy() else self.counts()
            if current is not None and current == previous:
                return current
            if time.monotonic() >= deadline:
                raise AssertionError(f"the bot did not settle within {timeout}s "
                                     "(outbox messages or due timers still in flight)")
            previous = current
            time.sleep(0.03)


class Hostile:
    """The module's bot, fake Slack and database, and the running judgement of a test."""

    def __init__(self, proc: BotProcess, fake: FakeSlack, db: Database) -> None:
        self.proc = proc
        self.fake = fake
        self.db = db
        self.log = BotLog(proc.workdir / f"{proc.name}-run{proc.runs}.log")
        self.rows = Rows(db)
        self.signer = SignedSlackClient(proc.url, SIGNING_SECRET, fake=fake).signer
        self.http = httpx.Client(base_url=proc.url, timeout=30)
        self.begin()

    def close(self) -> None:
        self.http.close()

    # -- per test ----------------------------------------------------------------------

    def begin(self) -> None:
        """Start a test's tally; what the bot did before (seeding, earlier tests) is not judged."""
        self.rows.settled()
        # Whatever ran before — the module's seeding, an earlier test — is judged too.
        earlier = self.log.new_tracebacks()
        assert not earlier, "tracebacks logged before this test:\n" + "\n".join(earlier[:5])
        self.calls_from = len(self.fake.calls)
        self.responses_from = len(self.fake.responses)
        self.violations_from = len(self.fake.violations)
        self.answers: list[tuple[Shot, dict]] = []  # 2xx JSON bodies the bot answered with
        self.figures = {"requests fuzzed": 0, "5xx": 0, "tracebacks": 0, "markup leaks": 0,
                        "unanswered": 0, "rows written by refused requests": 0}

    def fire(self, shot: Shot) -> httpx.Response:
        before = self.rows.settled()
        started = self.log.size()
        calls_before = len(self.fake.calls)
        request_id = uuid.uuid4().hex[:16]
        headers: list[tuple[str, str | bytes]] = [("X-Request-Id", request_id)]
        if shot.content_type is not None:
            headers.append(("Content-Type", shot.content_type))
        if shot.signed and shot.path == "/slack/events":
            for name, value in self.signer.headers(shot.body).items():
                headers.append((name, value))
        headers.extend(shot.headers)
        resp = self.http.request(shot.method, shot.path, content=shot.body, headers=headers)
        self.figures["requests fuzzed"] += 1
        logged = self.log.wait_for(request_id, started, ACCESS_WAIT)

        def context(why: str) -> str:
            excerpt = self.log.read(started)[-4000:]
            return (f"{why}\nrequest: {shot.describe()}\nresponse: {resp.status_code} "
                    f"{resp.text[:1500]!r}\nbot log since the request:\n{excerpt}")

        if resp.status_code >= 500:
            self.figures["5xx"] += 1
            raise AssertionError(context("a 5xx"))
        if 300 <= resp.status_code < 400:
            # Starlette sends a path with a trailing slash to the path without it; that is an
            # answer, not a failure, as long as it goes nowhere else.
            canonical = shot.path.split("?")[0].rstrip("/")
            assert resp.headers.get("location", "").split("?")[0].endswith(canonical), context("a redirect elsewhere")
        else:
            assert 200 <= resp.status_code < 300 or 400 <= resp.status_code < 500, context("neither 2xx nor 4xx")
        assert logged, context(f"no access line for request id {request_id} within {ACCESS_WAIT}s")
        if resp.status_code >= 400:
            assert resp.content.strip(), context("a 4xx that explains nothing (empty body)")
        elif resp.status_code < 300:
            self._judge_answer(shot, resp, calls_before, context)
        tracebacks = self.log.new_tracebacks()
        if tracebacks:
            self.figures["tracebacks"] += len(tracebacks)
            raise AssertionError(context(f"{len(tracebacks)} traceback line(s) logged"))
        if resp.status_code >= 400 or shot.must_refuse:
            after = self.rows.settled()
            changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
            if changed:
                self.figures["rows written by refused requests"] += sum(
                    abs(b - a) for a, b in changed.values())
                raise AssertionError(context(f"a refused request wrote rows: {changed}"))
        return resp

    def _judge_answer(self, shot: Shot, resp: httpx.Response, calls_before: int, context) -> None:  # noqa: ANN001
        body = resp.content.strip()
        if body and resp.headers.get("content-type", "").startswith("application/json"):
            answer = json.loads(body)
            if isinstance(answer, dict):
                self.answers.append((shot, answer))
                if answer.get("response_action") == "errors":
                    errors = answer.get("errors")
                    assert isinstance(errors, dict) and errors and all(
                        isinstance(v, str) and v.strip() for v in errors.values()), context(
                        "a form error that explains nothing")
        if shot.kind == "block_suggestion":
            assert body, context("an options request answered with no options")
        if shot.kind == "api":
            assert body, context("an API answer with an empty body")
        if not shot.tell_user or body:
            return

        def reached() -> bool:
            if shot.trigger_id and any(key == shot.trigger_id for key, _ in self.fake.responses):
                return True
            return any(c.method in VISIBLE for c in self.fake.calls[calls_before:])

        deadline = time.monotonic() + ANSWER_WAIT
        while not reached():
            if time.monotonic() >= deadline:
                self.figures["unanswered"] += 1
                raise AssertionError(context(
                    f"a 2xx with an empty body and no answer to the person within {ANSWER_WAIT}s"))
            time.sleep(0.02)

    @contextmanager
    def judging(self, name: str, workdir: Path) -> Iterator[Hostile]:
        """A test's requests, then the whole test's judgement; its figures are kept either way."""
        self.begin()
        problems: list[str] = []
        try:
            yield self
            problems = self._whole_test()
        finally:
            figures.add(self.figures)
            report(workdir, name, self.figures)
        assert not problems, "\n\n".join(problems)

    def _whole_test(self) -> list[str]:
        """Late tracebacks, markup typed and sent live, Web API calls Slack would refuse."""
        self.rows.settled()
        self.log.wait_quiet()
        late = self.log.new_tracebacks()
        self.figures["tracebacks"] += len(late)
        found = []
        for call in self.fake.calls[self.calls_from:]:
            found += [f"{call.method}: {leak}" for leak in markup.leaks(call.args)]
        for key, payload in self.fake.responses[self.responses_from:]:
            found += [f"response_url {key}: {leak}" for leak in markup.leaks(payload)]
        for shot, answer in self.answers:
            found += [f"HTTP answer to {shot.kind} {shot.note}: {leak}" for leak in markup.leaks(answer)]
        self.figures["markup leaks"] += len(found)
        violations = self.fake.violations[self.violations_from:]
        problems = []
        if late:
            problems.append("tracebacks logged after the requests were answered:\n" + "\n".join(late[:5]))
        if found:
            problems.append("typed markup sent live:\n" + "\n".join(found[:20]))
        if violations:
            problems.append("Web API calls Slack would refuse:\n" + "\n".join(violations[:20]))
        return problems
