"""manifest.yml must paste into Slack as is: valid against Slack's schema, complete."""

import json

import jsonschema
import pytest
import yaml

from blocks.help import COMMANDS
from tests.harness.paths import REPO_ROOT, require_shared_file


@pytest.fixture(scope="module")
def manifest():
    return yaml.safe_load((REPO_ROOT / "manifest.yml").read_text())


def test_manifest_validates_against_slacks_published_schema(manifest):
    schema = json.loads(require_shared_file("manifest.schema.1.0.0.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.path))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_the_schema_check_can_fail(manifest):
    schema = json.loads(require_shared_file("manifest.schema.1.0.0.json").read_text())
    broken = dict(manifest, display_information={"name": ""})
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_every_command_in_help_is_declared_and_vice_versa(manifest):
    declared = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert declared == {c.name for c in COMMANDS}


def test_everything_points_at_the_one_slack_endpoint(manifest):
    urls = {c["url"] for c in manifest["features"]["slash_commands"]}
    urls.add(manifest["settings"]["interactivity"]["request_url"])
    urls.add(manifest["settings"]["event_subscriptions"]["request_url"])
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")


def test_scopes_and_events_the_features_need(manifest):
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "chat:write.public", "commands", "im:write", "users:read",
            "usergroups:read", "channels:manage"} <= scopes
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
