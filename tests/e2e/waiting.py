"""Waiting for the bot's asynchronous work to settle before asserting that nothing more happens."""

import time
from collections.abc import Callable
from typing import TypeVar

from sqlmodel import select

from models.outbox import PENDING, SENDING, OutboxMessage

T = TypeVar("T")


def outbox_drained(db) -> bool:  # noqa: ANN001
    """True once every message the bot owed Slack so far has been delivered (or given up)."""
    with db.session() as s:
        return not s.exec(select(OutboxMessage).where(
            OutboxMessage.status.in_([PENDING, SENDING]))).all()


def until(fetch: Callable[[], T], *, timeout: float, what: str) -> T:
    """`fetch()`'s first truthy answer; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = fetch()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not seen within {timeout}s")
        time.sleep(0.02)
