"""Reading the sealed log back: events as plain records in seq order, checkpoints, the state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Executable, select, text

from models.audit import AuditCheckpoint, AuditEvent, AuditLogState
from services.audit_log import canonical
from services.audit_log.merkle import CompactRange
from services.audit_log.verify import CheckpointRecord

_COLUMNS = (AuditEvent.seq, AuditEvent.id, AuditEvent.at, AuditEvent.actor, AuditEvent.action,
            AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.payload,
            AuditEvent.request_id, AuditEvent.leaf_hash)
# Rows fetched per round trip while streaming: large enough to amortise the trip, small enough
# that memory stays flat (a server-side cursor on PostgreSQL, a stepping cursor on SQLite).
STREAM_CHUNK = 5000


def _streamed(stmt: Executable) -> Executable:
    # On the statement, not the connection: a connection's options stay for its later
    # statements, and a SET inside a server-side cursor is a syntax error.
    return stmt.execution_options(stream_results=True, yield_per=STREAM_CHUNK)


def sealed_records(conn: Connection, *, after_seq: int | None = None,
                   before_seq: int | None = None) -> Iterator[dict[str, Any]]:
    """Every sealed event in seq order, `at` already in its canonical spelling."""
    stmt = select(*_COLUMNS).where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq)
    if after_seq is not None:
        stmt = stmt.where(AuditEvent.seq > after_seq)
    if before_seq is not None:
        stmt = stmt.where(AuditEvent.seq < before_seq)
    result = conn.execute(_streamed(stmt))
    for row in result:
        record = dict(row._mapping)
        record["at"] = canonical.timestamp(record["at"])
        yield record


def _stored_text(conn: Connection) -> tuple[str, str]:
    """SQL giving `at` in its canonical spelling and the payload's stored text."""
    if conn.dialect.name == "postgresql":
        return ("""to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
                "payload::text")
    return "substr(at, 1, 10) || 'T' || substr(at, 12) || 'Z'", "payload"


def sealed_rows(conn: Connection) -> Iterator[dict[str, Any]]:
    """Every sealed event in seq order as stored text (`payload_text`, `at` canonical), for
    verify: no payload is parsed and no datetime built unless its leaf does not match."""
    at, payload = _stored_text(conn)
    stmt = text(f"SELECT seq, id, {at} AS at, actor, action, entity_type, entity_id, "
                f"{payload} AS payload_text, request_id, leaf_hash FROM audit_event "
                "WHERE seq IS NOT NULL ORDER BY seq")
    keys = ("seq", "id", "at", "actor", "action", "entity_type", "entity_id", "payload_text",
            "request_id", "leaf_hash")
    for row in conn.execute(_streamed(stmt)):
        yield dict(zip(keys, row, strict=True))


def leaf_hashes(conn: Connection, *, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """(seq, leaf hash) of sealed events from `start` on: what proofs are computed from."""
    stmt = (select(AuditEvent.seq, AuditEvent.leaf_hash)
            .where(AuditEvent.seq >= start).order_by(AuditEvent.seq))
    result = conn.execute(_streamed(stmt))
    for seq, leaf in result:
        yield seq, bytes.fromhex(leaf)


def checkpoint_record(cp: Any) -> CheckpointRecord:
    return CheckpointRecord(size=cp.size, root_hash=cp.root_hash, note=cp.note,
                            at=canonical.timestamp(cp.at), key_name=cp.key_name,
                            key_id=cp.key_id)


def checkpoints(conn: Connection) -> list[CheckpointRecord]:
    rows = conn.execute(select(AuditCheckpoint.__table__).order_by(AuditCheckpoint.size))
    return [checkpoint_record(row) for row in rows]


def checkpoint_at(conn: Connection, size: int | None = None) -> CheckpointRecord | None:
    """The checkpoint of `size`, or the latest."""
    stmt = select(AuditCheckpoint.__table__)
    stmt = (stmt.where(AuditCheckpoint.size == size) if size is not None
            else stmt.order_by(AuditCheckpoint.size.desc()).limit(1))
    row = conn.execute(stmt).first()
    return checkpoint_record(row) if row is not None else None


def state(conn: Connection) -> Any:
    return conn.execute(select(AuditLogState.__table__).where(AuditLogState.id == 1)).one()


def purged_prefix(conn: Connection) -> CompactRange | None:
    st = state(conn)
    if not st.purged_size:
        return None
    return CompactRange.from_hex(st.purged_size, list(st.purged_frontier))
