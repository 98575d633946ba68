"""Reliability fixtures: the end-to-end ones (real bot process, fake Slack over loopback,
injected clock), imported rather than copied so both suites start the bot the same way."""

from tests.e2e.conftest import bot, bot_factory, clock_file, fake_slack, slack  # noqa: F401
