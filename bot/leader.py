"""Which process leads the clock (scheduler + dispatcher).

On PostgreSQL a session-level advisory lock, held on a dedicated connection for
as long as the process lives: a stray second `clock` stays idle, and takes over
within one refresh if the leader dies (its connection closes, the lock goes).
SQLite is the embedded single-process mode, where the one process always leads.
Leadership is an efficiency, not the safety net: every job claims rows with a
compare-and-set, so two leaders at once would still fire nothing twice.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import Connection, Engine, text

from bot import metrics

log = logging.getLogger(__name__)

# Advisory locks are per database, not per schema: two deployments sharing a database in
# schemas of their own (staging beside production) must not elect one clock between them, or
# one of them would never page anyone. So the key names the application, database and schema.
LOCK_NAME = "countersign-clock"


def lock_key(database: str, schema: str) -> int:
    """A stable bigint for pg_try_advisory_lock, the same in every process of one deployment."""
    digest = hashlib.blake2b(f"{LOCK_NAME}:{database}:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Leadership:
    def __init__(self, engine: Engine, *, elect: bool = True) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._key: int | None = None
        self._always = engine.dialect.name != "postgresql" or not elect
        # Whether leading means being the only one at work (SQLite is one process by design);
        # only then may a new leader take back rows another process left in flight.
        self.exclusive = engine.dialect.name != "postgresql" or elect

    @property
    def is_leader(self) -> bool:
        return self._always or self._conn is not None

    def refresh(self) -> bool:
        """Take the lead if it is free; notice if ours was lost. Returns is_leader."""
        if self._always:
            metrics.IS_LEADER.set(1)
            return True
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
            except Exception:
                log.warning("lost the database connection holding the clock lock")
                self._drop()
        if self._conn is None:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                if self._key is None:
                    where = conn.execute(text("SELECT current_database(), current_schema()")).one()
                    self._key = lock_key(*where)
                got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar()
            except Exception:
                conn.close()
                raise
            if got:
                self._conn = conn
                log.info("this process now leads the clock")
            else:
                conn.close()
        metrics.IS_LEADER.set(1 if self.is_leader else 0)
        return self.is_leader

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            except Exception:
                pass
        self._drop()
        metrics.IS_LEADER.set(0)
