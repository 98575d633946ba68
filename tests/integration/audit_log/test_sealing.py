"""Sealing: gap-free, in sealing order, writers never waiting, one log from two sequencers."""

from __future__ import annotations

import threading

from audit_world import T0, checkpoint, seal_all, signer, verify, write, write_concurrently
from sqlalchemy import func, select

from models.audit import AuditCheckpoint, AuditEvent, AuditLogState
from services import audit
from services.audit_log import sealer
from services.audit_log.merkle import CompactRange


def seqs(db) -> list[int]:
    with db.session() as s:
        return list(s.scalars(select(AuditEvent.seq).where(AuditEvent.seq.is_not(None))
                              .order_by(AuditEvent.seq)))


def test_ten_thousand_events_from_eight_writers_sealed_while_they_write_verify(db):
    key = signer()
    stop = threading.Event()

    def sequencer() -> None:
        while not stop.is_set():
            seal_all(db)
            checkpoint(db, key, then_seal=False)

    clock = threading.Thread(target=sequencer)
    clock.start()
    write_concurrently(db, writers=8, each=1250)
    stop.set()
    clock.join()
    seal_all(db)
    checkpoint(db, key)

    report = verify(db, key)
    assert report.ok, report.summary
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(AuditEvent))
        unsealed = s.scalar(select(func.count()).select_from(AuditEvent)
                            .where(AuditEvent.seq.is_(None)))
        checkpoints = s.scalar(select(func.count()).select_from(AuditCheckpoint))
    assert unsealed == 0
    assert report.events == total >= 10_000
    assert seqs(db) == list(range(total))
    assert checkpoints >= 2 and report.last_checkpoint is not None
    assert report.summary.startswith(f"OK: {total} events, last checkpoint")
    assert key.name in report.summary


def test_the_stored_compact_range_is_the_tree_of_every_leaf(db):
    write(db, 37)
    seal_all(db)
    with db.session() as s:
        state = s.get(AuditLogState, 1)
        leaves = [bytes.fromhex(h) for h in s.scalars(
            select(AuditEvent.leaf_hash).order_by(AuditEvent.seq))]
    rebuilt = CompactRange()
    rebuilt.extend(leaves)
    assert state.size == 37 and state.frontier == rebuilt.to_hex()


def test_two_sequencers_at_once_produce_one_log(db):
    key = signer()
    stop = threading.Event()
    conflicts = []

    def sequencer() -> None:
        while not stop.is_set():
            try:
                seal_all(db)
            except sealer.SealConflict as conflict:
                conflicts.append(conflict)

    clocks = [threading.Thread(target=sequencer) for _ in range(2)]
    for c in clocks:
        c.start()
    write_concurrently(db, writers=4, each=150)
    stop.set()
    for c in clocks:
        c.join()
    seal_all(db)
    checkpoint(db, key)
    assert seqs(db) == list(range(601)), "600 events and one checkpoint record, each sealed once"
    assert verify(db, key).ok


def test_a_checkpoint_is_written_when_the_interval_passed_and_the_log_grew(db):
    from datetime import timedelta

    hour = timedelta(hours=1)
    write(db, 2)
    seal_all(db)

    def cp(now):
        with db.session() as s:
            made = sealer.checkpoint(s, now=now, signer=None, origin="o", interval=hour)
            return made.size if made else None

    assert cp(T0 + hour / 2) is None, "the first one comes an interval after the first seal"
    assert cp(T0 + hour) == 2
    seal_all(db, now=T0 + hour)  # the checkpoint's own record
    assert cp(T0 + 3 * hour) is None, "only the checkpoint's own record is new: no checkpoint"
    write(db, 1)
    seal_all(db)
    assert cp(T0 + hour + hour / 2) is None, "grew, but the interval has not passed"
    assert cp(T0 + 2 * hour) == 4
