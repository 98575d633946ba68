"""`audit purge --before DATE`: retention without losing verifiability.

Only events under a *signed* checkpoint go, and only a prefix of the log: everything below a
sequence number P, where every event before P is older than DATE. The compact range of what
went is kept in the sequencer's state, so the remaining log, every later checkpoint and every
proof of a kept event still verify. The purge itself is an audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text, update
from sqlmodel import Session

from models.audit import AuditCheckpoint, AuditEvent, AuditLogState
from services import audit
from services.audit_log import store
from services.audit_log.merkle import CompactRange, hash_ranges
from services.audit_log.export import aligned_ranges, append_subtree, prefix_node
from services.audit_log.notes import split_note

# EU AI Act Art. 19 and 26(6): logs are kept at least six months.
MINIMUM = timedelta(days=183)


class PurgeRefused(Exception):
    """Nothing was removed; the message says why."""


@dataclass(frozen=True)
class Purged:
    removed: int
    below_seq: int
    checkpoint: int


def plan(session: Session, *, before: datetime, now: datetime,
         retention: timedelta | None) -> tuple[int, int]:
    """(P, checkpoint size): remove seq < P. Refuses what retention does not allow."""
    if retention is None:
        raise PurgeRefused("AUDIT_RETENTION keeps the log forever; set it (183d or more) to purge")
    if before > now - retention:
        raise PurgeRefused(f"{before:%Y-%m-%d} is within AUDIT_RETENTION ({retention.days}d): "
                           f"the latest date that may be purged is {now - retention:%Y-%m-%d}")
    signed = [cp for cp in session.scalars(select(AuditCheckpoint).order_by(
        AuditCheckpoint.size.desc())) if split_note(cp.note)[1]]
    if not signed:
        raise PurgeRefused("no signed checkpoint yet: only events under a signed checkpoint may "
                           "be purged (set AUDIT_SIGNING_KEY)")
    newer = session.scalar(select(func.min(AuditEvent.seq))
                           .where(AuditEvent.seq.is_not(None), AuditEvent.at >= before))
    state = session.get(AuditLogState, 1)
    bound = state.size if newer is None else newer
    under = next((cp.size for cp in signed if cp.size <= bound), None)
    if under is None or under <= state.purged_size:
        raise PurgeRefused(f"no signed checkpoint lies at or before the first event from "
                           f"{before:%Y-%m-%d}: nothing can be purged yet")
    return under, under


def purge(session: Session, *, before: datetime, now: datetime, retention: timedelta | None,
          actor: str) -> Purged:
    below, checkpoint = plan(session, before=before, now=now, retention=retention)
    state = session.get(AuditLogState, 1)
    prefix = (CompactRange.from_hex(state.purged_size, list(state.purged_frontier))
              if state.purged_size else None)
    ranges = [r for r in aligned_ranges(0, below) if r[0] >= (prefix.size if prefix else 0)]
    conn = session.connection()
    hashes = hash_ranges(ranges, store.leaf_hashes(conn, start=prefix.size if prefix else 0),
                         prefix=prefix)
    kept = CompactRange()
    for r in aligned_ranges(0, below):
        kept = append_subtree(kept, hashes[r] if r in hashes else prefix_node(prefix, r), r)
    if session.get_bind().dialect.name == "postgresql":
        # The guard trigger lets DELETE through for this transaction only.
        session.execute(text("SET LOCAL countersign.audit_purge = 'on'"))
    removed = session.execute(delete(AuditEvent).where(AuditEvent.seq < below)).rowcount
    session.execute(update(AuditLogState).where(AuditLogState.id == 1)
                    .values(purged_size=below, purged_frontier=kept.to_hex())
                    .execution_options(synchronize_session=False))
    audit.append(session, at=now, actor=actor, action="audit.purged", entity_type="audit",
                 entity_id=str(below),
                 payload={"before": before.isoformat(), "below_seq": below, "removed": removed,
                          "checkpoint": checkpoint})
    return Purged(removed, below, checkpoint)
