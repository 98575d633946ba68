"""Where ingestion's work runs: in worker processes, so parsing, redacting and writing a batch
of 1,000 events never holds the interpreter lock the event loop needs to acknowledge Slack.

With INGEST_PROCESSES=0 the work runs on the database's threads instead (one process, less
memory, acknowledgements slowed while a batch is read). A worker keeps one engine for the
process's life; a worker that dies takes only its batch with it: that sender is told to retry,
and the pool is rebuilt for the next.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from bot import logs
from bot.db import Database, make_engine
from services.usage.batches import Batch, BodyRefused, Outcome, ingest

log = logging.getLogger("countersign.ingest")


@dataclass(frozen=True)
class Refusal:
    """A BodyRefused, carried back from a worker as a value (its message is the answer)."""

    message: str


_worker_db: dict[str, Database] = {}


def _database(url: str) -> Database:
    db = _worker_db.get(url)
    if db is None:
        db = _worker_db[url] = Database(make_engine(url, pool_size=2), threads=1)
    return db


def run(db: Database, batch: Batch, request_id: str | None) -> Outcome | Refusal:
    logs.bind(request_id=request_id)
    try:
        with db.session() as s:
            return ingest(s, batch)
    except BodyRefused as exc:
        return Refusal(str(exc))


def run_in_worker(database_url: str, batch: Batch, request_id: str | None) -> Outcome | Refusal:
    return run(_database(database_url), batch, request_id)


class IngestWorkers:
    def __init__(self, db: Database, database_url: str, processes: int) -> None:
        self.db = db
        self.database_url = database_url
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the server has threads (the database's, uvicorn's) that a
            # forked child would inherit mid-lock.
            self._pool = ProcessPoolExecutor(
                max_workers=self.processes, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    async def ingest(self, batch: Batch) -> Outcome | Refusal:
        request_id = logs.current("request_id")
        if self.processes == 0:
            return await self.db.run(run, self.db, batch, request_id)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor(), run_in_worker,
                                              self.database_url, batch, request_id)
        except BrokenProcessPool:
            log.warning("an ingestion worker died; its batch is refused for a retry and the "
                        "pool rebuilt")
            self._pool = None
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
