"""Inclusion and consistency proofs from the stored log, and their offline checks.

A proof document is self-contained JSON: the event in its canonical fields, its leaf hash, the
audit path, and the signed checkpoint it leads to. `check_proof` needs nothing but the document
and the log's public key, so an auditor checks it without our database.
"""

from __future__ import annotations

import hmac
from typing import Any

from sqlalchemy import Connection, select

from models.audit import AuditCheckpoint
from services.audit_log import store
from services.audit_log.merkle import (
    consistency_ranges,
    hash_ranges,
    inclusion_ranges,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from services.audit_log.notes import NoteError, NoteVerifier, parse_checkpoint, split_note
from services.audit_log.verify import CheckpointRecord, _encode

FORMAT = "countersign-audit-proof/1"


class ProofError(Exception):
    """No proof can be given (the reason says why), or a given proof does not hold."""


def _nodes(conn: Connection, ranges: list[tuple[int, int]]) -> list[bytes]:
    if not ranges:
        return []
    prefix = store.purged_prefix(conn)
    start = prefix.size if prefix is not None else 0
    hashes = hash_ranges(ranges, store.leaf_hashes(conn, start=start), prefix=prefix)
    return [hashes[r] for r in ranges]


def _covering(conn: Connection, seq: int) -> CheckpointRecord:
    row = conn.execute(select(AuditCheckpoint.__table__).where(AuditCheckpoint.size > seq)
                       .order_by(AuditCheckpoint.size.desc()).limit(1)).first()
    if row is None:
        raise ProofError(f"no checkpoint covers seq {seq} yet; one is written at least every "
                         "AUDIT_CHECKPOINT_INTERVAL (or now with `/ai-audit checkpoint`)")
    return store.checkpoint_record(row)


def prove(conn: Connection, seq: int) -> dict[str, Any]:
    """The event at `seq`, its leaf hash and its inclusion proof against the latest checkpoint."""
    records = list(store.sealed_records(conn, after_seq=seq - 1, before_seq=seq + 1))
    if not records:
        prefix = store.purged_prefix(conn)
        if prefix is not None and seq < prefix.size:
            raise ProofError(f"seq {seq} was purged (events before seq {prefix.size} are gone)")
        raise ProofError(f"no sealed event has seq {seq}")
    event = records[0]
    cp = _covering(conn, seq)
    proof = _nodes(conn, inclusion_ranges(seq, cp.size))
    stored = event.pop("leaf_hash")
    return {
        "format": FORMAT, "event": event, "leaf_hash": stored, "index": seq,
        "tree_size": cp.size, "inclusion_proof": [node.hex() for node in proof],
        "checkpoint": cp.note,
    }


def consistency(conn: Connection, old_size: int, new_size: int) -> dict[str, Any]:
    old = store.checkpoint_at(conn, old_size)
    new = store.checkpoint_at(conn, new_size)
    for size, cp in ((old_size, old), (new_size, new)):
        if cp is None:
            raise ProofError(f"there is no checkpoint of size {size}")
    if old_size > new_size:
        raise ProofError(f"the old size {old_size} is larger than the new size {new_size}")
    prefix = store.purged_prefix(conn)
    if prefix is not None and old_size < prefix.size:
        raise ProofError(f"checkpoint {old_size} predates the purge at seq {prefix.size}")
    proof = _nodes(conn, consistency_ranges(old_size, new_size))
    return {"format": FORMAT, "old": old.note, "new": new.note,
            "consistency_proof": [node.hex() for node in proof]}


def _checkpoint_of(note: str, verifier: NoteVerifier | None) -> Any:
    try:
        body = verifier.verify(note) if verifier is not None else split_note(note)[0]
        return parse_checkpoint(body)
    except NoteError as error:
        raise ProofError(f"checkpoint: {error}") from None


def check_proof(doc: dict[str, Any], verifier: NoteVerifier | None) -> str:
    """Raise ProofError unless `doc` proves its event is in the signed log; return a summary."""
    try:
        event, index, size = doc["event"], int(doc["index"]), int(doc["tree_size"])
        proof = [bytes.fromhex(h) for h in doc["inclusion_proof"]]
        stored = bytes.fromhex(doc["leaf_hash"])
        note = doc["checkpoint"]
    except (KeyError, TypeError, ValueError) as error:
        raise ProofError(f"not a proof document ({error})") from None
    if event.get("seq") != index:
        raise ProofError(f"the event says seq {event.get('seq')} but the proof is for {index}")
    try:
        leaf = leaf_hash(_encode(event, index))
    except (KeyError, TypeError, ValueError) as error:
        raise ProofError(f"the event cannot be encoded ({error})") from None
    if not hmac.compare_digest(leaf, stored):
        raise ProofError("the event's fields do not hash to the stated leaf hash")
    cp = _checkpoint_of(note, verifier)
    if cp.size != size:
        raise ProofError(f"the proof is for a tree of {size} but the checkpoint states {cp.size}")
    if not verify_inclusion(leaf, index, size, proof, cp.root):
        raise ProofError("the inclusion proof does not lead to the checkpoint's root")
    signed = f"signed by {verifier.name}" if verifier is not None else "signature NOT checked"
    return f"OK: seq {index} is in the log {cp.origin} of {size} events ({signed})"


def check_consistency(doc: dict[str, Any], verifier: NoteVerifier | None) -> str:
    try:
        old_note, new_note = doc["old"], doc["new"]
        proof = [bytes.fromhex(h) for h in doc["consistency_proof"]]
    except (KeyError, TypeError, ValueError) as error:
        raise ProofError(f"not a consistency document ({error})") from None
    old, new = _checkpoint_of(old_note, verifier), _checkpoint_of(new_note, verifier)
    if not verify_consistency(old.size, new.size, old.root, new.root, proof):
        raise ProofError(f"checkpoint {new.size} does not extend checkpoint {old.size}")
    return f"OK: the log of {new.size} events extends the log of {old.size}"
