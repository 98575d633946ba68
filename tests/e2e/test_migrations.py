"""Migrations build the schema from empty, match the models exactly, and go back down."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import models  # noqa: F401
from bot import migrate
from bot.db import make_engine
from tests.harness.server import bot_env, run_cli


def test_countersign_migrate_builds_the_schema_from_empty(database_url, tmp_path):
    env = bot_env(database_url=database_url, slack_api_url="http://127.0.0.1:9/api/")
    result = run_cli(["migrate"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"database is at revision {migrate.head_revision()}" in result.stdout
    engine = make_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(SQLModel.metadata.tables) <= tables
        with engine.connect() as conn:
            drift = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert drift == [], f"models and migrations disagree: {drift}"
    finally:
        engine.dispose()


def test_migrate_is_idempotent_and_reversible(database_url):
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        migrate.downgrade(engine, "base")
        assert not set(SQLModel.metadata.tables) & set(inspect(engine).get_table_names())
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()
