"""Start-up: a missing or malformed setting is one line naming it, exit 2, no traceback."""

import pytest

from tests.harness.server import bot_env, run_cli

BASE = dict(database_url="sqlite:///startup.db", slack_api_url="http://127.0.0.1:9/api/")


def without(env, *names):
    return {k: v for k, v in env.items() if k not in names}


@pytest.mark.parametrize("command,missing,hint", [
    ("serve", "SLACK_BOT_TOKEN", "OAuth & Permissions"),
    ("serve", "SLACK_SIGNING_SECRET", "Basic Information"),
    ("socket", "SLACK_BOT_TOKEN", "OAuth & Permissions"),
    ("socket", "SLACK_APP_TOKEN", "connections:write"),
    ("clock", "SLACK_BOT_TOKEN", "OAuth & Permissions"),
])
def test_missing_setting(tmp_path, command, missing, hint):
    env = without(bot_env(**BASE), missing)
    result = run_cli([command], env, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"countersign: {missing} is not set:")
    assert hint in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("name,value,words", [
    ("PORT", "http", "PORT is not valid"),
    ("SLACK_BOT_TOKEN", "xoxp-a-user-token", "SLACK_BOT_TOKEN is not valid: Value error, expected a bot token"),
    ("DATABASE_URL", "mysql://db/countersign", "DATABASE_URL is not valid"),
    ("LOG_FORMAT", "xml", "LOG_FORMAT is not valid"),
])
def test_malformed_setting(tmp_path, name, value, words):
    env = bot_env(**BASE) | {name: value}
    result = run_cli(["serve"], env, tmp_path)
    assert result.returncode == 2
    assert words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_one_line(tmp_path):
    env = bot_env(**BASE) | {"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    result = run_cli(["migrate"], env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("countersign: cannot use the database at DATABASE_URL:")
    assert "Traceback" not in result.stderr


def test_dotenv_in_the_working_directory_is_honoured(tmp_path):
    env = without(bot_env(**BASE), "SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN")
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxp-wrong-kind\n")
    result = run_cli(["serve"], env, tmp_path)
    assert "SLACK_BOT_TOKEN is not valid" in result.stderr


GITHUB = {"GITHUB_APP_ID": "4242", "GITHUB_WEBHOOK_SECRET": "github-secret-0123456789",
          "GITHUB_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----"}


@pytest.mark.parametrize("settings,words", [
    ({"GITHUB_APP_ID": "4242"}, "GITHUB_PRIVATE_KEY is not set: generate a private key"),
    (GITHUB | {"GITHUB_WEBHOOK_SECRET": "short"}, "GITHUB_WEBHOOK_SECRET is not valid"),
    (GITHUB, "GITHUB_PRIVATE_KEY is not valid: not a PEM private key"),
    (GITHUB | {"GITHUB_PRIVATE_KEY": "/nowhere/app.pem"}, "GITHUB_PRIVATE_KEY is not valid: neither PEM text nor a readable file"),
    (GITHUB | {"GITHUB_APP_ID": "abc"}, "GITHUB_APP_ID is not valid"),
])
def test_github_app_settings_are_checked_at_start_up(tmp_path, settings, words):
    result = run_cli(["serve"], bot_env(**BASE) | settings, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
