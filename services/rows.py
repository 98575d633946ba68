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
