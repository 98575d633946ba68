"""USAGE_RETENTION and USAGE_WATCH_INTERVAL: durations like the audit settings, refused in one
line naming the variable."""

from datetime import timedelta

import pytest

from bot.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):  # noqa: ANN001, ANN201
    for name in ("USAGE_RETENTION", "USAGE_WATCH_INTERVAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    s = load_settings()
    assert (s.usage_retention, s.usage_watch_interval) == (timedelta(days=180), 10.0)


@pytest.mark.parametrize("text,kept", [("90d", timedelta(days=90)), ("1w", timedelta(weeks=1)),
                                       ("1d", timedelta(days=1)), ("forever", None), ("Forever", None)])
def test_retention_is_a_duration_or_forever(monkeypatch, text, kept) -> None:  # noqa: ANN001
    monkeypatch.setenv("USAGE_RETENTION", text)
    assert load_settings().usage_retention == kept


@pytest.mark.parametrize("name,value,words", [
    ("USAGE_RETENTION", "180", "a bare number has no unit"),
    ("USAGE_RETENTION", "6 months", "a duration like"),
    ("USAGE_RETENTION", "12h", "shorter than 1d"),
    ("USAGE_WATCH_INTERVAL", "0", "greater than 0"),
])
def test_a_bad_value_is_one_line_naming_the_variable(monkeypatch, name, value, words) -> None:  # noqa: ANN001
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value).startswith(f"{name} is not valid:") and words in str(err.value)
