"""Logging: one JSON object per line for machines, plain text for a terminal.

Request-scoped fields (request id, Slack team/user, action) live in context
variables so every line logged while serving a request carries them, including
lines from Bolt, slack_sdk and uvicorn. Work after a request's ack keeps them.
Background work (the clock's jobs, the outbox dispatcher, the playbook watch) runs
in a context of its own, with a `job` id and none of any request's fields: a task
or callback inherits the context it was created in, and the clock is often woken
from inside a request.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sys
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from pythonjsonlogger.json import JsonFormatter

T = TypeVar("T")

CONTEXT_FIELDS = ("request_id", "team", "user", "action", "job")
_context: dict[str, ContextVar[str | None]] = {
    name: ContextVar(name, default=None) for name in CONTEXT_FIELDS
}


def bind(**fields: str | None) -> None:
    for name, value in fields.items():
        _context[name].set(value)


def current(name: str) -> str | None:
    return _context[name].get()


def job_context(name: str) -> contextvars.Context:
    """A fresh context for background work: a new `job` id (`name:` + 8 hex), nothing else."""
    context = contextvars.Context()
    context.run(_context["job"].set, f"{name}:{uuid.uuid4().hex[:8]}")
    return context


async def as_job(name: str, work: Callable[[], Awaitable[T]]) -> T:
    """Await `work()` in a job context of its own, whatever context the caller is in."""
    return await asyncio.create_task(work(), name=name, context=job_context(name))


class RepeatedFailures:
    """A background job's failures, logged once while it keeps failing the same way.

    A job that runs every few seconds would otherwise log the same traceback every few
    seconds (a database outage, Slack answering oddly). A failure of a new kind is logged
    with its traceback; repeats every `remind_every`-th time, and a recovery once.
    """

    def __init__(self, logger: logging.Logger, what: str, *, remind_every: int = 100) -> None:
        self.logger = logger
        self.what = what
        self.remind_every = remind_every
        self._kind: tuple[str, str] | None = None
        self._repeats = 0

    def failed(self, exc: BaseException) -> None:
        # The first line only: SQLAlchemy appends the statement and its parameters.
        kind = (type(exc).__qualname__, (str(exc).splitlines() or [""])[0][:200])
        if kind != self._kind:
            self._kind, self._repeats = kind, 1
            self.logger.error("%s failed", self.what, exc_info=exc)
            return
        self._repeats += 1
        if self._repeats % self.remind_every == 0:
            self.logger.error("%s still failing, %d times in a row: %s: %s", self.what,
                              self._repeats, *kind)

    def succeeded(self) -> None:
        if self._kind is not None:
            self.logger.info("%s works again after %d failures", self.what, self._repeats)
            self._kind, self._repeats = None, 0


class ContextFilter(logging.Filter):
    """Copies the context fields onto every record the handler it is added to emits."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _context.items():
            value = var.get()
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [f"{k}={getattr(record, k)}" for k in CONTEXT_FIELDS if getattr(record, k, None)]
        return f"{line} [{' '.join(extras)}]" if extras else line


def configure(level: str = "INFO", fmt: str = "auto", stream: Any = None) -> None:
    stream = stream or sys.stdout
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    if use_json:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                timestamp=False,
            )
        )
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn installs its own handlers; route everything through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # APScheduler logs every job run at INFO; that is noise every second.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
