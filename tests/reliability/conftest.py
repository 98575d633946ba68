"""Reliability fixtures: the end-to-end ones (real bot process, fake Slack over loopback,
injected clock), imported rather than copied so both suites start the bot the same way."""

from tests.e2e.conftest import bot, bot_factory, clock_file, fake_slack, slack  # noqa: F401

import os  # noqa: E402

from hypothesis import HealthCheck, Phase, settings  # noqa: E402

from tests.reliability import figures  # noqa: E402

# The hostile-input properties run against a real bot, so every example is a real request.
# "ci" (the default) is deterministic: the same examples on every run, none remembered between
# runs, and few enough for the suite's time. "nightly" draws fresh examples, many more of them
# (tests/soak/fuzz_nightly.sh). No deadline: a request's time is the machine's, not the code's.
# No shrinking: each step would be another real request with its bounded waits (minutes for
# one failure), and the failure already shows the whole request, the answer and the bot's log.
_COMMON = {"deadline": None, "database": None, "print_blob": True,
           "phases": [Phase.explicit, Phase.reuse, Phase.generate],
           "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("ci", derandomize=True, max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", 40)),
                          **_COMMON)
settings.register_profile("nightly", max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", 1000)),
                          **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    totals = figures.summary()
    if totals:
        terminalreporter.write_sep("-", "hostile input figures")
        terminalreporter.write_line(totals)
    if figures.REPORTS:
        terminalreporter.write_sep("-", "reliability figures")
        for line in figures.REPORTS:
            terminalreporter.write_line(line)
