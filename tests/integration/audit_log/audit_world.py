"""A log written by concurrent writers and sealed as the clock seals it, for the audit tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text

from bot.audit_job import verify_engine
from bot.db import Database
from models.audit import AuditEvent
from services import audit
from services.audit_log import sealer
from services.audit_log.keys import keygen, load_signing_key
from services.audit_log.notes import NoteSigner

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ORIGIN = "countersign.test/audit"


def signer(name: str = ORIGIN) -> NoteSigner:
    private_pem, _ = keygen(name)
    return load_signing_key(private_pem, name=name)


def write(db: Database, count: int, *, writer: int = 0, at: datetime = T0) -> None:
    """`count` events, each in its own transaction, as the product writes them."""
    for i in range(count):
        with db.session() as s:
            audit.append(s, at=at + timedelta(milliseconds=i), actor=f"U{writer:04d}",
                         action="approval.approved", entity_type="approval_request",
                         entity_id=str(writer * 100_000 + i),
                         payload={"writer": writer, "n": i, "note": "ünïcode <&>"})


def write_concurrently(db: Database, writers: int, each: int) -> None:
    threads = [threading.Thread(target=write, args=(db, each), kwargs={"writer": w})
               for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def bulk(db: Database, count: int, *, start: int = 0, at: datetime = T0) -> None:
    """Many events in few transactions: for sizes where one transaction each would only be slow."""
    rows = [{"at": at + timedelta(seconds=i), "actor": "U0001", "action": "incident.paged",
             "entity_type": "incident", "entity_id": str(i), "payload": {"step": i % 7},
             "request_id": None} for i in range(start, start + count)]
    with db.session() as s:
        for i in range(0, len(rows), 5000):
            s.execute(insert(AuditEvent), rows[i:i + 5000])


def seal_all(db: Database, *, now: datetime = T0) -> int:
    total = 0
    while True:
        with db.session() as s:
            sealed = sealer.seal_batch(s, now=now)
        total += len(sealed.records)
        if len(sealed.records) < sealer.BATCH:
            return total


def checkpoint(db: Database, key: NoteSigner | None, *, now: datetime = T0,
               then_seal: bool = True):
    with db.session() as s:
        cp = sealer.checkpoint(s, now=now, signer=key, origin=ORIGIN, interval=None)
        size = cp.size if cp is not None else None
    if then_seal:
        seal_all(db, now=now)
    return size


def verify(db: Database, key: NoteSigner | None = None, witnessed: tuple[str, ...] = ()):
    return verify_engine(db.engine, witnessed=witnessed,
                         trusted=key.verifier() if key is not None else None, origin=ORIGIN)


@contextmanager
def tampering(db: Database) -> Iterator:
    """A connection that can do what an attacker with database access does: on PostgreSQL the
    guard triggers are switched off for it, as a superuser could."""
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        yield conn
