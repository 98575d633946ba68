"""Log context for background work, and failures logged once while they repeat."""

import asyncio
import logging

from bot import logs


async def test_a_job_runs_in_a_fresh_context_whatever_context_starts_it():
    logs.bind(request_id="req-1", team="T1", user="U1", action="/ai-approve")

    async def work() -> dict:
        await asyncio.sleep(0)
        seen = {name: logs.current(name) for name in logs.CONTEXT_FIELDS}
        logs.bind(user="U-set-by-the-job")
        return seen

    first, second = await logs.as_job("timer-sweep", work), await logs.as_job("timer-sweep", work)
    assert {k: v for k, v in first.items() if k != "job"} == dict.fromkeys(
        ("request_id", "team", "user", "action"))
    assert first["job"].startswith("timer-sweep:") and second["job"].startswith("timer-sweep:")
    assert first["job"] != second["job"], "each run has an id of its own"
    assert (logs.current("user"), logs.current("job")) == ("U1", None)  # the caller's, untouched


async def test_a_callback_given_a_job_context_does_not_see_the_request():
    logs.bind(request_id="req-2")
    seen = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(lambda: seen.set_result(logs.current("request_id")),
                                         context=logs.job_context("clock-wake"))
    assert await seen is None


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def logger_with_lines() -> tuple[logging.Logger, Lines]:
    logger = logging.getLogger("tests.repeated_failures")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    lines = Lines()
    logger.handlers[:] = [lines]
    return logger, lines


def test_a_repeating_failure_is_logged_once_with_its_traceback_then_reminded():
    logger, lines = logger_with_lines()
    failures = logs.RepeatedFailures(logger, "timer-sweep", remind_every=5)
    for _ in range(9):
        failures.failed(TimeoutError("database unreachable\n[SQL: SELECT … at 09:00:01]"))
    assert [(r.levelname, r.getMessage()) for r in lines.records] == [
        ("ERROR", "timer-sweep failed"),
        ("ERROR", "timer-sweep still failing, 5 times in a row: TimeoutError: database unreachable"),
    ]
    assert lines.records[0].exc_info is not None


def test_a_new_kind_of_failure_is_logged_and_a_recovery_said_once():
    logger, lines = logger_with_lines()
    failures = logs.RepeatedFailures(logger, "weekly-digest")
    failures.failed(KeyError("bot"))
    failures.failed(TypeError("'NoneType' object is not subscriptable"))
    failures.failed(TypeError("'NoneType' object is not subscriptable"))
    failures.succeeded()
    failures.succeeded()
    assert [r.getMessage() for r in lines.records] == [
        "weekly-digest failed", "weekly-digest failed", "weekly-digest works again after 2 failures"]
