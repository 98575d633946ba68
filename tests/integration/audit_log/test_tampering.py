"""Every way of rewriting the log is found at the right sequence number, with the right reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from audit_world import ORIGIN, T0, checkpoint, seal_all, signer, tampering, verify, write
from sqlalchemy import text

from services.audit_log import canonical, sealer
from services.audit_log.merkle import CompactRange, leaf_hash
from services.audit_log.notes import checkpoint_body

N = 40


@pytest.fixture
def log(db):
    """40 events, a signed checkpoint after 20 and after 40 (each recorded in the log too)."""
    key = signer()
    write(db, 20)
    seal_all(db)
    checkpoint(db, key)
    write(db, N - 21)
    seal_all(db)
    checkpoint(db, key)
    report = verify(db, key)
    assert report.ok, report.summary
    return db, key


def fields_of(row) -> dict:
    """A raw row as the canonical encoding takes it (raw SQL hands back text on SQLite)."""
    fields = {k: row[k] for k in canonical.FIELDS}
    if isinstance(fields["at"], str):
        fields["at"] = datetime.fromisoformat(fields["at"]).replace(tzinfo=UTC)
    if isinstance(fields["payload"], str):
        fields["payload"] = json.loads(fields["payload"])
    return fields


def broken(db, key, witnessed=()):
    report = verify(db, key, witnessed)
    assert not report.ok, "the tampering went unnoticed"
    return report.broken


def test_editing_one_field_of_one_event(log):
    db, key = log
    with tampering(db) as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'U_FORGED' WHERE seq = 7"))
    b = broken(db, key)
    assert (b.seq, b.reason) == (7, "changed")


def test_editing_a_payload_and_its_stored_leaf_hash_breaks_the_checkpoint_root(log):
    db, key = log
    with tampering(db) as conn:
        row = conn.execute(text("SELECT * FROM audit_event WHERE seq = 25")).mappings().one()
        forged = {**fields_of(row), "payload": {"forged": True}}
        leaf = leaf_hash(canonical.encode(**forged))
        conn.execute(text("UPDATE audit_event SET payload = :p, leaf_hash = :h WHERE seq = 25"),
                     {"p": json.dumps({"forged": True}), "h": leaf.hex()})
    b = broken(db, key)
    assert b.reason == "checkpoint root mismatch" and b.seq == 20, b
    assert "seq 20–39" in b.detail


def test_deleting_a_row(log):
    db, key = log
    with tampering(db) as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq = 12"))
    b = broken(db, key)
    assert (b.seq, b.reason) == (12, "missing")


def test_deleting_a_row_and_renumbering_the_rest(log):
    db, key = log
    with tampering(db) as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq = 12"))
        for seq in range(13, N + 1):
            conn.execute(text("UPDATE audit_event SET seq = :new WHERE seq = :old"),
                         {"new": seq - 1, "old": seq})
    b = broken(db, key)
    assert (b.seq, b.reason) == (12, "missing")


def test_inserting_a_row_beyond_what_was_sealed(log):
    db, key = log
    with tampering(db) as conn:
        conn.execute(text(
            "INSERT INTO audit_event (at, actor, action, entity_type, entity_id, payload, seq, "
            "leaf_hash, sealed_at) VALUES (:at, 'U9', 'approval.approved', 'approval_request', "
            "'9', '{}', :seq, :h, :at)"), {"at": T0, "seq": N + 1, "h": "00" * 32})
    b = broken(db, key)
    assert (b.seq, b.reason) == (N + 1, "inserted")


def test_inserting_a_row_in_the_middle_and_renumbering_after_it(log):
    db, key = log
    with tampering(db) as conn:
        for seq in range(N, 9, -1):
            conn.execute(text("UPDATE audit_event SET seq = :new WHERE seq = :old"),
                         {"new": seq + 1, "old": seq})
        forged = dict(seq=10, id=10_000, at=T0, actor="U9", action="approval.approved",
                      entity_type="approval_request", entity_id="9", payload={},
                      request_id=None)
        conn.execute(text(
            "INSERT INTO audit_event (id, at, actor, action, entity_type, entity_id, payload, seq, "
            "leaf_hash, sealed_at) VALUES (10000, :at, 'U9', 'approval.approved', "
            "'approval_request', '9', '{}', 10, :h, :at)"),
            {"at": T0, "h": leaf_hash(canonical.encode(**forged)).hex()})
    b = broken(db, key)
    assert (b.seq, b.reason) == (10, "inserted")


def test_swapping_two_rows(log):
    db, key = log
    with tampering(db) as conn:
        conn.execute(text("UPDATE audit_event SET seq = -1 WHERE seq = 5"))
        conn.execute(text("UPDATE audit_event SET seq = 5 WHERE seq = 6"))
        conn.execute(text("UPDATE audit_event SET seq = 6 WHERE seq = -1"))
    b = broken(db, key)
    assert (b.seq, b.reason) == (5, "reordered")


def rewrite_tail(db, key_name: str, from_seq: int):
    """Rewrite every event from `from_seq` on, recompute every hash, the tree state and the
    checkpoints after it, and sign them with a key of the attacker's own."""
    attacker = signer(key_name)
    with tampering(db) as conn:
        rows = conn.execute(text("SELECT * FROM audit_event WHERE seq IS NOT NULL ORDER BY seq")
                            ).mappings().all()
        tree = CompactRange()
        for row in rows:
            fields = fields_of(row)
            if row["seq"] >= from_seq:
                fields["actor"] = "U_ATTACKER"
            leaf = leaf_hash(canonical.encode(**fields))
            tree.append(leaf)
            conn.execute(text("UPDATE audit_event SET actor = :a, leaf_hash = :h WHERE seq = :s"),
                         {"a": fields["actor"], "h": leaf.hex(), "s": row["seq"]})
            for cp in conn.execute(text("SELECT size FROM audit_checkpoint WHERE size = :n "
                                        "AND size > :start"),
                                   {"n": tree.size, "start": from_seq}).scalars():
                note = attacker.sign(checkpoint_body(ORIGIN, cp, tree.root()))
                conn.execute(text("UPDATE audit_checkpoint SET root_hash = :r, note = :n "
                                  "WHERE size = :s"), {"r": tree.root().hex(), "n": note, "s": cp})
        conn.execute(text("UPDATE audit_log_state SET frontier = :f"),
                     {"f": json.dumps(tree.to_hex())})
    return attacker


