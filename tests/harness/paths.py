"""Where the harness finds the repository and Slack's published specifications."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# The specs live beside the repository, not in it (reference data shared by every worktree).
SHARED_SLACK_DIR = Path(os.environ.get("SLACK_SPEC_DIR") or REPO_ROOT.parent / "shared" / "slack")


def require_shared_file(name: str) -> Path:
    """Path of a file in SHARED_SLACK_DIR; skips the test if it is absent, fails it on CI.

    CI must never silently skip the spec checks, so a missing file is an error there.
    """
    path = SHARED_SLACK_DIR / name
    if not path.is_file():
        reason = f"{name} not found in {SHARED_SLACK_DIR} (set SLACK_SPEC_DIR to the folder holding it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path
