"""`countersign token create|list|revoke`: the bearer tokens of the HTTP API.

Reads and writes the database directly (DATABASE_URL), so it works with the bot stopped; a
running bot sees a new or revoked token on its next request. Exit 0 when done, 1 when the
tokens on record refuse it (a taken name, no such token, already revoked), 2 when the request
is malformed (a bad name or scope) or the database cannot be used.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime

from services import tokens


def add_command(subparsers: argparse._SubParsersAction) -> None:
    token = subparsers.add_parser("token", help="bearer tokens for the HTTP API (/api/v1)")
    sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = sub.add_parser("create", help="make a token; it is printed once and never stored")
    create.add_argument("name", help="what the token is for, e.g. github-ci (a-z, 0-9, . _ -)")
    create.add_argument("--scope", required=True,
                        help=f"comma-separated scopes: {', '.join(tokens.SCOPES)}")
    create.set_defaults(func=create_command)
    listing = sub.add_parser("list", help="every token: name, scopes, created, last used, revoked")
    listing.set_defaults(func=list_command)
    revoke = sub.add_parser("revoke", help="refuse the token from now on (final)")
    revoke.add_argument("name")
    revoke.set_defaults(func=revoke_command)


def operator() -> str:
    """Who ran the command, for the audit log: the operating-system user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid)
        user = "unknown"
    return f"cli:{user}"[:64]


def _database():  # noqa: ANN202
    from bot.cli import _settings
    from bot.db import Database, make_engine

    return Database(make_engine(_settings().database_url))


def _refused(action: str, exc: tokens.TokenError) -> int:
    print(f"countersign token {action}: {exc}", file=sys.stderr)
    return 2 if isinstance(exc, tokens.TokenInputError) else 1


def create_command(args: argparse.Namespace) -> int:
    try:  # malformed input is refused before the database is opened
        name, scopes = tokens.check_name(args.name), tokens.parse_scopes(args.scope)
    except tokens.TokenError as exc:
        return _refused("create", exc)
    db = _database()
    try:
        with db.session() as s:
            token = tokens.create(s, name=name, scopes=scopes, now=datetime.now(UTC),
                                  actor=operator())
    except tokens.TokenError as exc:
        return _refused("create", exc)
    finally:
        db.dispose()
    print(token)
    print(f"Token {name!r} created with scope {','.join(scopes)}. It is shown only now: "
          "Countersign keeps only its SHA-256 hash, so copy it to your secret store.",
          file=sys.stderr)
    return 0


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "-"


def list_command(_: argparse.Namespace) -> int:
    db = _database()
    try:
        with db.session() as s:
            found = tokens.list_tokens(s)
    finally:
        db.dispose()
    if not found:
        print("no tokens yet: `countersign token create NAME --scope gate` makes one",
              file=sys.stderr)
        return 0
    rows = [("NAME", "SCOPES", "CREATED (UTC)", "BY", "LAST USED", "REVOKED")]
    rows += [(t.name, ",".join(t.scopes), _when(t.created_at), t.created_by, _when(t.last_used_at),
              _when(t.revoked_at)) for t in found]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    return 0


def revoke_command(args: argparse.Namespace) -> int:
    try:
        name = tokens.check_name(args.name)
    except tokens.TokenError as exc:
        return _refused("revoke", exc)
    db = _database()
    try:
        with db.session() as s:
            tokens.revoke(s, name=name, now=datetime.now(UTC), actor=operator())
    except tokens.TokenError as exc:
        return _refused("revoke", exc)
    finally:
        db.dispose()
    print(f"Token {name!r} revoked: the API refuses it from its next request on.")
    return 0
