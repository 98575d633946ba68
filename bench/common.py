"""What the bench scripts share: a throwaway database, package versions, bounded arguments."""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import sqlite3
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, make_url, text

from bot import migrate
from bot.db import make_engine

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@contextlib.contextmanager
def database(url: str | None, tmp: Path, *, prog: str,
             migrate_sqlite: bool = False) -> Iterator[tuple[str, str]]:
    """(URL the bot gets, description): a temp SQLite file, or a fresh PostgreSQL schema that
    is migrated here (`serve` migrates SQLite only) and dropped afterwards."""
    if url is None or url.startswith("sqlite:"):
        url = url or f"sqlite:///{tmp / 'countersign.db'}"
        if migrate_sqlite:  # when the bench writes before the bot has started
            engine = make_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
        yield url, f"SQLite {sqlite3.sqlite_version} ({url}), WAL"
        return
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    parsed = make_url(url)
    if parsed.host not in LOOPBACK | {None}:
        raise SystemExit(f"{prog}: refusing non-loopback database host {parsed.host!r}")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        server = conn.execute(text("SHOW server_version")).scalar()
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in url else "?"
        schema_url = f"{url}{sep}options={quote(f'-csearch_path={schema}')}"
        engine = make_engine(schema_url)
        migrate.upgrade(engine)
        engine.dispose()
        shown = parsed.render_as_string(hide_password=True)
        yield schema_url, f"PostgreSQL {server} ({shown}, schema {schema}, dropped after)"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def bounded(lo: int, hi: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        n = int(value)
        if not lo <= n <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo} and {hi}")
        return n
    return parse


def add_database_args(parser: argparse.ArgumentParser) -> None:
    """--postgres (alias --database-url) and --sqlite-only, for scripts that run SQLite, then
    PostgreSQL when given one."""
    parser.add_argument("--postgres", "--database-url", dest="postgres", metavar="URL",
                        default=os.environ.get("TEST_DATABASE_URL") or None,
                        help="also run on PostgreSQL on loopback, in a throwaway schema, e.g. "
                             "postgresql+psycopg://postgres@127.0.0.1:5432/test (default: "
                             "$TEST_DATABASE_URL, as the tests use)")
    parser.add_argument("--sqlite-only", action="store_true",
                        help="SQLite only, even with --postgres or $TEST_DATABASE_URL")


def run_script(main: Callable[[], int]) -> None:
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
