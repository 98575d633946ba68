"""On PostgreSQL, approvers clicking at the same instant are decided one after the other."""

from collections import Counter

import pytest
from signoff_world import decide, open_request, request, votes
from sqlmodel import col, func, select

from models.outbox import OutboxMessage
from tests.harness.race import race

pytestmark = pytest.mark.postgres

ROUNDS = 30


def finals(db, rid):
    with db.session() as s:
        return s.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.template == "approval_final",
            col(OutboxMessage.key).startswith(f"approval:{rid}:"))).one()


def test_approvers_clicking_at_once_approve_exactly_once(pg_db):
    outcomes = Counter()
    for round_ in range(ROUNDS):
        rid = open_request(pg_db, "pair", reference=f"race-{round_}")
        results = race([lambda u=u: decide(pg_db, rid, u) for u in ("U0REV1", "U0REV2", "U0REV3")])
        got = sorted(r.outcome for r in results)
        # 2 of 3: one records, one completes the sign-off, the third finds it decided
        assert got == ["approved", "denied", "recorded"], got
        assert next(r for r in results if r.outcome == "denied").code == "not_pending"
        assert request(pg_db, rid).status == "approved"
        assert finals(pg_db, rid) == 1
        assert len(votes(pg_db, rid)) == 2
        outcomes.update(got)
    assert outcomes["approved"] == ROUNDS


def test_two_approvers_of_a_two_of_n_policy_at_the_same_instant(pg_db):
    for round_ in range(ROUNDS):
        rid = open_request(pg_db, "pair", reference=f"pair-{round_}")
        results = race([lambda u=u: decide(pg_db, rid, u) for u in ("U0REV1", "U0REV2")])
        assert sorted(r.outcome for r in results) == ["approved", "recorded"]
        assert finals(pg_db, rid) == 1


def test_a_double_click_records_one_vote(pg_db):
    for round_ in range(ROUNDS):
        rid = open_request(pg_db, "pair", reference=f"double-{round_}")
        results = race([lambda: decide(pg_db, rid, "U0REV1")] * 2)
        assert sorted(r.outcome for r in results) == ["denied", "recorded"]
        assert next(r for r in results if r.outcome == "denied").code == "already_voted"
        assert len(votes(pg_db, rid)) == 1
        assert request(pg_db, rid).status == "pending"
