"""The README's gate step for CI systems other than GitHub, run exactly as written: curl and
python3 against the real server, exit 1 until the pull request is signed off, then 0."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from blocks.approvals import APPROVE
from tests.e2e.approvals_support import (  # noqa: F401  (fixtures)
    API_TOKEN, approvals_bot, ask, click, request_message, slack, ticked, wait_message)
from tests.harness.server import REPO_ROOT

pytestmark = pytest.mark.e2e

PR = "https://github.com/acme/app/pull/77"


def readme_step() -> str:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("### Enforcing sign-off in CI"):]
    return re.search(r"```sh\n(curl .*?)```", section, re.S).group(1)


def run_step(bot, step: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COUNTERSIGN_URL": bot.url, "COUNTERSIGN_API_TOKEN": API_TOKEN,
           "PULL_REQUEST_URL": PR}
    return subprocess.run(["bash", "-c", "set -o pipefail\n" + step], env=env, capture_output=True,
                          text=True, timeout=30)


def test_the_readme_gate_step_fails_until_sign_off_and_passes_after(approvals_bot, slack, fake_slack):
    step = readme_step()
    ask(slack, f"code {PR} Retry billing calls")
    message = request_message(fake_slack)
    waiting = run_step(approvals_bot, step)
    assert waiting.returncode == 1 and waiting.stdout.strip() == "pending", waiting.stderr
    click(slack, APPROVE, message, "U0REV1", state=ticked(message, "tests-pass"))
    wait_message(fake_slack, message["ts"], "APPROVED")
    approved = run_step(approvals_bot, step)
    assert approved.returncode == 0 and approved.stdout.strip() == "approved", approved.stderr


def test_the_readme_gate_step_fails_with_a_wrong_token(approvals_bot):
    env_step = readme_step().replace("$COUNTERSIGN_API_TOKEN", "not-the-token-0123456789")
    assert run_step(approvals_bot, env_step).returncode != 0
