"""Start the real bot (`python -m bot …`, the documented command) as a child process."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.harness.paths import REPO_ROOT

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-test-token"
EXAMPLE_PLAYBOOK = REPO_ROOT / "playbook.example.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bot_env(*, database_url: str, slack_api_url: str, port: int | None = None,
            **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DATABASE_URL")) and k != "PYTHONPATH"}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api_url,
        DATABASE_URL=database_url,
        HOST="127.0.0.1",
        PORT=str(port or free_port()),
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        # Fast feedback in tests; the defaults are for Slack's real limits.
        OUTBOX_POLL_INTERVAL="0.05",
        OUTBOX_CHANNEL_INTERVAL="0",
        OUTBOX_RETRY_BASE="0.05",
        OUTBOX_LEASE="30",
        SLACK_API_TIMEOUT="2",
        TIMER_SWEEP_INTERVAL="0.2",
        LEADER_REFRESH_INTERVAL="0.2",
        PLAYBOOK_PATH=str(EXAMPLE_PLAYBOOK),
        PLAYBOOK_WATCH_INTERVAL="0",
        # Checkpoints (and their governance-channel posts) only where a test asks for them.
        AUDIT_CHECKPOINT_INTERVAL="3650d",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


_instances = itertools.count(1)


class BotProcess:
    """One bot process; its output goes to files under `workdir` for post-mortems."""

    def __init__(self, command: str, env: dict[str, str], workdir: Path) -> None:
        self.command = command
        self.env = env
        self.workdir = workdir
        self.port = int(env["PORT"])
        self.proc: subprocess.Popen | None = None
        self.runs = 0
        self.name = f"{command.split()[0]}{next(_instances)}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_healthy: bool = True, timeout: float = 30.0) -> BotProcess:
        self.runs += 1
        out = open(self.workdir / f"{self.name}-run{self.runs}.log", "wb")
        # The working directory is the test's, so no developer .env leaks in. A PYTHONPATH
        # given in env comes after the repository's (e.g. tests/harness/slow_dns).
        python_path = os.pathsep.join(filter(None, [str(REPO_ROOT), self.env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *self.command.split()],
            cwd=self.workdir, env={**self.env, "PYTHONPATH": python_path},
            stdout=out, stderr=subprocess.STDOUT,
        )
        if wait_healthy:
            self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"bot exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"bot not healthy within {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace")
                         for p in sorted(self.workdir.glob(f"{self.name}-run*.log")))

    def log_records(self, match: Callable[[dict], bool] = lambda _: True) -> list[dict]:
        """The JSON log lines (LOG_FORMAT=json) written so far that `match`; others are skipped."""
        records = []
        for line in self.output().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and match(record):
                records.append(record)
        return records

    def wait_for_log(self, match: Callable[[dict], bool], count: int = 1,
                     timeout: float = 10.0, what: str = "matching log lines") -> list[dict]:
        """Every JSON log line that matches, once at least `count` are written; AssertionError
        after `timeout`. A line is written after the work it reports: never read it unwaited."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.log_records(match)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(f"expected {count} {what} within {timeout}s, got {len(found)}; "
                                     f"log:\n{self.output()[-4000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def run_cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd,
                          env={**env, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True,
                          text=True, timeout=timeout)
