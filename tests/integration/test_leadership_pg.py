"""Clock leadership on PostgreSQL: one leader per deployment, and deployments that share a
database in schemas of their own do not elect one clock between them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from bot.db import make_engine
from bot.leader import Leadership

pytestmark = pytest.mark.postgres


@pytest.fixture
def engines(pg_schema_url: str, other_pg_schema_url: str) -> Iterator[dict[str, Engine]]:
    made = {"a": make_engine(pg_schema_url), "b": make_engine(other_pg_schema_url)}
    yield made
    for engine in made.values():
        engine.dispose()


def test_one_leader_per_deployment_and_the_next_takes_over(engines):
    first, second = Leadership(engines["a"]), Leadership(engines["a"])
    try:
        assert first.refresh() is True
        assert second.refresh() is False
        first.release()
        assert second.refresh() is True
        assert first.refresh() is False
    finally:
        first.release()
        second.release()


def test_a_deployment_in_another_schema_leads_its_own_clock(engines):
    here, there = Leadership(engines["a"]), Leadership(engines["b"])
    try:
        assert here.refresh() is True
        assert there.refresh() is True, "a clock in another schema of the same database was kept from leading"
    finally:
        here.release()
        there.release()
