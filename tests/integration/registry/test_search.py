"""The form pickers' search (registry.search): by title or name, or by number."""

from __future__ import annotations

import pytest

from services import registry
from tests.integration.registry.registry_world import new_usecase


@pytest.fixture
def seeded(db):  # noqa: ANN001
    return new_usecase(db, title="Support reply drafts")


def test_a_title_or_a_number_finds_the_record(db, seeded):  # noqa: ANN001
    with db.session() as s:
        assert [i for i, _ in registry.search(s, "usecase", "reply")] == [seeded]
        assert [i for i, _ in registry.search(s, "usecase", f"UC-{seeded}")] == [seeded]


@pytest.mark.parametrize("query", ["\x00", "reply\x00", "a\x00b"])
def test_a_nul_finds_nothing_and_raises_nothing(db, seeded, query):  # noqa: ANN001
    # Found by the hostile-input fuzz on PostgreSQL, which refuses a NUL in a query (DataError).
    with db.session() as s:
        assert registry.search(s, "usecase", query) == []
