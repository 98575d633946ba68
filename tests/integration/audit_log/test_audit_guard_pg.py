"""On PostgreSQL the audit tables refuse every rewrite but sealing (once) and witnessing (once)."""

from __future__ import annotations

import psycopg
import pytest
from audit_world import T0, checkpoint, seal_all, write
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

pytestmark = pytest.mark.postgres


def refused(db, sql: str, **params) -> str:
    with pytest.raises(DBAPIError) as caught, db.engine.begin() as conn:
        conn.execute(text(sql), params)
    assert isinstance(caught.value.orig, psycopg.errors.InsufficientPrivilege)
    return str(caught.value.orig)


def test_sealed_and_unsealed_events_cannot_be_edited_deleted_or_truncated(pg_db):
    write(pg_db, 3)
    seal_all(pg_db)
    write(pg_db, 1)  # seq 3 stays unsealed
    assert "only sealing" in refused(pg_db, "UPDATE audit_event SET actor = 'x' WHERE seq = 0")
    assert "only sealing" in refused(pg_db, "UPDATE audit_event SET leaf_hash = :h WHERE seq = 1",
                                     h="00" * 32)
    assert "only sealing" in refused(pg_db, "UPDATE audit_event SET seq = 99 WHERE seq = 2")
    assert "only sealing" in refused(
        pg_db, "UPDATE audit_event SET actor = 'x' WHERE seq IS NULL")
    assert "DELETE refused" in refused(pg_db, "DELETE FROM audit_event WHERE seq = 0")
    assert "DELETE refused" in refused(pg_db, "DELETE FROM audit_event WHERE seq IS NULL")
    assert "TRUNCATE refused" in refused(pg_db, "TRUNCATE audit_event")
    with pg_db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_event")).scalar() == 4


def test_sealing_is_allowed_once_and_only_with_the_other_fields_unchanged(pg_db):
    write(pg_db, 1)
    assert "only sealing" in refused(
        pg_db, "UPDATE audit_event SET seq = 0, leaf_hash = :h, sealed_at = now(), actor = 'x'",
        h="11" * 32)
    assert seal_all(pg_db) == 1
    assert "only sealing" in refused(
        pg_db, "UPDATE audit_event SET seq = 5, leaf_hash = :h, sealed_at = now()", h="22" * 32)


def test_checkpoints_cannot_be_rewritten_only_witnessed_once(pg_db):
    write(pg_db, 2)
    seal_all(pg_db)
    size = checkpoint(pg_db, None)
    assert "UPDATE refused" in refused(pg_db, "UPDATE audit_checkpoint SET root_hash = 'x'")
    assert "DELETE refused" in refused(pg_db, "DELETE FROM audit_checkpoint")
    assert "TRUNCATE refused" in refused(pg_db, "TRUNCATE audit_checkpoint")
    with pg_db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_checkpoint SET witnessed_at = :t WHERE size = :s"),
                     {"t": T0, "s": size})
    assert "UPDATE refused" in refused(pg_db, "UPDATE audit_checkpoint SET witnessed_at = now()")


def test_a_purge_may_delete_sealed_events_in_its_own_transaction_only(pg_db):
    write(pg_db, 2)
    seal_all(pg_db)
    with pg_db.engine.begin() as conn:
        conn.execute(text("SET LOCAL countersign.audit_purge = 'on'"))
        assert conn.execute(text("DELETE FROM audit_event WHERE seq = 0")).rowcount == 1
    assert "DELETE refused" in refused(pg_db, "DELETE FROM audit_event WHERE seq = 1")
