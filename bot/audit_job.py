"""The audit log's clock work: seal, checkpoint, witness in Slack; and verify on request.

Sealing runs on the leading clock every AUDIT_SEAL_INTERVAL. A checkpoint is written at least
every AUDIT_CHECKPOINT_INTERVAL while the log grows, and the latest is posted to the governance
channel every AUDIT_WITNESS_INTERVAL (and on `/ai-audit checkpoint`): a copy outside the
database, which whoever controls the database cannot rewrite. All decisions use the injected
clock, so tests move time instead of waiting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from bot.db import snapshot
from models.audit import AuditCheckpoint
from services import outbox
from services.audit_log import sealer, store
from services.audit_log.keys import load_signing_key
from services.audit_log.notes import NoteSigner
from services.audit_log.sealer import CHECKPOINT_ACTION
from services.audit_log.verify import Report, verify_encoded

log = logging.getLogger(__name__)

T_WITNESS = "audit_checkpoint"


@dataclass(frozen=True)
class CheckpointInfo:
    size: int
    root_hash: str
    note: str
    signed: bool
    new: bool


def signer_of(settings: Any) -> NoteSigner | None:
    """The checkpoint signer from AUDIT_SIGNING_KEY, or None (checkpoints then go unsigned)."""
    if settings.audit_signing_key is None:
        return None
    return load_signing_key(settings.audit_signing_key.get_secret_value(),
                            name=settings.audit_log_origin)


class AuditJob:
    def __init__(self, services: Any) -> None:
        self.services = services
        settings = services.settings
        self.signer = signer_of(settings)
        self.origin = settings.audit_log_origin
        self.interval: timedelta = settings.audit_checkpoint_interval
        self.witness_interval: timedelta = settings.audit_witness_interval

    def describe_signing(self) -> str:
        if self.signer is None:
            return ("audit checkpoints are UNSIGNED: set AUDIT_SIGNING_KEY (countersign audit "
                    "keygen makes one) so an auditor can tell them from forgeries")
        return f"audit checkpoints are signed by {self.signer.verifier_key()}"

    async def __call__(self) -> None:
        """The periodic job: seal what committed, checkpoint when due, witness when due."""
        await self.seal_all()
        await self.services.db.run(self._checkpoint, self.interval, sealer.SYSTEM)
        await self.services.db.run(self._witness, False)

    async def seal_all(self) -> int:
        total = 0
        while True:
            sealed = await self.services.db.run(self._seal_once)
            if sealed is None:
                return total
            sealer.log_sealed(sealed)
            total += len(sealed.records)
            if len(sealed.records) < sealer.BATCH:
                return total

    def _seal_once(self) -> sealer.Sealed | None:
        db = self.services.db
        try:
            with db.session() as s:
                return sealer.seal_batch(s, now=self.services.clock.now())
        except sealer.SealConflict as conflict:
            log.info("another sequencer sealed first: %s", conflict)
            return None

    def _checkpoint(self, interval: timedelta | None, actor: str) -> AuditCheckpoint | None:
        with self.services.db.session() as s:
            return sealer.checkpoint(s, now=self.services.clock.now(), signer=self.signer,
                                     origin=self.origin, interval=interval, actor=actor)

    def _witness(self, force: bool) -> AuditCheckpoint | None:
        """Owe the governance channel the latest checkpoint, once per checkpoint."""
        now = self.services.clock.now()
        with self.services.db.session() as s:
            latest = sealer.latest_checkpoint(s)
            if latest is None or latest.witnessed_at is not None:
                return latest
            last_witnessed = s.scalar(select(AuditCheckpoint.witnessed_at)
                                      .where(AuditCheckpoint.witnessed_at.is_not(None))
                                      .order_by(AuditCheckpoint.size.desc()).limit(1))
            if not force and last_witnessed is not None and \
                    now - last_witnessed < self.witness_interval:
                return latest
            channel = self.services.playbook.current.playbook.channels.governance
            outbox.enqueue(s, key=f"audit-witness:{latest.size}", method="chat.postMessage",
                           channel=channel, template=T_WITNESS, now=now,
                           payload={"size": latest.size, "root_hash": latest.root_hash,
                                    "note": latest.note, "signed": latest.key_id is not None,
                                    "at": latest.at.isoformat()})
            s.execute(update(AuditCheckpoint).where(AuditCheckpoint.id == latest.id,
                                                    AuditCheckpoint.witnessed_at.is_(None))
                      .values(witnessed_at=now).execution_options(synchronize_session=False))
            return latest

    async def checkpoint_now(self, actor: str) -> CheckpointInfo | None:
        """Seal everything, write a checkpoint if the log grew, post it to the governance
        channel. None when the log is still empty."""
        await self.seal_all()
        cp = await self.services.db.run(self._checkpoint, None, actor)
        # The checkpoint recorded itself as an event: seal it too, so the record is in the log.
        await self.seal_all()
        latest = await self.services.db.run(self._witness, True)
        if latest is None:
            return None
        return CheckpointInfo(size=latest.size, root_hash=latest.root_hash, note=latest.note,
                              signed=latest.key_id is not None, new=cp is not None)

    async def verify_now(self) -> Report:
        return await self.services.db.run(self.verify_database)

    def verify_database(self, witnessed: tuple[str, ...] = (), trusted: Any = None) -> Report:
        verifier = trusted
        if verifier is None and self.signer is not None:
            from services.audit_log.notes import NoteVerifier
            verifier = NoteVerifier.from_vkey(self.signer.verifier_key())
        return verify_engine(self.services.db.engine, witnessed=witnessed, trusted=verifier,
                             origin=self.origin)


def verify_engine(engine: Any, *, witnessed: tuple[str, ...] = (), trusted: Any = None,
                  origin: str | None = None) -> Report:
    with snapshot(engine) as conn:
        st = store.state(conn)
        report = verify_encoded(
            store.encoded_chunks(conn, CHECKPOINT_ACTION),
            record_by_id=lambda event_id: store.sealed_row(conn, event_id),
            records_from=lambda seq: store.sealed_rows(conn, from_seq=seq),
            checkpoints=store.checkpoints(conn), witnessed=witnessed, trusted=trusted,
            origin=origin, prefix=store.purged_prefix(conn), sealed_size=st.size,
            sealed_frontier=list(st.frontier))
    if trusted is None:
        report.warnings.append("signatures not checked: no public key given (--public-key)")
    return report
