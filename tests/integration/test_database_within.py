"""Database.run_within: the caller waits a bounded time; work that finishes after the caller
gave up is undone on its own thread, work that finishes in time is not."""

import asyncio
import threading

import pytest

from bot.db import DatabaseUnavailable


async def test_work_done_after_the_caller_gave_up_is_undone(db):
    release, undone = threading.Event(), []

    def slow() -> str:
        release.wait(10)
        return "claimed"

    with pytest.raises(DatabaseUnavailable):
        await db.run_within(0.05, slow, undo=undone.append)
    assert undone == []
    release.set()
    for _ in range(200):  # the worker thread finishes on its own, then undoes
        if undone:
            break
        await asyncio.sleep(0.01)
    assert undone == ["claimed"]


async def test_work_done_in_time_is_answered_and_not_undone(db):
    undone = []
    assert await db.run_within(5, lambda: "claimed", undo=undone.append) == "claimed"
    await asyncio.sleep(0.05)
    assert undone == []
