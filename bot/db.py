"""Engine and session factory for SQLite (embedded) and PostgreSQL (scaled out)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite:"):
        # Services run in worker threads; WAL lets readers proceed during a write and
        # busy_timeout makes concurrent writers wait instead of failing at once.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

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
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


class Database:
    """Sessions whose commits can wake in-process workers (the outbox dispatcher)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._after_commit: list[Callable[[Session], None]] = []

    def on_commit(self, callback: Callable[[Session], None]) -> None:
        self._after_commit.append(callback)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: commit on success, roll back on any exception."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
        for callback in self._after_commit:
            callback(session)

    def dispose(self) -> None:
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name
