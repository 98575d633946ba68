"""Database work runs on the database's own threads, never queued behind the default executor."""

import asyncio
import threading

import pytest
from sqlalchemy import text

from bot import logs
from bot.db import SQLITE_THREADS, Database, make_engine, pool_threads


def select_one(db: Database) -> int:
    with db.session() as s:
        return s.exec(text("SELECT 1")).scalar_one()


async def test_database_work_is_not_queued_behind_a_full_default_executor(db):
    loop = asyncio.get_running_loop()
    release = threading.Event()
    # Fill the default executor, as pending DNS lookups of an unreachable host do.
    blockers = [loop.run_in_executor(None, release.wait, 30) for _ in range(64)]
    try:
        queued = asyncio.ensure_future(asyncio.to_thread(lambda: None))
        await asyncio.sleep(0.3)
        assert not queued.done(), "the default executor is not full: this test would prove nothing"
        assert await asyncio.wait_for(db.run(select_one, db), timeout=5) == 1
    finally:
        release.set()
        await asyncio.gather(*blockers)
    await queued


async def test_run_carries_the_callers_log_context_and_keeps_the_workers_own(db):
    logs.bind(request_id="req-1", user="U0ONE")

    def inside() -> tuple[str | None, str | None]:
        seen = logs.current("request_id"), logs.current("user")
        logs.bind(request_id="changed-in-worker")
        return seen

    assert await db.run(inside) == ("req-1", "U0ONE")
    assert logs.current("request_id") == "req-1"


async def test_run_passes_keyword_arguments(db):
    assert await db.run(lambda a, *, b: a + b, 1, b=2) == 3


async def test_dispose_stops_the_threads(database_url):
    db = Database(make_engine(database_url))
    assert await db.run(select_one, db) == 1
    db.dispose()
    with pytest.raises(RuntimeError):
        await db.run(select_one, db)


def test_one_thread_per_pooled_connection(database_url):
    engine = make_engine(database_url, pool_size=7)
    try:
        expected = SQLITE_THREADS if engine.dialect.name == "sqlite" else 7
        assert pool_threads(engine) == expected
    finally:
        engine.dispose()
