"""`audit export`: sealed events to a directory that verifies on its own.

The directory holds `events.jsonl` (or `events.csv`), `checkpoints.jsonl` and `manifest.json`.
An export of a time range is a contiguous run of sequence numbers [start, end); the manifest
carries what the tree needs around it: the compact range of everything before `start` and, for
the first checkpoint at or after `end`, the perfect subtrees covering [end, that size). So
`audit verify --export DIR` recomputes every leaf and every checkpoint root from the files alone.
An export narrowed by action, actor or entity is no longer contiguous: its leaves are checked,
its tree is not (the manifest says `filtered`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from models.audit import AuditCheckpoint, AuditEvent
from services.audit_log import store
from services.audit_log.merkle import CompactRange, hash_ranges, node_hash
from services.audit_log.query import AuditFilter
from services.audit_log.notes import NoteError, parse_checkpoint, split_note
from services.audit_log.verify import (
    BAD_SIGNATURE,
    CHANGED,
    ROOT_MISMATCH,
    Break,
    CheckpointRecord,
    Report,
    leaf_of,
    verify,
)

FORMAT = "countersign-audit-export/1"
CSV_COLUMNS = ("seq", "id", "at", "actor", "action", "entity_type", "entity_id", "payload",
               "request_id", "leaf_hash")
EVENTS = {"jsonl": "events.jsonl", "csv": "events.csv"}


class ExportError(Exception):
    """The export cannot be written or read; the message says why."""


def aligned_ranges(start: int, end: int) -> list[tuple[int, int]]:
    """The perfect subtrees covering [start, end), left to right, each as large as its
    alignment allows: appended to a compact range of size `start` they make one of `end`."""
    out = []
    while start < end:
        width = start & -start if start else 1 << (end.bit_length() - 1)
        while start + width > end:
            width >>= 1
        out.append((start, start + width))
        start += width
    return out


def root_extended(tree: CompactRange, tail: list[tuple[bytes, int]]) -> bytes:
    """The root of `tree` followed by the perfect subtrees `tail` ((hash, width), as
    aligned_ranges(tree.size, …) lists them)."""
    extended, position = tree.copy(), tree.size
    for node, width in tail:
        extended = append_subtree(extended, node, (position, position + width))
        position += width
    return extended.root()


def _seq_range(conn: Connection, flt: AuditFilter) -> tuple[int, int]:
    conds = [AuditEvent.seq.is_not(None)]
    if flt.since is not None:
        conds.append(AuditEvent.at >= flt.since)
    if flt.until is not None:
        conds.append(AuditEvent.at < flt.until)
    lo, hi = conn.execute(select(func.min(AuditEvent.seq), func.max(AuditEvent.seq))
                          .where(*conds)).one()
    return (0, 0) if lo is None else (lo, hi + 1)


def _matches(record: dict[str, Any], flt: AuditFilter) -> bool:
    if flt.actor is not None and record["actor"] != flt.actor:
        return False
    if flt.entity_type is not None and record["entity_type"] != flt.entity_type:
        return False
    if flt.entity_id is not None and record["entity_id"] != flt.entity_id:
        return False
    if flt.actions:
        return any(record["action"] == a or (a.endswith(".*") and record["action"].startswith(a[:-1]))
                   or a == "*" for a in flt.actions)
    return True


@dataclass(frozen=True)
class ExportSummary:
    directory: Path
    events: int
    start: int
    end: int
    checkpoints: int
    filtered: bool


def export(conn: Connection, directory: Path, flt: AuditFilter, *, fmt: str = "jsonl",
           origin: str) -> ExportSummary:
    """Stream the events of `flt` into `directory` (created; must be empty)."""
    if fmt not in EVENTS:
        raise ExportError(f"format {fmt!r} is not one of {', '.join(EVENTS)}")
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise ExportError(f"{directory} is not empty; export into a new directory")
    filtered = bool(flt.actions or flt.actor or flt.entity_type or flt.entity_id)
    start, end = _seq_range(conn, flt)
    prefix = store.purged_prefix(conn)
    base = prefix.size if prefix is not None else 0
    # The compact range before `start` and the tail subtrees after `end`, from stored leaf
    # hashes; verify recomputes the leaves in between from the events themselves.
    row = conn.execute(select(AuditCheckpoint.__table__)
                       .where(AuditCheckpoint.size >= max(end, 1))
                       .order_by(AuditCheckpoint.size).limit(1)).first() if end else None
    cover = store.checkpoint_record(row) if row is not None else None
    head = aligned_ranges(0, start) if start else []
    tail = aligned_ranges(end, cover.size) if cover is not None else []
    wanted = [r for r in head if r[0] >= base] + tail
    hashes = hash_ranges(wanted, store.leaf_hashes(conn, start=base), prefix=prefix) if wanted else {}
    before = CompactRange()
    for r in head:
        before = append_subtree(before, hashes[r] if r in hashes else prefix_node(prefix, r), r)
    count = 0
    with (directory / EVENTS[fmt]).open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, CSV_COLUMNS) if fmt == "csv" else None
        if writer is not None:
            writer.writeheader()
        for record in (store.sealed_records(conn, after_seq=start - 1, before_seq=end)
                       if end else iter(())):
            if filtered and not _matches(record, flt):
                continue
            if writer is not None:
                writer.writerow({**record, "payload": json.dumps(record["payload"],
                                                                sort_keys=True)})
            else:
                out.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
            count += 1
    cps = [cp for cp in store.checkpoints(conn) if start < cp.size <= end]
    if cover is not None and cover.size > end:
        cps.append(cover)
    with (directory / "checkpoints.jsonl").open("w", encoding="utf-8") as out:
        for cp in cps:
            out.write(json.dumps(asdict(cp), sort_keys=True) + "\n")
    manifest = {
        "format": FORMAT, "origin": origin, "events_file": EVENTS[fmt], "start_seq": start,
        "end_seq": end, "events": count, "filtered": filtered,
        "filter": {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                   for k, v in flt.__dict__.items() if v not in (None, ())},
        "prefix": {"size": before.size, "nodes": before.to_hex()},
        "tail": {"checkpoint_size": cover.size if cover is not None else None,
                 "nodes": [[hashes[r].hex(), r[1] - r[0]] for r in tail]},
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                             encoding="utf-8")
    return ExportSummary(directory, count, start, end, len(cps), filtered)


def prefix_node(prefix: CompactRange | None, r: tuple[int, int]) -> bytes:
    """A subtree wholly inside the purged prefix: it must be one of the prefix's own nodes
    (a compact range's nodes are the aligned ranges of its size, largest first)."""
    if prefix is not None:
        node = dict(zip(aligned_ranges(0, prefix.size), prefix.nodes, strict=True)).get(r)
        if node is not None:
            return node
    raise ExportError(f"events {r[0]}–{r[1] - 1} were purged; export from seq "
                      f"{prefix.size if prefix else 0} on")


def append_subtree(tree: CompactRange, node: bytes, r: tuple[int, int]) -> CompactRange:
    if r[1] - r[0] == 1:
        tree.append(node)
        return tree
    widths = [1 << b for b in range(tree.size.bit_length() - 1, -1, -1) if tree.size >> b & 1]
    stack = list(zip(tree.nodes, widths, strict=True)) + [(node, r[1] - r[0])]
    while len(stack) > 1 and stack[-1][1] == stack[-2][1]:
        (left, w), (right, _) = stack[-2], stack[-1]
        stack[-2:] = [(node_hash(left, right), 2 * w)]
    return CompactRange(r[1], [n for n, _ in stack])


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as f:
        if path.suffix == ".csv":
            for row in csv.DictReader(f):
                yield {**row, "seq": int(row["seq"]), "id": int(row["id"]),
                       "payload": json.loads(row["payload"]),
                       "request_id": row["request_id"] or None}
        else:
            for line in f:
                if line.strip():
                    yield json.loads(line)


def verify_export(directory: Path, *, trusted: Any = None,
                  witnessed: tuple[str, ...] = ()) -> Report:
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        cps = [CheckpointRecord(**json.loads(line)) for line in
               (directory / "checkpoints.jsonl").read_text(encoding="utf-8").splitlines() if line]
        events = directory / manifest["events_file"]
        prefix = CompactRange.from_hex(manifest["prefix"]["size"], manifest["prefix"]["nodes"])
        tail_size = manifest["tail"]["checkpoint_size"]
        tail = [(bytes.fromhex(h), int(w)) for h, w in manifest["tail"]["nodes"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ExportError(f"{directory} is not a readable export: {error}") from None
    if manifest.get("format") != FORMAT:
        raise ExportError(f"{directory}: unknown export format {manifest.get('format')!r}")
    if manifest["filtered"]:
        return _verify_leaves(_records(events))
    end = manifest["end_seq"]
    report = verify(_records(events), checkpoints=[cp for cp in cps if cp.size <= end],
                    witnessed=witnessed, trusted=trusted, origin=manifest["origin"],
                    prefix=prefix if prefix.size else None,
                    sealed_size=end if manifest["start_seq"] < end else None)
    cover = next((cp for cp in cps if cp.size == tail_size), None)
    if report.ok and cover is not None and cover.size > end and report.tree is not None:
        _check_tail(report, cover, root_extended(report.tree, tail), trusted)
    return report


def _verify_leaves(records: Iterator[dict[str, Any]]) -> Report:
    """A filtered export: the events between are not all here, so no root can be recomputed;
    each event's leaf is."""
    report = Report()
    for record in records:
        if leaf_of(record).hex() != record.get("leaf_hash"):
            report.broken = Break(record["seq"], CHANGED, f"event id {record['id']} no longer "
                                  "hashes to the leaf sealed for it: a field was edited")
            return report
        report.events += 1
    report.warnings.append("filtered export: each event's leaf hash was checked, the tree was "
                           "not (export without action/actor/entity filters for that)")
    return report


def _check_tail(report: Report, cover: CheckpointRecord, root: bytes, trusted: Any) -> None:
    try:
        body = trusted.verify(cover.note) if trusted is not None else split_note(cover.note)[0]
        stated = parse_checkpoint(body)
    except NoteError as error:
        report.broken = Break(cover.size, BAD_SIGNATURE, f"checkpoint {cover.size}: {error}")
        return
    if stated.root != root or stated.size != cover.size:
        report.broken = Break(max(cover.size - 1, 0), ROOT_MISMATCH,
                              f"the exported events do not lead to checkpoint {cover.size}'s root")
        return
    report.last_checkpoint = cover
