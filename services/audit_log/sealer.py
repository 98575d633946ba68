"""The sequencer: seals committed, unsealed audit events in batches and writes checkpoints.

Writers never wait on a chain head: they insert events in their own transactions, unsealed.
Sealing gives each committed event a gap-free sequence number in sealing order (so an event
committed late with a lower id is simply sealed in a later batch), its leaf hash, and extends
the Merkle tree kept as its compact range in `audit_log_state`. Two sequencers racing (leader
election off) cannot fork the log: the state row is locked (PostgreSQL) or the write lock held
(SQLite), and the state's update is a compare-and-set on its version besides.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlmodel import Session

from models.audit import AuditCheckpoint, AuditEvent, AuditLogState
from services import audit
from services.audit_log import canonical
from services.audit_log.merkle import CompactRange, leaf_hash
from services.audit_log.notes import NoteSigner, checkpoint_body

log = logging.getLogger("countersign.audit")

BATCH = 1000
CHECKPOINT_ACTION = "audit.checkpoint"
SYSTEM = "countersign"
DEFAULT_ORIGIN = "countersign/audit"


class SealConflict(Exception):
    """Another sequencer sealed first; this batch rolled back and nothing was written."""


@dataclass(frozen=True)
class Sealed:
    """What one batch sealed: enough to log each event once its transaction committed."""

    records: list[dict]
    size: int
    root: bytes


def _state(session: Session) -> AuditLogState:
    stmt = select(AuditLogState).where(AuditLogState.id == 1)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one()


def tree_of(state: AuditLogState) -> CompactRange:
    return CompactRange.from_hex(state.size, state.frontier)


_UNSEALED = (AuditEvent.id, AuditEvent.at, AuditEvent.actor, AuditEvent.action,
             AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.payload,
             AuditEvent.request_id)


def seal_batch(session: Session, *, now: datetime, limit: int = BATCH) -> Sealed:
    """Seal up to `limit` unsealed events, oldest id first, in the caller's transaction."""
    state = _state(session)
    rows = session.execute(
        select(*_UNSEALED).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id).limit(limit)
    ).all()
    tree = tree_of(state)
    if not rows:
        return Sealed([], tree.size, tree.root())
    seq = state.size
    changes, records = [], []
    for row in rows:
        fields = canonical.fields(seq=seq, **row._mapping)
        leaf = leaf_hash(canonical.dumps(fields).encode("utf-8"))
        tree.append(leaf)
        changes.append({"_id": row.id, "_seq": seq, "_leaf": leaf.hex()})
        records.append({**fields, "leaf_hash": leaf.hex()})
        seq += 1
    sealed = session.execute(
        update(AuditEvent.__table__)
        .where(AuditEvent.__table__.c.id == bindparam("_id"), AuditEvent.__table__.c.seq.is_(None))
        .values(seq=bindparam("_seq"), leaf_hash=bindparam("_leaf"), sealed_at=now),
        changes,
    )
    moved = session.execute(
        update(AuditLogState).where(AuditLogState.id == 1, AuditLogState.version == state.version)
        .values(size=tree.size, frontier=tree.to_hex(), version=state.version + 1,
                sealed_at=now)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1 or (sealed.rowcount not in (-1, len(changes))):
        raise SealConflict(f"the log moved on while sealing {len(changes)} events")
    return Sealed(records, tree.size, tree.root())


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(1)).first()


def _grew_since(session: Session, size: int) -> bool:
    """Whether events other than the log's own checkpoint records were sealed after `size`:
    a checkpoint records itself as an event, which must not call for another checkpoint."""
    return session.scalar(
        select(func.count()).select_from(AuditEvent)
        .where(AuditEvent.seq >= size, AuditEvent.action != CHECKPOINT_ACTION)) > 0


def checkpoint(session: Session, *, now: datetime, signer: NoteSigner | None, origin: str,
               interval: timedelta | None, actor: str = SYSTEM) -> AuditCheckpoint | None:
    """Write a checkpoint of the sealed log if it grew and `interval` passed since the last one
    (or, for the first, since the first seal; `interval=None`: whenever it grew). Records itself as an audit event, so deleting a
    checkpoint row later is found by verify."""
    state = _state(session)
    last = latest_checkpoint(session)
    if state.size == 0 or (last is not None and last.size >= state.size):
        return None
    if interval is not None:
        # The first checkpoint comes an interval after the log began, like every later one.
        since = last.at if last is not None else session.scalar(
            select(func.min(AuditEvent.sealed_at)).where(AuditEvent.seq.is_not(None)))
        if since is not None and now - since < interval:
            return None
    if last is not None and not _grew_since(session, last.size):
        return None
    root = tree_of(state).root()
    body = checkpoint_body(origin, state.size, root)
    note = signer.sign(body) if signer is not None else body
    cp = AuditCheckpoint(size=state.size, root_hash=root.hex(), at=now, note=note,
                         key_name=signer.name if signer else None,
                         key_id=signer.key_id.hex() if signer else None)
    session.add(cp)
    audit.append(session, at=now, actor=actor, action=CHECKPOINT_ACTION, entity_type="audit",
                 entity_id=str(state.size),
                 payload={"size": state.size, "root_hash": root.hex(),
                          "root_base64": base64.b64encode(root).decode(),
                          "signed": signer is not None})
    session.flush()
    return cp


def log_sealed(sealed: Sealed) -> None:
    """One JSON log line per sealed event, so the log lands in the organisation's own pipeline.
    Called after commit: a line never describes an event that rolled back."""
    for record in sealed.records:
        log.info("audit event %s sealed", record["seq"], extra={"audit": record})
