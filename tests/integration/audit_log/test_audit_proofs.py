"""Inclusion and consistency proofs from the stored log, checked with no database."""

from __future__ import annotations

import json

import pytest
from audit_world import bulk, checkpoint, seal_all, signer

from bot.db import snapshot
from services.audit_log import proofs


@pytest.fixture
def log(db):
    key = signer()
    bulk(db, 11)
    seal_all(db)
    first = checkpoint(db, key)
    bulk(db, 95, start=11)
    seal_all(db)
    second = checkpoint(db, key)
    return db, key, first, second


def test_every_event_has_an_inclusion_proof_that_checks_offline(log):
    db, key, _, second = log
    with snapshot(db.engine) as conn:
        docs = [proofs.prove(conn, seq) for seq in range(second)]
    for seq, doc in enumerate(docs):
        doc = json.loads(json.dumps(doc))  # as a file carries it
        assert doc["index"] == seq and doc["tree_size"] == second
        assert proofs.check_proof(doc, key.verifier()).startswith(f"OK: seq {seq} is in the log")


@pytest.mark.parametrize("tamper", ["field", "leaf", "path", "index", "size", "checkpoint"])
def test_a_tampered_proof_document_fails(log, tamper):
    db, key, _, _ = log
    with snapshot(db.engine) as conn:
        doc = proofs.prove(conn, 42)
    if tamper == "field":
        doc["event"]["actor"] = "U_FORGED"
    elif tamper == "leaf":
        doc["leaf_hash"] = "00" * 32
    elif tamper == "path":
        doc["inclusion_proof"][0] = "11" * 32
    elif tamper == "index":
        doc["index"] = 43
        doc["event"]["seq"] = 43
    elif tamper == "size":
        doc["tree_size"] += 1
    else:
        doc["checkpoint"] = doc["checkpoint"].replace("\n107\n", "\n108\n")
    with pytest.raises(proofs.ProofError):
        proofs.check_proof(doc, key.verifier())


def test_a_proof_signed_by_another_key_fails(log):
    db, _, _, _ = log
    with snapshot(db.engine) as conn:
        doc = proofs.prove(conn, 3)
    with pytest.raises(proofs.ProofError, match="signature"):
        proofs.check_proof(doc, signer().verifier())


def test_an_event_not_yet_under_a_checkpoint_has_no_proof_yet(log):
    db, _, _, second = log
    bulk(db, 2, start=200)
    seal_all(db)
    with snapshot(db.engine) as conn, pytest.raises(proofs.ProofError, match="no checkpoint"):
        proofs.prove(conn, second + 2)


def test_consistency_between_two_checkpoints(log):
    db, key, first, second = log
    with snapshot(db.engine) as conn:
        doc = proofs.consistency(conn, first, second)
        assert proofs.check_consistency(doc, key.verifier()).startswith("OK")
        doc["consistency_proof"][-1] = "22" * 32
        with pytest.raises(proofs.ProofError, match="does not extend"):
            proofs.check_consistency(doc, key.verifier())
        with pytest.raises(proofs.ProofError, match="no checkpoint of size 5"):
            proofs.consistency(conn, 5, second)
