"""Reading the sealed log back: events as plain records in seq order, checkpoints, the state."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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


_ROW_KEYS = ("seq", "id", "at", "actor", "action", "entity_type", "entity_id", "payload_text",
             "request_id", "leaf_hash")


def _row_select(conn: Connection) -> str:
    at, payload = _stored_text(conn)
    return (f"SELECT seq, id, {at} AS at, actor, action, entity_type, entity_id, "
            f"{payload} AS payload_text, request_id, leaf_hash FROM audit_event ")


def sealed_rows(conn: Connection, *, from_seq: int | None = None) -> Iterator[dict[str, Any]]:
    """Every sealed event (from `from_seq` on) in seq order as stored text (`payload_text`,
    `at` canonical), for verify: no payload is parsed and no datetime built."""
    where = "WHERE seq IS NOT NULL" if from_seq is None else "WHERE seq >= :from_seq"
    stmt = text(_row_select(conn) + where + " ORDER BY seq")
    params = {} if from_seq is None else {"from_seq": from_seq}
    for row in conn.execute(_streamed(stmt), params):
        yield dict(zip(_ROW_KEYS, row, strict=True))


def sealed_row(conn: Connection, event_id: int) -> dict[str, Any] | None:
    """One event by id, spelled as `sealed_rows` spells it."""
    row = conn.execute(text(_row_select(conn) + "WHERE id = :id"), {"id": event_id}).first()
    return dict(zip(_ROW_KEYS, row, strict=True)) if row is not None else None


def _encoded_sql(conn: Connection) -> str:
    """SQL that assembles each event's canonical encoding (services.audit_log.canonical) in
    the database, so verify's Python only hashes. It must produce valid JSON whose parse is
    the row's fields: then bytes that hash to the sealed leaf are the sealed event's. Where it
    spells a field otherwise than canonical (an odd time, a payload not stored canonically),
    the leaf does not match and verify re-encodes that row in Python; NULL likewise."""
    at, payload = _stored_text(conn)
    if conn.dialect.name == "postgresql":
        def quoted(column: str) -> str:
            return f"to_json({column}::text)::text"

        rid = f"coalesce({quoted('request_id')}, 'null')"
        wrap = "convert_to({}, 'UTF8')"
    else:
        # Only the one spelling SQLAlchemy writes is turned into the canonical time; any
        # other leaves the encoding NULL.
        digit = "[0-9]"
        shape = (f"{digit * 4}-{digit * 2}-{digit * 2} {digit * 2}:{digit * 2}:{digit * 2}."
                 f"{digit * 6}")
        at = f"CASE WHEN typeof(at) = 'text' AND at GLOB '{shape}' THEN {at} END"

        def quoted(column: str) -> str:
            return f"CASE WHEN typeof({column}) = 'text' THEN json_quote({column}) END"

        rid = f"CASE WHEN request_id IS NULL THEN 'null' ELSE {quoted('request_id')} END"
        payload = f"CASE WHEN typeof(payload) = 'text' THEN {payload} END"
        wrap = "CAST({} AS BLOB)"
    body = (f"""'{{"action":' || {quoted('action')} || ',"actor":' || {quoted('actor')} || """
            f"""',"at":"' || {at} || '","entity_id":' || {quoted('entity_id')} || """
            f"""',"entity_type":' || {quoted('entity_type')} || ',"id":' || id || """
            f"""',"payload":' || {payload} || ',"request_id":' || {rid} || """
            """',"seq":' || seq || '}'""")
    return wrap.format(body)


def encoded_chunks(conn: Connection, checkpoint_action: str) -> Iterator[Sequence[Any]]:
    """Sealed events in seq order as (seq, id, canonical bytes or None, stored leaf hash,
    payload text if it is a checkpoint's event), in lists of STREAM_CHUNK: verify's fast path,
    one short row per event, through `driver_chunks`: SQLAlchemy's result layer costs a sixth
    of verify's time here and adds nothing to tuples."""
    if not checkpoint_action.replace(".", "").replace("_", "").isalnum():
        raise ValueError(f"not an action name: {checkpoint_action!r}")
    _, payload = _stored_text(conn)
    yield from driver_chunks(conn, f"SELECT seq, id, {_encoded_sql(conn)}, leaf_hash, "
                             f"CASE WHEN action = '{checkpoint_action}' THEN {payload} END "
                             "FROM audit_event WHERE seq IS NOT NULL ORDER BY seq")


def driver_chunks(conn: Connection, sql: str) -> Iterator[Sequence[Any]]:
    """The rows of `sql` in lists of STREAM_CHUNK, straight from the driver's cursor (a named,
    server-side one on PostgreSQL, so memory stays bounded) inside `conn`'s transaction."""
    raw = conn.connection.dbapi_connection
    cursor = raw.cursor(name="audit_stream") if conn.dialect.name == "postgresql" else raw.cursor()
    try:
        cursor.execute(sql)
        while chunk := cursor.fetchmany(STREAM_CHUNK):
            yield chunk
    finally:
        cursor.close()


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
