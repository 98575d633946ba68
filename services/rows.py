"""Row helpers shared by the services."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Json
from sqlalchemy import JSON, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

from services.audit_log import canonical


def _insert(session: Session, model: type[SQLModel]) -> Any:
    """An INSERT that can say ON CONFLICT DO NOTHING in this session's dialect."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def insert_unless_exists(session: Session, model: type[SQLModel], values: dict[str, Any],
                         unique: list[str]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING: True if this call inserted the row.

    A check-then-insert races between processes on PostgreSQL (both see nothing, one
    fails on the constraint and takes its whole transaction down); this never does.
    """
    stmt = (_insert(session, model).values(**values).on_conflict_do_nothing(index_elements=unique)
            .returning(literal_column("1")))
    # RETURNING, not rowcount: psycopg reports -1 for this statement under SQLAlchemy.
    return session.connection().execute(stmt).first() is not None


def insert_counting(session: Session, model: type[SQLModel], rows: list[dict[str, Any]],
                    unique: str) -> int:
    """Bulk INSERT … ON CONFLICT (unique) DO NOTHING: how many of the rows this call inserted.

    A retried batch finds out exactly how many of its rows were already there, even with a
    concurrent retry of the same rows on PostgreSQL, which waits for the first and skips.
    Counted by the driver's rowcount, not RETURNING: SQLAlchemy can only return rows from a
    multi-row VALUES statement, and on PostgreSQL psycopg spends longer splitting one with
    tens of thousands of parameters than the server takes to insert them. So PostgreSQL gets
    one prepared statement, sent for every row in a pipeline; SQLite, in-process, does not
    care and keeps SQLAlchemy's own type handling."""
    if not rows:
        return 0
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        stmt = sqlite.insert(model).on_conflict_do_nothing(index_elements=[unique])
        return connection.execute(stmt, rows).rowcount
    table = model.__table__
    quote = connection.dialect.identifier_preparer.quote
    names = list(rows[0])
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
           f"VALUES ({', '.join(f'%({n})s' for n in names)}) "
           f"ON CONFLICT ({quote(unique)}) DO NOTHING")
    params = [{n: Json(v, dumps=canonical.dumps) if n in json_columns else v
               for n, v in row.items()} for row in rows]
    return connection.exec_driver_sql(sql, params).rowcount


def insert_new_keys(session: Session, model: type[SQLModel], rows: list[dict[str, Any]],
                    unique: list[str]) -> set[tuple[Any, ...]]:
    """Bulk INSERT … ON CONFLICT DO NOTHING on a unique key of several columns: the key tuples
    this call inserted (one multi-row statement)."""
    if not rows:
        return set()
    columns = [getattr(model, name) for name in unique]
    stmt = _insert(session, model).on_conflict_do_nothing(index_elements=unique).returning(*columns)
    return {tuple(row) for row in session.connection().execute(stmt, rows)}
