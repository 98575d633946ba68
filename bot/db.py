"""Engine and session factory for SQLite (embedded) and PostgreSQL (scaled out)."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlmodel import Session, create_engine

from services.audit_log import canonical

P = ParamSpec("P")
T = TypeVar("T")

# SQLite takes one writer at a time (BEGIN IMMEDIATE): more threads would only queue on its lock.
SQLITE_THREADS = 4
# Work an acknowledgement waits on (the delivery claim) runs on threads of its own, so it never
# queues behind background work (the outbox, timers) waiting for the pool's threads.
ACK_THREADS = 2
_WROTE = "countersign_wrote"
READ_SNAPSHOT = "countersign_read_snapshot"


@event.listens_for(Session, "after_flush")
def _note_write(session: Session, _context) -> None:  # noqa: ANN001
    session.info[_WROTE] = True


def wrote(session: Session) -> bool:
    """Whether this transaction changed rows through the ORM (flushed or about to be): a state
    change, as opposed to a read. Every state change here writes its audit event that way."""
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite:"):
        # Services run in worker threads; WAL lets readers proceed during a write and
        # busy_timeout makes concurrent writers wait instead of failing at once.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               json_serializer=canonical.dumps)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        # pysqlite's own BEGIN handling defers the write lock until the first write, so two
        # read-then-write transactions can deadlock; take the write lock up front instead.
        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_conn, _record):  # noqa: ANN001
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn):  # noqa: ANN001
            # A long read (verify, export) takes a snapshot without the write lock, so writers
            # go on while it streams.
            deferred = conn.get_execution_options().get(READ_SNAPSHOT)
            conn.exec_driver_sql("BEGIN DEFERRED" if deferred else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                         json_serializer=canonical.dumps)


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only connection that sees one consistent snapshot for as long as it is open, and
    holds no write lock: REPEATABLE READ on PostgreSQL, a deferred transaction on SQLite (WAL)."""
    options = ({"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql"
               else {READ_SNAPSHOT: True})
    with engine.connect().execution_options(**options) as conn, conn.begin():
        yield conn


def pool_threads(engine: Engine) -> int:
    """How many threads can do database work at once: one per pooled connection.

    A thread beyond that would only wait for a connection; fewer would leave connections idle.
    """
    if engine.dialect.name == "sqlite":
        return SQLITE_THREADS
    size = getattr(engine.pool, "size", None)
    return max(1, size()) if callable(size) else SQLITE_THREADS


class DatabaseUnavailable(Exception):
    """The database did not answer within the time its caller could wait (an ack's budget)."""


class Database:
    """Sessions whose commits can wake in-process workers (the outbox dispatcher).

    Blocking database work runs on the database's own threads (`run`), not on the event loop's
    default executor: aiohttp resolves host names there, so a slow DNS lookup for a
    `response_url` would otherwise hold every request's database work, and with it its ack.
    """

    def __init__(self, engine: Engine, *, threads: int | None = None) -> None:
        self.engine = engine
        self._after_commit: list[Callable[[Session], None]] = []
        self._before_commit: list[Callable[[Session], None]] = []
        self._executor = ThreadPoolExecutor(max_workers=threads or pool_threads(engine),
                                            thread_name_prefix="db")
        self._ack_executor = ThreadPoolExecutor(max_workers=ACK_THREADS, thread_name_prefix="db-ack")

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`asyncio.to_thread` on the database's threads, log context included."""
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        return await loop.run_in_executor(self._executor, call)

    async def run_within(self, seconds: float, fn: Callable[[], T], *,
                         undo: Callable[[T], None] | None = None) -> T:
        """`run(fn)` on the acknowledgements' own threads, or DatabaseUnavailable after
        `seconds`: for work an acknowledgement waits on, so a database that hangs (a network
        partition, a held SQLite lock) costs an apology, not Slack's timeout. A blocking call cannot be interrupted: it finishes on its
        own, and when it does after the caller gave up, `undo(result)` runs on its thread, so
        what the caller was told did not happen does not stand."""
        lock = threading.Lock()
        state = {"caller": "waiting"}

        def call() -> T:
            result = fn()
            with lock:
                late = state["caller"] == "gone"
                state["caller"] = "answered"
            if late and undo is not None:
                undo(result)
            return result

        loop = asyncio.get_running_loop()
        pending = loop.run_in_executor(self._ack_executor, contextvars.copy_context().run, call)
        try:
            return await asyncio.wait_for(asyncio.shield(pending), seconds)
        except TimeoutError:
            with lock:
                answered = state["caller"] == "answered"
                state["caller"] = "answered" if answered else "gone"
            if answered:  # done in the same instant: the answer stands
                return await pending
            pending.add_done_callback(lambda f: f.cancelled() or f.exception())  # seen, not lost
            raise DatabaseUnavailable(f"no answer within {seconds:g} s") from None

    def on_commit(self, callback: Callable[[Session], None]) -> None:
        self._after_commit.append(callback)

    def before_commit(self, callback: Callable[[Session], None]) -> None:
        """`callback(session)` inside every transaction of `session()`, just before it commits:
        what it writes commits or rolls back with the rest."""
        self._before_commit.append(callback)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: commit on success, roll back on any exception."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                for callback in self._before_commit:
                    callback(session)
                session.commit()
            except BaseException:
                session.rollback()
                raise
        for callback in self._after_commit:
            callback(session)

    def dispose(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._ack_executor.shutdown(wait=True, cancel_futures=True)
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name
