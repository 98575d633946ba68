import pytest

from bot.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "DATABASE_URL",
                 "SLACK_API_URL", "PORT", "PLAYBOOK_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in


def test_defaults_are_the_embedded_mode():
    s = load_settings()
    assert s.database_url == "sqlite:///countersign.db"
    assert s.is_sqlite
    assert s.port == 3000
    assert s.slack_api_url == "https://slack.com/api/"
    assert str(s.playbook_path) == "playbook.yaml"


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-dotenv\nPORT=4000\n")
    s = load_settings()
    assert s.secret("SLACK_BOT_TOKEN") == "xoxb-from-dotenv"
    assert s.port == 4000


def test_secrets_do_not_leak_into_repr(monkeypatch):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "very-secret-value")
    assert "very-secret-value" not in repr(load_settings())


@pytest.mark.parametrize("name,hint", [
    ("SLACK_BOT_TOKEN", "OAuth & Permissions"),
    ("SLACK_SIGNING_SECRET", "Basic Information"),
    ("SLACK_APP_TOKEN", "connections:write"),
])
def test_missing_secret_names_the_variable_and_where_to_get_it(name, hint):
    with pytest.raises(SettingsError) as err:
        load_settings().require(name)
    assert str(err.value).startswith(f"{name} is not set:")
    assert hint in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name,value,words", [
    ("SLACK_BOT_TOKEN", "xoxp-user-token", "xoxb-"),
    ("SLACK_APP_TOKEN", "xoxb-not-an-app-token", "xapp-"),
    ("PORT", "eighty", "integer"),
    ("PORT", "70000", "65535"),
    ("DATABASE_URL", "mysql://x/y", "postgresql+psycopg"),
    ("SLACK_API_URL", "slack.com/api", "http"),
])
def test_malformed_setting_is_one_line_naming_the_variable(monkeypatch, name, value, words):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value).startswith(f"{name} is not valid:")
    assert words in str(err.value)


def test_plain_postgresql_url_uses_psycopg3(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/countersign")
    assert load_settings().database_url == "postgresql+psycopg://u@db:5432/countersign"


def test_api_url_gets_trailing_slash(monkeypatch):
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    assert load_settings().slack_api_url == "http://127.0.0.1:9/api/"
