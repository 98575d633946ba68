"""Shared fixtures: a fresh, migrated database per test — SQLite, or PostgreSQL when
TEST_DATABASE_URL is set (each test in a schema of its own)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from bot import migrate
from bot.db import Database, make_engine

PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()


def _postgres_required() -> bool:
    return os.environ.get("REQUIRE_POSTGRES") == "1"


def _pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def postgres_base_url() -> str:
    """The PostgreSQL server for tests that prove concurrency; never silently skipped in CI."""
    if not PG_URL:
        if _postgres_required():
            pytest.fail("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL=postgresql+psycopg://…")
    return PG_URL


@contextmanager
def _fresh_pg_schema(base: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(base, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_schema_url(postgres_base_url: str) -> Iterator[str]:
    with _fresh_pg_schema(postgres_base_url) as url:
        yield url


@pytest.fixture
def other_pg_schema_url(postgres_base_url: str) -> Iterator[str]:
    """A second schema in the same database: another deployment sharing the server."""
    with _fresh_pg_schema(postgres_base_url) as url:
        yield url


@pytest.fixture
def database_url(tmp_path, request) -> str:  # noqa: ANN001
    if PG_URL:
        return request.getfixturevalue("pg_schema_url")
    return f"sqlite:///{tmp_path / 'countersign.db'}"


@contextmanager
def own_database_url(tmp: Path) -> Iterator[str]:
    """A database for one module or run: a fresh PostgreSQL schema (dropped after) when
    TEST_DATABASE_URL is set, else a SQLite file in `tmp`."""
    if PG_URL:
        with _fresh_pg_schema(PG_URL) as url:
            yield url
    else:
        yield f"sqlite:///{tmp / 'countersign.db'}"


@contextmanager
def migrated_database(url: str) -> Iterator[Database]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    database = Database(engine)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    with migrated_database(database_url) as database:
        yield database


@pytest.fixture
def pg_db(pg_schema_url: str) -> Iterator[Database]:
    engine = make_engine(pg_schema_url)
    migrate.upgrade(engine)
    database = Database(engine)
    yield database
    database.dispose()
