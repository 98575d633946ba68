"""Retention: only what a signed checkpoint covers goes, and the rest stays verifiable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from audit_world import T0, bulk, checkpoint, seal_all, signer, verify

from bot.db import snapshot
from services.audit_log import proofs, purge

DAY = timedelta(days=1)
YEAR_LATER = T0 + 400 * DAY
RETENTION = timedelta(days=183)


def do_purge(db, before, retention=RETENTION, now=YEAR_LATER):
    with db.session() as s:
        return purge.purge(s, before=before, now=now, retention=retention, actor="cli")


def test_purge_removes_a_signed_prefix_and_the_rest_still_verifies_and_proves(db):
    key = signer()
    bulk(db, 100, at=T0)
    seal_all(db)
    checkpoint(db, key, now=T0)  # size 100, its record at seq 100
    bulk(db, 50, start=100, at=T0 + 300 * DAY)
    seal_all(db)
    checkpoint(db, key, now=T0 + 300 * DAY)
    done = do_purge(db, before=T0 + 200 * DAY)
    assert (done.removed, done.below_seq, done.checkpoint) == (100, 100, 100)
    seal_all(db)  # the purge's own record
    report = verify(db, key)
    assert report.ok, report.summary
    assert report.first_seq == 100 and "older ones purged" in report.summary
    with snapshot(db.engine) as conn:
        cp = checkpoint(db, key, now=YEAR_LATER)
        for seq in (100, 120, 149):
            assert proofs.check_proof(proofs.prove(conn, seq), key.verifier()).startswith("OK")
        with pytest.raises(proofs.ProofError, match="purged"):
            proofs.prove(conn, 5)
    assert cp is not None


def test_purge_is_refused_within_retention_without_retention_and_without_a_signed_checkpoint(db):
    bulk(db, 10, at=T0)
    seal_all(db)
    checkpoint(db, None, now=T0)
    with pytest.raises(purge.PurgeRefused, match="forever"):
        do_purge(db, before=T0 + DAY, retention=None)
    with pytest.raises(purge.PurgeRefused, match="within AUDIT_RETENTION"):
        do_purge(db, before=YEAR_LATER - 10 * DAY)
    with pytest.raises(purge.PurgeRefused, match="no signed checkpoint"):
        do_purge(db, before=T0 + DAY)
    assert verify(db).ok and verify(db).events == 11


def test_a_tampered_event_after_a_purge_is_still_found(db):
    from audit_world import tampering
    from sqlalchemy import text

    key = signer()
    bulk(db, 20, at=T0)
    seal_all(db)
    checkpoint(db, key, now=T0)
    bulk(db, 20, start=20, at=T0 + 300 * DAY)
    seal_all(db)
    checkpoint(db, key, now=T0 + 300 * DAY)
    do_purge(db, before=T0 + 200 * DAY)
    seal_all(db)
    with tampering(db) as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'U_FORGED' WHERE seq = 30"))
    report = verify(db, key)
    assert (report.broken.seq, report.broken.reason) == (30, "changed")
