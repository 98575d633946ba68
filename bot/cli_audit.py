"""`countersign audit …`: verify, prove, check proofs, export, purge, and make a signing key.

Every command but `purge` only reads, and works with the bot stopped. Exit codes: 0 the log (or
proof) holds, 1 it does not (the first break is printed), 2 it could not be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.audit_log import export, proofs, purge
from services.audit_log.keys import SigningKeyError, keygen, load_verifier
from services.audit_log.notes import NoteError, NoteVerifier
from services.audit_log.query import AuditFilter, FilterError, parse_entity, parse_since
from services.audit_log.verify import Report

OK, BROKEN, UNREADABLE = 0, 1, 2


def add_command(subparsers: argparse._SubParsersAction) -> None:
    audit = subparsers.add_parser("audit", help="verify, prove and export the audit log")
    sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")

    v = sub.add_parser("verify", help="recompute every leaf and the tree; check every checkpoint")
    v.add_argument("--public-key", help="the log's verifier key (name+id+key, a file holding "
                   "it, or a PEM public key); default: derived from AUDIT_SIGNING_KEY")
    v.add_argument("--checkpoint", nargs="+", type=Path, default=[], metavar="FILE",
                   help="checkpoints saved elsewhere (Slack, an e-mail, an export) to hold the "
                        "log to")
    v.add_argument("--export", type=Path, metavar="DIR",
                   help="verify an export directory instead of the database")
    v.set_defaults(func=verify_command)

    p = sub.add_parser("prove", help="print an event with its inclusion proof (JSON)")
    p.add_argument("seq", type=int)
    p.set_defaults(func=prove_command)

    c = sub.add_parser("check-proof", help="check a proof document offline, without a database")
    c.add_argument("file", type=Path)
    c.add_argument("--public-key", required=True)
    c.set_defaults(func=check_proof_command)

    k = sub.add_parser("consistency", help="print (and check) a consistency proof between "
                       "two checkpoints")
    k.add_argument("old", type=int, help="the older checkpoint's size")
    k.add_argument("new", type=int, help="the newer checkpoint's size")
    k.set_defaults(func=consistency_command)

    e = sub.add_parser("export", help="stream sealed events to a directory that verifies alone")
    e.add_argument("--since", help="from this date/time or duration back (7d)")
    e.add_argument("--until", help="up to (not including) this date/time")
    e.add_argument("--action", action="append", default=[], help="action or prefix (approval.*)")
    e.add_argument("--actor", help="a Slack user id or system actor")
    e.add_argument("--entity", help="like request:42")
    e.add_argument("--format", choices=tuple(export.EVENTS), default="jsonl")
    e.add_argument("--output", "-o", type=Path, required=True, help="a new, empty directory")
    e.set_defaults(func=export_command)

    g = sub.add_parser("purge", help="remove events older than DATE that a signed checkpoint "
                       "covers (AUDIT_RETENTION must allow it)")
    g.add_argument("--before", required=True, help="a date, e.g. 2026-01-01 (UTC)")
    g.set_defaults(func=purge_command)

    n = sub.add_parser("keygen", help="print a new Ed25519 signing key and its public key line")
    n.add_argument("--name", help="the key's name (default: AUDIT_LOG_ORIGIN)")
    n.set_defaults(func=keygen_command)


def _origin() -> str:
    from bot.settings import load_settings
    return load_settings().audit_log_origin


def _fail(message: str, code: int = UNREADABLE) -> int:
    print(f"countersign audit: {message}", file=sys.stderr)
    return code


def _verifier(text: str | None, settings: Any) -> NoteVerifier | None:
    if text is not None:
        return load_verifier(text, name=settings.audit_log_origin)
    from bot.audit_job import signer_of
    signer = signer_of(settings)
    return signer.verifier() if signer is not None else None


def _witnessed(files: list[Path]) -> tuple[str, ...]:
    notes = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        if text.lstrip().startswith("{"):  # as /api/v1/audit/checkpoint answers
            text = json.loads(text)["note"]
        notes.append(text)
    return tuple(notes)


def _print_report(report: Report, *, signed: bool) -> int:
    if not signed and not any("public key" in w for w in report.warnings):
        report.warnings.append("signatures not checked: no public key given (--public-key)")
    for line in report.lines():
        print(line)
    return OK if report.ok else BROKEN


def verify_command(args: argparse.Namespace) -> int:
    from bot.cli import _settings
    from bot.audit_job import verify_engine
    from bot.db import make_engine

    settings = _settings()
    try:
        verifier = _verifier(args.public_key, settings)
        witnessed = _witnessed(args.checkpoint)
    except (SigningKeyError, NoteError, OSError, ValueError, KeyError) as error:
        return _fail(str(error))
    if args.export is not None:
        try:
            report = export.verify_export(args.export, trusted=verifier, witnessed=witnessed)
        except export.ExportError as error:
            return _fail(str(error))
        return _print_report(report, signed=verifier is not None)
    engine = make_engine(settings.database_url)
    try:
        report = verify_engine(engine, witnessed=witnessed, trusted=verifier,
                               origin=settings.audit_log_origin)
    finally:
        engine.dispose()
    return _print_report(report, signed=verifier is not None)


def _print_document(read: Any) -> int:
    """Print the JSON document `read(conn)` makes from one snapshot of the log."""
    from bot.cli import _settings
    from bot.db import make_engine, snapshot

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with snapshot(engine) as conn:
            doc = read(conn, settings)
    except proofs.ProofError as error:
        return _fail(str(error), BROKEN)
    finally:
        engine.dispose()
    print(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False))
    return OK


def prove_command(args: argparse.Namespace) -> int:
    return _print_document(lambda conn, _settings: proofs.prove(conn, args.seq))


def check_proof_command(args: argparse.Namespace) -> int:
    try:
        doc = json.loads(args.file.read_text(encoding="utf-8"))
        verifier = load_verifier(args.public_key, name=_origin())
    except (OSError, ValueError, SigningKeyError, NoteError) as error:
        return _fail(str(error))
    try:
        check = proofs.check_consistency if "consistency_proof" in doc else proofs.check_proof
        print(check(doc, verifier))
    except proofs.ProofError as error:
        print(f"FAILED: {error}")
        return BROKEN
    return OK


def consistency_command(args: argparse.Namespace) -> int:
    def read(conn: Any, settings: Any) -> dict[str, Any]:
        doc = proofs.consistency(conn, args.old, args.new)
        proofs.check_consistency(doc, _verifier(None, settings))  # never print a bad one
        return doc

    return _print_document(read)


def _filter(args: argparse.Namespace) -> AuditFilter:
    now = datetime.now(UTC)
    entity = parse_entity(args.entity) if args.entity else (None, None)
    actions = tuple(a for text in args.action for a in text.split(",") if a)
    from services.audit_log.query import action_condition
    for a in actions:
        action_condition(a)
    return AuditFilter(since=parse_since(args.since, now=now) if args.since else None,
                       until=parse_since(args.until, now=now) if args.until else None,
                       actions=actions, actor=args.actor, entity_type=entity[0],
                       entity_id=entity[1])


def export_command(args: argparse.Namespace) -> int:
    from bot.cli import _settings
    from bot.db import make_engine, snapshot

    settings = _settings()
    try:
        flt = _filter(args)
    except FilterError as error:
        return _fail(str(error))
    engine = make_engine(settings.database_url)
    try:
        with snapshot(engine) as conn:
            summary = export.export(conn, args.output, flt, fmt=args.format,
                                    origin=settings.audit_log_origin)
    except export.ExportError as error:
        return _fail(str(error))
    finally:
        engine.dispose()
    note = " (filtered: leaves verify, the tree does not)" if summary.filtered else ""
    print(f"wrote {summary.events} events (seq {summary.start}–{max(summary.end - 1, 0)}) and "
          f"{summary.checkpoints} checkpoints to {summary.directory}{note}; check it with "
          f"countersign audit verify --export {summary.directory}", file=sys.stderr)
    return OK


def purge_command(args: argparse.Namespace) -> int:
    from bot.cli import _settings
    from bot.db import Database, make_engine

    settings = _settings()
    try:
        before = datetime.fromisoformat(args.before)
    except ValueError:
        return _fail(f"--before {args.before!r} is not a date like 2026-01-01")
    before = before if before.tzinfo else before.replace(tzinfo=UTC)
    db = Database(make_engine(settings.database_url))
    try:
        with db.session() as s:
            done = purge.purge(s, before=before, now=datetime.now(UTC),
                               retention=settings.audit_retention, actor="cli")
    except purge.PurgeRefused as error:
        return _fail(f"nothing purged: {error}", BROKEN)
    finally:
        db.dispose()
    print(f"purged {done.removed} events below seq {done.below_seq} (covered by signed "
          f"checkpoint {done.checkpoint}); the log still verifies from seq {done.below_seq}")
    return OK


def keygen_command(args: argparse.Namespace) -> int:
    from bot.cli import _settings

    name = args.name or _settings().audit_log_origin
    private_pem, vkey = keygen(name)
    # The private key alone on standard output, so `keygen > key.pem` makes a loadable file.
    sys.stdout.write(private_pem)
    print(f"public key (publish it, e.g. in the playbook repository):\n{vkey}\n"
          "keep the private key secret: set AUDIT_SIGNING_KEY to this PEM or a file holding it",
          file=sys.stderr)
    return OK
