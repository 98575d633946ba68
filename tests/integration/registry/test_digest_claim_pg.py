"""On PostgreSQL, clock processes claiming one week's digest at the same instant: one sends."""


import pytest
from registry_world import T0

from services.registry import digest
from tests.harness.race import race

pytestmark = pytest.mark.postgres

ROUNDS = 20
WORKERS = 8


def claim(db, scope: str, week: str) -> bool:
    with db.session() as s:
        return digest.claim(s, scope=scope, week=week, due_at=T0, now=T0)


def test_one_of_many_racing_claims_wins_each_week(pg_db):
    for round_ in range(ROUNDS):
        week = f"2026-W{round_ + 10:02d}"
        results = race([lambda week=week: claim(pg_db, "team:T1", week)] * WORKERS)
        assert results.count(True) == 1, (week, results)
        assert results.count(False) == WORKERS - 1
    # Every week stays claimed: a late process finds each one taken.
    assert [claim(pg_db, "team:T1", f"2026-W{r + 10:02d}") for r in range(ROUNDS)] == [False] * ROUNDS


def test_racing_claims_of_different_scopes_each_win(pg_db):
    for round_ in range(ROUNDS):
        week = f"2026-W{round_ + 10:02d}"
        scopes = [f"user:U0{i:03d}" for i in range(WORKERS)]
        assert race([lambda scope=scope, week=week: claim(pg_db, scope, week) for scope in scopes]) == [True] * WORKERS
