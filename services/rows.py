"""Row helpers shared by the services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel


def insert_unless_exists(session: Session, model: type[SQLModel], values: dict[str, Any],
                         unique: list[str]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING: True if this call inserted the row.

    A check-then-insert races between processes on PostgreSQL (both see nothing, one
    fails on the constraint and takes its whole transaction down); this never does.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(model).values(**values).on_conflict_do_nothing(index_elements=unique)
            .returning(literal_column("1")))
    # RETURNING, not rowcount: psycopg reports -1 for this statement under SQLAlchemy.
    return session.connection().execute(stmt).first() is not None


def insert_new(session: Session, model: type[SQLModel], rows: list[dict[str, Any]],
               unique: str) -> set[Any]:
    """Bulk INSERT … ON CONFLICT DO NOTHING: the `unique` values of the rows this call inserted.

    One statement for the batch (SQLAlchemy sends it as multi-row VALUES), so a retried batch
    costs one round trip and finds out which of its rows were already there."""
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    column = getattr(model, unique)
    stmt = insert(model).on_conflict_do_nothing(index_elements=[unique]).returning(column)
    return set(session.connection().execute(stmt, rows).scalars())
