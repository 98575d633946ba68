"""`countersign playbook check | explain | render`: the playbook from the command line.

Registered into the main CLI by `add_commands(subparsers)`; each handler takes the parsed args and
returns the exit code: 0 on success, 1 when the playbook is invalid or names no such kind/severity.
The playbook path defaults to $PLAYBOOK_PATH, else ./playbook.yaml, read when the command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from services.playbook import (
    LoadedPlaybook,
    PlaybookError,
    UnknownName,
    explain_approval,
    explain_escalation,
    load_playbook,
    render_markdown,
    summary,
)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    playbook = subparsers.add_parser("playbook", help="check, explain or render the playbook")
    commands = playbook.add_subparsers(dest="playbook_command", required=True, metavar="{check,explain,render}")

    check = commands.add_parser("check", help="validate the playbook; print a summary or every error")
    _path_argument(check)
    check.set_defaults(func=check_command)

    explain = commands.add_parser("explain", help="who signs off on a kind, or who is paged for a severity")
    question = explain.add_mutually_exclusive_group(required=True)
    question.add_argument("--kind", help="an approval kind, e.g. launch")
    question.add_argument("--severity", help="an incident severity, e.g. sev1")
    explain.add_argument("--audience", choices=("internal", "external"), help="with --kind: the audience (default: all that apply)")
    explain.add_argument("--at", help="with --severity: when the incident opens, ISO 8601 (default: now; no offset means the playbook's time zone)")
    _path_argument(explain)
    explain.set_defaults(func=explain_command)

    render = commands.add_parser("render", help="write the playbook as a readable Markdown policy")
    render.add_argument("--audience", choices=("internal", "external"), required=True)
    render.add_argument("--output", "-o", help="write to this file instead of standard output")
    _path_argument(render)
    render.set_defaults(func=render_command)


def _path_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", help="the playbook file (default: $PLAYBOOK_PATH or playbook.yaml)")


def _load(args: argparse.Namespace) -> LoadedPlaybook | None:
    path = args.path or os.environ.get("PLAYBOOK_PATH") or "playbook.yaml"
    try:
        return load_playbook(path)
    except PlaybookError as error:
        for issue in error.issues:
            print(issue, file=sys.stderr)
        count = len(error.issues)
        print(f"{count} problem{'s' if count != 1 else ''} in {path}", file=sys.stderr)
        return None


def check_command(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return 1
    print(summary(loaded.playbook, now=datetime.now(UTC)))
    print(f"OK: {loaded.path} (version {loaded.version}, sha256 {loaded.short_hash})")
    return 0


def explain_command(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return 1
    pb = loaded.playbook
    try:
        if args.kind:
            print(explain_approval(pb, args.kind, args.audience))
        else:
            at = datetime.fromisoformat(args.at) if args.at else datetime.now(UTC)
            if at.tzinfo is None:
                at = at.replace(tzinfo=pb.tz)
            print(explain_escalation(pb, args.severity, at))
    except UnknownName as error:
        print(error, file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"--at: {error} (expected ISO 8601, like 2026-03-30T09:00 or 2026-03-30T07:00Z)", file=sys.stderr)
        return 1
    return 0


def render_command(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return 1
    document = render_markdown(loaded.playbook, args.audience)
    if args.output:
        Path(args.output).write_text(document, encoding="utf-8")
        print(f"Wrote the {args.audience} policy to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(document)
    return 0