def test_rewriting_the_whole_tail_and_re_signing_it_with_another_key(log):
    db, key = log
    rewrite_tail(db, ORIGIN, from_seq=22)
    b = broken(db, key)
    assert b.reason == "bad signature" and b.seq == 20, b


def test_a_tail_rewritten_with_another_key_is_caught_by_a_witnessed_checkpoint_too(log):
    db, key = log
    with db.session() as s:
        witnessed = sealer.latest_checkpoint(s).note
    attacker = rewrite_tail(db, ORIGIN, from_seq=22)
    # Even someone who trusts the forged key sees the log disagree with what Slack holds.
    report = verify(db, attacker, (witnessed,))
    assert not report.ok


def test_dropping_the_last_checkpoint(log):
    db, key = log
    with db.session() as s:
        last = sealer.latest_checkpoint(s)
    with tampering(db) as conn:
        conn.execute(text("DELETE FROM audit_checkpoint WHERE size = :s"), {"s": last.size})
    b = broken(db, key)
    assert b.reason == "checkpoint missing" and b.seq == last.size, b


def test_dropping_the_last_checkpoint_before_its_record_is_sealed_is_caught_by_its_witness(log):
    db, key = log
    write(db, 3)
    seal_all(db)
    with db.session() as s:
        cp = sealer.checkpoint(s, now=T0, signer=key, origin=ORIGIN, interval=None)
        witnessed = cp.note
    with tampering(db) as conn:  # its record is not sealed yet: the log cannot know of it
        conn.execute(text("DELETE FROM audit_checkpoint WHERE size = :s"), {"s": cp.size})
        conn.execute(text("DELETE FROM audit_event WHERE seq IS NULL"))
    assert verify(db, key).ok, "without the witness this is indistinguishable from no checkpoint"
    b = broken(db, key, (witnessed,))
    assert b.reason == "checkpoint missing", b


def test_a_truncated_log_is_missing_its_tail(log):
    db, key = log
    with tampering(db) as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq >= 35"))
    b = broken(db, key)
    assert (b.seq, b.reason) == (35, "missing")
