"""Sealing the audit log from a test, as the leading clock does: readers only ever see sealed
events, so a test that writes events through real flows seals them before reading."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.db import Database
from services.audit_log import sealer


def seal_all(db: Database, *, now: datetime | None = None, attempts: int = 50) -> int:
    """Seal every committed event; how many this call sealed. Safe while a bot's own sequencer
    seals too: the state row's compare-and-set refuses the loser, which tries again."""
    now = now or datetime.now(UTC)
    total = 0
    for _ in range(attempts):
        try:
            with db.session() as s:
                sealed = sealer.seal_batch(s, now=now)
        except sealer.SealConflict:
            continue
        total += len(sealed.records)
        if len(sealed.records) < sealer.BATCH:
            return total
    raise AssertionError(f"could not seal within {attempts} attempts")
