"""The GitHub App manifest asks for exactly what the App uses, and the README's setup agrees."""

import json

from bot.github_webhook import EVENTS
from tests.harness.paths import REPO_ROOT

MANIFEST = json.loads((REPO_ROOT / "github-app-manifest.json").read_text())


def test_the_manifest_asks_for_the_least_the_app_needs():
    assert MANIFEST["default_permissions"] == {"checks": "write", "pull_requests": "read",
                                               "contents": "read", "metadata": "read"}
    assert sorted(MANIFEST["default_events"]) == sorted(EVENTS)
    assert MANIFEST["hook_attributes"]["url"].endswith("/github/webhook")
    assert MANIFEST["public"] is False


def test_the_readme_setup_names_the_manifest_the_check_and_the_settings():
    readme = (REPO_ROOT / "README.md").read_text()
    setup = readme[readme.index("### Enforcing sign-off where code merges: the GitHub App"):]
    for needed in ("github-app-manifest.json", "Countersign sign-off", "integration_id",
                   "GITHUB_APP_ID", "GITHUB_PRIVATE_KEY", "GITHUB_WEBHOOK_SECRET", "/github/webhook"):
        assert needed in setup, needed
    assert "pip install countersign-bot" not in readme, "that package is not published"
