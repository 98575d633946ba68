"""verify's fast path — the database spells each event's canonical encoding and Python only hashes
it — must agree with the encoding an auditor re-implements, and must never decide otherwise than
the general path over full records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from audit_world import ORIGIN, T0, checkpoint, seal_all, signer, tampering, write
from sqlalchemy import text

from bot.db import snapshot
from services import audit
from services.audit_log import store
from services.audit_log.sealer import CHECKPOINT_ACTION
from services.audit_log.verify import verify, verify_encoded

# Every character class JSON escapes, or might: quotes, backslash, each control character, DEL,
# the line and paragraph separators, non-BMP, and markup.
HOSTILE = ['plain', 'a "quoted" word', 'back\\slash', 'tab\there', 'new\nline', 'cr\rlf',
           '\b\f', ''.join(chr(c) for c in range(1, 32)), 'del\x7f', 'sep\u2028\u2029',
           'emoji 🙂 𝄞', '<script>&amp;</script>', 'ünïcode', '/slash/', '']


def write_hostile(db) -> None:
    for i, value in enumerate(HOSTILE):
        with db.session() as s:
            event = audit.append(s, at=T0 + timedelta(microseconds=i * 1001),
                                 actor=f"U{i}{value}"[:64], action="request.created",
                                 entity_type="approval_request", entity_id=value[:64] or "0",
                                 payload={"text": value, value: [value, i, None, True]})
            event.request_id = value[:64] or None


def reports(db, key):
    """The fast path's report, and how many rows it handed to the general path; then the general
    path's report over the same snapshot."""
    handed: list[int] = []
    with snapshot(db.engine) as conn:
        st = store.state(conn)
        common = dict(checkpoints=store.checkpoints(conn), trusted=key.verifier(),
                      origin=ORIGIN, prefix=store.purged_prefix(conn), sealed_size=st.size,
                      sealed_frontier=list(st.frontier))

        def by_id(event_id):
            handed.append(event_id)
            return store.sealed_row(conn, event_id)

        fast = verify_encoded(store.encoded_chunks(conn, CHECKPOINT_ACTION), record_by_id=by_id,
                              records_from=lambda seq: store.sealed_rows(conn, from_seq=seq),
                              **common)
        general = verify(store.sealed_rows(conn), **common)
    return fast, general, handed


def encodings(db) -> list[tuple[bytes, bytes]]:
    """(database's spelling, Python's canonical spelling) of every sealed event."""
    from services.audit_log.verify import _encode  # the auditor's encoding, from full fields
    with snapshot(db.engine) as conn:
        ours = {row[0]: bytes(row[2]) if row[2] is not None else None
                for chunk in store.encoded_chunks(conn, CHECKPOINT_ACTION) for row in chunk}
        full = {r["seq"]: _encode(r, r["seq"]) for r in store.sealed_records(conn)}
    assert ours.keys() == full.keys()
    return [(ours[seq], full[seq]) for seq in sorted(full)]


def test_the_database_spells_hostile_text_exactly_as_the_canonical_encoding(db):
    write_hostile(db)
    seal_all(db)
    pairs = encodings(db)
    assert len(pairs) == len(HOSTILE)
    for spelled, canonical_bytes in pairs:
        assert spelled == canonical_bytes


def sealed_log(db, *, first: int, then: int, writer: int):
    """`first` plain events and the hostile ones under a signed checkpoint, then `then` more
    sealed after it; returns the signing key."""
    key = signer()
    write(db, first)
    write_hostile(db)
    seal_all(db)
    checkpoint(db, key)
    write(db, then, writer=writer)
    seal_all(db)
    return key


def test_fast_and_general_paths_agree_on_a_clean_log_and_the_fast_one_hands_over_little(db):
    key = sealed_log(db, first=30, then=10, writer=1)
    checkpoint(db, key)
    fast, general, handed = reports(db, key)
    assert fast.ok, fast.summary
    assert (fast.summary, fast.events, fast.tree) == (general.summary, general.events,
                                                      general.tree)
    # Only the two checkpoints' events and the last event under each checkpoint need the
    # general path; every other event is settled by one hash.
    assert len(handed) == 4


def _renumber(conn, seqs, shift):
    for seq in seqs:
        conn.execute(text("UPDATE audit_event SET seq = :new WHERE seq = :old"),
                     {"new": seq + shift, "old": seq})


TAMPERING = {
    "edit": ["UPDATE audit_event SET actor = 'U_FORGED' WHERE seq = 7"],
    "edit-hostile": ["UPDATE audit_event SET entity_id = 'forged' WHERE seq = 33"],
    "delete": ["DELETE FROM audit_event WHERE seq = 12"],
    "renumber-down": ["DELETE FROM audit_event WHERE seq = 12",
                      lambda conn: _renumber(conn, range(13, 60), -1)],
    "swap": ["UPDATE audit_event SET seq = -1 WHERE seq = 5",
             "UPDATE audit_event SET seq = 5 WHERE seq = 6",
             "UPDATE audit_event SET seq = 6 WHERE seq = -1"],
    "drop-leaf": ["UPDATE audit_event SET leaf_hash = NULL WHERE seq = 9"],
    "edit-last": ["UPDATE audit_event SET entity_id = 'forged' WHERE seq = 44"],
}


@pytest.mark.parametrize("tamper", sorted(TAMPERING))
def test_fast_and_general_paths_find_the_same_break(db, tamper):
    key = sealed_log(db, first=25, then=5, writer=2)
    with tampering(db) as conn:
        for step in TAMPERING[tamper]:
            step(conn) if callable(step) else conn.execute(text(step))
    fast, general, _ = reports(db, key)
    assert not fast.ok, "the tampering went unnoticed"
    assert fast.broken == general.broken


def test_a_payload_stored_in_another_spelling_still_verifies_through_the_general_path(db):
    key = signer()
    write(db, 12)
    seal_all(db)
    checkpoint(db, key)
    with tampering(db) as conn:
        # Same meaning, other bytes: as a row written before JSON was stored canonically.
        spaced = "{\"writer\": 0, \"note\": \"\\u00fcn\\u00efcode <&>\", \"n\": 4}"
        cast = "CAST(:p AS json)" if db.dialect == "postgresql" else ":p"
        conn.execute(text(f"UPDATE audit_event SET payload = {cast} WHERE seq = 4"),
                     {"p": spaced})
    fast, general, handed = reports(db, key)
    assert fast.ok, fast.summary
    assert general.ok
    assert len(handed) >= 1
