"""`countersign registry export`: every use case and vendor record, for auditors.

Reads the database directly (DATABASE_URL), so it works with the bot stopped; it writes
nothing. JSON holds both record types; a CSV file holds one (choose with --records).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from services.registry import export


def add_command(subparsers: argparse._SubParsersAction) -> None:
    registry = subparsers.add_parser("registry", help="the AI use-case and vendor registry")
    sub = registry.add_subparsers(dest="registry_command", required=True, metavar="ACTION")
    out = sub.add_parser("export", help="write every record with every field (JSON or CSV)")
    out.add_argument("--format", choices=export.FORMATS, default="json")
    out.add_argument("--records", choices=tuple(export.KINDS), default=None,
                     help="which records: usecases, vendors, or all (JSON only; default: all for "
                          "JSON, required for CSV)")
    out.add_argument("--output", "-o", type=Path, default=None, help="a file (default: standard output)")
    out.set_defaults(func=export_command)


def export_command(args: argparse.Namespace) -> int:
    from bot.cli import _settings
    from bot.db import Database, make_engine

    records = args.records or ("all" if args.format == "json" else None)
    if args.format == "csv" and records in (None, "all"):
        print("countersign registry export: a CSV file holds one kind of record: add "
              "--records usecases or --records vendors", file=sys.stderr)
        return 2
    settings = _settings()
    db = Database(make_engine(settings.database_url))
    stream = args.output.open("w", encoding="utf-8", newline="") if args.output else sys.stdout
    try:
        with db.session() as s:
            if args.format == "json":
                count = export.write_json(s, stream, export.KINDS[records], generated_at=datetime.now(UTC))
            else:
                count = export.write_csv(s, stream, export.KINDS[records][0])
    finally:
        if args.output:
            stream.close()
        db.dispose()
    if args.output:
        print(f"wrote {count} records to {args.output}", file=sys.stderr)
    return 0
