"""`audit verify`: recompute every leaf and the tree, and check every checkpoint against them.

It reads events as plain records in sequence order (from the database or an export), keeps only
the tree's compact range and one event of look-ahead, so memory does not grow with the log.
The first break is reported with its sequence number and how it broke; for an edited row the
stored leaf hash tells which way it was moved:

* changed    — the event's fields no longer hash to the leaf sealed for it;
* missing    — a sequence number is absent (a row deleted, or the rest renumbered over it);
* inserted   — a row with a sequence number the log never sealed, or the rest renumbered after it;
* reordered  — two neighbouring events swapped places;
* checkpoint root mismatch — the events do not hash to a checkpoint's root (history rewritten,
  stored hashes and all);
* bad signature — a checkpoint's signature does not verify with the trusted key;
* checkpoint missing — the log recorded (or a witness holds) a checkpoint the database lacks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.audit_log import canonical
from services.audit_log.merkle import CompactRange, leaf_hash
from services.audit_log.notes import NoteError, NoteVerifier, parse_checkpoint, split_note
from services.audit_log.sealer import CHECKPOINT_ACTION

CHANGED = "changed"
MISSING = "missing"
INSERTED = "inserted"
REORDERED = "reordered"
ROOT_MISMATCH = "checkpoint root mismatch"
BAD_SIGNATURE = "bad signature"
CHECKPOINT_MISSING = "checkpoint missing"


@dataclass(frozen=True)
class CheckpointRecord:
    size: int
    root_hash: str
    note: str
    at: str | None = None
    key_name: str | None = None
    key_id: str | None = None


@dataclass(frozen=True)
class Break:
    seq: int
    reason: str
    detail: str


@dataclass
class Report:
    events: int = 0
    first_seq: int = 0
    last_checkpoint: CheckpointRecord | None = None
    checkpoints: int = 0
    witnessed: int = 0
    broken: Break | None = None
    warnings: list[str] = field(default_factory=list)
    signer: str | None = None
    # The tree as verified, for callers that go on from it (an export's tail).
    tree: CompactRange | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.broken is None

    @property
    def summary(self) -> str:
        if self.broken is not None:
            b = self.broken
            return f"FAILED at seq {b.seq}: {b.reason} — {b.detail}"
        text = f"OK: {self.events} events"
        if self.first_seq:
            text += f" (seq {self.first_seq} onwards; older ones purged under a checkpoint)"
        cp = self.last_checkpoint
        if cp is None:
            text += ", no checkpoint yet"
        else:
            when = f" at {cp.at}" if cp.at else ""
            text += f", last checkpoint {cp.size}{when}"
            text += f" signed by {self.signer}" if self.signer else " (not signed)"
        if self.witnessed:
            text += f"; {self.witnessed} witnessed checkpoint(s) consistent"
        return text

    def lines(self) -> list[str]:
        return [self.summary, *(f"warning: {w}" for w in self.warnings)]


def leaf_of(record: dict[str, Any]) -> bytes:
    """The leaf hash `record`'s own fields give at its own seq."""
    return _leaf(record, record["seq"])


def _encode(record: dict[str, Any], seq: int) -> bytes:
    return canonical.encode(
        seq=seq, id=record["id"], at=record["at"], actor=record["actor"],
        action=record["action"], entity_type=record["entity_type"],
        entity_id=record["entity_id"], payload=record["payload"],
        request_id=record["request_id"])


def _leaf(record: dict[str, Any], seq: int) -> bytes:
    """The leaf of `record` at `seq`: from its stored text when it has it (the fast path),
    else from its parsed fields."""
    if "payload_text" in record:
        data = canonical.encode_stored(seq, record["id"], record["at"], record["actor"],
                                       record["action"], record["entity_type"],
                                       record["entity_id"], record["payload_text"],
                                       record["request_id"])
        if data is not None:
            return leaf_hash(data)
        return _parsed_leaf(record, seq)
    return leaf_hash(_encode(record, seq))


def _parsed_leaf(record: dict[str, Any], seq: int) -> bytes:
    """From the parsed payload: a stored text spelled otherwise (written before the database
    stored canonical JSON, or re-spelled by hand) still means the same event."""
    try:
        payload = json.loads(record["payload_text"])
        at = canonical.timestamp(_moment(record["at"]))
    except (TypeError, ValueError):
        return b""
    return leaf_hash(_encode({**record, "payload": payload, "at": at}, seq))


def _moment(text: str) -> datetime:
    """A stored time however it was spelled (the fast path's SQL appended a Z to it)."""
    at = datetime.fromisoformat(text.removesuffix("Z") if text.count("Z") == 1 and
                                ("+" in text or text.rfind("-") > 9) else text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _stored(record: dict[str, Any]) -> bytes | None:
    try:
        return bytes.fromhex(record.get("leaf_hash") or "")
    except ValueError:
        return None


def _checked_leaf(record: dict[str, Any], seq: int) -> tuple[bytes, bytes | None, bool]:
    """(leaf of `record` at `seq`, its stored leaf, whether they agree). A stored text that
    does not hash to the stored leaf is tried once more parsed: spelled otherwise, it may
    still be the same event."""
    leaf = _leaf(record, seq)
    stored = _stored(record)
    if stored is None:
        return leaf, None, True
    if not hmac.compare_digest(leaf, stored) and "payload_text" in record:
        leaf = _parsed_leaf(record, seq)
    return leaf, stored, hmac.compare_digest(leaf, stored)


class _Verifier:
    def __init__(self, *, checkpoints: Iterable[CheckpointRecord], witnessed: Iterable[str],
                 trusted: NoteVerifier | None, origin: str | None, prefix: CompactRange | None,
                 sealed_size: int | None, sealed_frontier: list[str] | None) -> None:
        self.tree = prefix.copy() if prefix is not None else CompactRange()
        self.report = Report(first_seq=self.tree.size)
        self.trusted = trusted
        self.origin = origin
        self.sealed_size = sealed_size
        self.sealed_frontier = sealed_frontier
        self.stored = {cp.size: cp for cp in checkpoints}
        self.report.checkpoints = len(self.stored)
        self.witness: dict[int, bytes] = {}
        self.recorded: dict[int, tuple[int, str]] = {}
        self.good_size = self.tree.size
        for note in witnessed:
            self._take_witness(note)
        self.due = sorted(s for s in {*self.stored, *self.witness} if s > self.tree.size)

    def fail(self, seq: int, reason: str, detail: str) -> None:
        if self.report.broken is None:
            self.report.broken = Break(seq, reason, detail)

    def _take_witness(self, note: str) -> None:
        try:
            body = self._checked_body(note)
            cp = parse_checkpoint(body)
        except NoteError as error:
            self.fail(0, BAD_SIGNATURE if error.reason == "bad signature" else "malformed",
                      f"a given checkpoint: {error}")
            return
        self.witness[cp.size] = cp.root

    def _checked_body(self, note: str) -> str:
        if self.trusted is not None:
            return self.trusted.verify(note)
        body, _ = split_note(note)
        return body

    def _check_checkpoint(self, size: int, root: bytes) -> None:
        cp = self.stored.get(size)
        if cp is not None:
            self._check_stored(cp, root)
        if size in self.witness:
            if not hmac.compare_digest(self.witness[size], root):
                self.fail(self.good_size, ROOT_MISMATCH,
                          f"the events do not hash to the root of the given checkpoint of size "
                          f"{size}: some event in seq {self.good_size}–{size - 1} was rewritten")
            elif cp is None:
                self.fail(size - 1, CHECKPOINT_MISSING,
                          f"the given checkpoint of size {size} is consistent with the events but "
                          "is not in the database: its row was removed")
            else:
                self.report.witnessed += 1
        if self.report.broken is None:
            self.good_size = size

    def _check_stored(self, cp: CheckpointRecord, root: bytes) -> None:
        try:
            body = self._checked_body(cp.note)
            parsed = parse_checkpoint(body)
        except NoteError as error:
            if error.reason == "bad signature" or error.reason == "unsigned":
                self.fail(self.good_size, BAD_SIGNATURE,
                          f"checkpoint {cp.size}: {error} with the trusted key "
                          f"{self.trusted.name if self.trusted else ''}".rstrip())
            else:
                self.fail(self.good_size, ROOT_MISMATCH, f"checkpoint {cp.size}: {error}")
            return
        if parsed.size != cp.size or parsed.root.hex() != cp.root_hash:
            self.fail(self.good_size, ROOT_MISMATCH,
                      f"checkpoint {cp.size}: its note states size {parsed.size} and another "
                      "root than its row")
            return
        if self.origin is not None and parsed.origin != self.origin:
            self.fail(self.good_size, ROOT_MISMATCH,
                      f"checkpoint {cp.size} names the log {parsed.origin!r}, not {self.origin!r}")
            return
        if not hmac.compare_digest(parsed.root, root):
            self.fail(self.good_size, ROOT_MISMATCH,
                      f"the events do not hash to checkpoint {cp.size}'s root: some event in "
                      f"seq {self.good_size}–{cp.size - 1} was rewritten after it was made, "
                      "stored hashes and all")
            return
        self.report.last_checkpoint = cp
        _, signatures = split_note(cp.note)
        if self.trusted is not None:
            self.report.signer = f"{self.trusted.name} (key {self.trusted.key_id.hex()})"
        elif signatures:
            self.report.signer = (f"{signatures[0].name} (key {signatures[0].key_id.hex()}, "
                                  "signature not checked: no public key given)")
        else:
            self.report.signer = None

    def run(self, records: Iterable[dict[str, Any]]) -> Report:
        self._consume(records)
        return self._close()

    def run_encoded(self, chunks: Iterable[Sequence[Any]],
                    record_by_id: Callable[[int], dict[str, Any] | None],
                    records_from: Callable[[int], Iterable[dict[str, Any]]]) -> Report:
        """The same checks over (seq, id, canonical bytes, stored leaf, checkpoint payload)
        rows (store.encoded_chunks): an event in its place whose bytes hash to its stored leaf
        costs one hash and one tree step; every other row — a checkpoint's event, the last
        event under a checkpoint, a field spelled otherwise, anything broken — goes through the
        general path, from the full record or, once something is wrong, from that row on."""
        sha = hashlib.sha256
        sealed = self.sealed_size
        for chunk in chunks:
            pending: list[bytes] = []
            expected = self.tree.size
            due = self.due[0] if self.due else -1
            for seq, event_id, data, stored, checkpoint_payload in chunk:
                if (seq == expected and data is not None and checkpoint_payload is None
                        and seq + 1 != due and (sealed is None or seq < sealed)):
                    leaf = sha(b"\x00" + data).digest()
                    if leaf.hex() == stored:
                        pending.append(leaf)
                        expected += 1
                        continue
                self._take(pending)
                pending = []
                record = record_by_id(event_id) if seq == expected else None
                if record is None or record["seq"] != seq or not _checked_leaf(record, seq)[2]:
                    self._consume(records_from(min(seq, expected)))
                    return self._close()
                self._event(record, None)
                if self.report.broken is not None:
                    return self._close()
                expected = self.tree.size
                due = self.due[0] if self.due else -1
            self._take(pending)
        return self._close()

    def _take(self, leaves: list[bytes]) -> None:
        self.tree.extend(leaves)
        self.report.events += len(leaves)

    def _consume(self, records: Iterable[dict[str, Any]]) -> None:
        it = iter(records)
        current = next(it, None)
        while current is not None and self.report.broken is None:
            following = next(it, None)
            self._event(current, following)
            current = following

    def _close(self) -> Report:
        if self.report.broken is None:
            self._finish()
        if self.report.broken is None and self.trusted is None and any(
                not split_note(cp.note)[1] for cp in self.stored.values()):
            self.report.warnings.append("checkpoints are unsigned: anyone with database access "
                                        "could rewrite them (set AUDIT_SIGNING_KEY)")
        self.report.tree = self.tree
        return self.report

    def _event(self, record: dict[str, Any], following: dict[str, Any] | None) -> None:
        expected = self.tree.size
        seq = record["seq"]
        if seq < expected:
            self.fail(seq, INSERTED, f"a second event claims seq {seq} (id {record['id']})")
            return
        if seq > expected:
            gap = f"seq {expected}" if seq == expected + 1 else f"seqs {expected}–{seq - 1}"
            self.fail(expected, MISSING, f"{gap} absent: the log goes on at seq {seq}")
            return
        if self.sealed_size is not None and seq >= self.sealed_size:
            self.fail(seq, INSERTED, f"seq {seq} is beyond what the sequencer sealed "
                      f"(seq {self.sealed_size - 1} is its last)")
            return
        leaf, stored, matches = _checked_leaf(record, seq)
        if not matches:
            assert stored is not None
            self._diagnose(record, following, seq, stored)
            return
        self.tree.append(leaf)
        self.report.events += 1
        if record["action"] == CHECKPOINT_ACTION:
            payload = (record["payload"] if "payload" in record
                       else json.loads(record["payload_text"])) or {}
            if isinstance(payload.get("size"), int):
                self.recorded[payload["size"]] = (seq, str(payload.get("root_hash", "")))
        while self.due and self.due[0] == self.tree.size:
            self._check_checkpoint(self.due.pop(0), self.tree.root())

    def _diagnose(self, record: dict[str, Any], following: dict[str, Any] | None, seq: int,
                  stored: bytes) -> None:
        if hmac.compare_digest(_leaf(record, seq + 1), stored):
            nxt = _stored(following) if following is not None else None
            if following is not None and nxt is not None and hmac.compare_digest(
                    _leaf(following, seq), nxt):
                self.fail(seq, REORDERED, f"the events sealed at seq {seq} and {seq + 1} swapped "
                          f"places (ids {following['id']} and {record['id']})")
            else:
                self.fail(seq, MISSING, f"the event sealed at seq {seq} is gone and the events "
                          "after it were renumbered down")
            return
        if seq > 0 and hmac.compare_digest(_leaf(record, seq - 1), stored):
            self.fail(seq - 1, INSERTED, f"an event was inserted at seq {seq - 1} and the events "
                      "after it renumbered up")
            return
        self.fail(seq, CHANGED, f"event id {record['id']} ({record['action']}) no longer hashes "
                  "to the leaf sealed for it: a field was edited")

    def _finish(self) -> None:
        size = self.tree.size
        if self.sealed_size is not None:
            if size < self.sealed_size:
                self.fail(size, MISSING, f"the log was sealed up to seq {self.sealed_size - 1} "
                          f"but ends at seq {size - 1}: events at the end were removed")
                return
            if size > self.sealed_size:
                self.fail(self.sealed_size, INSERTED, f"events from seq {self.sealed_size} on "
                          "were never sealed by the sequencer")
                return
            if self.sealed_frontier is not None and self.sealed_frontier != self.tree.to_hex():
                self.fail(max(size - 1, 0), ROOT_MISMATCH,
                          "the sequencer's stored tree does not match the events")
                return
        if self.due:
            missing = self.due[0]
            self.fail(size, MISSING, f"a checkpoint covers {missing} events but only {size} "
                      "are in the log: events at the end were removed")
            return
        for cp_size, (seq, root) in sorted(self.recorded.items()):
            cp = self.stored.get(cp_size)
            if cp is None:
                self.fail(seq, CHECKPOINT_MISSING, f"the log recorded a checkpoint of size "
                          f"{cp_size} at seq {seq}, but it is not in the database")
                return
            if cp.root_hash != root:
                self.fail(seq, ROOT_MISMATCH, f"checkpoint {cp_size} has another root than the "
                          f"log recorded for it at seq {seq}")
                return


def verify(records: Iterable[dict[str, Any]], *, checkpoints: Iterable[CheckpointRecord],
           witnessed: Iterable[str] = (), trusted: NoteVerifier | None = None,
           origin: str | None = None, prefix: CompactRange | None = None,
           sealed_size: int | None = None, sealed_frontier: list[str] | None = None) -> Report:
    """Check `records` (sealed events in seq order, as `query.event_record` spells them)."""
    return _Verifier(checkpoints=checkpoints, witnessed=witnessed, trusted=trusted,
                     origin=origin, prefix=prefix, sealed_size=sealed_size,
                     sealed_frontier=sealed_frontier).run(records)


def verify_encoded(chunks: Iterable[Sequence[Any]], *,
                   record_by_id: Callable[[int], dict[str, Any] | None],
                   records_from: Callable[[int], Iterable[dict[str, Any]]],
                   checkpoints: Iterable[CheckpointRecord], witnessed: Iterable[str] = (),
                   trusted: NoteVerifier | None = None, origin: str | None = None,
                   prefix: CompactRange | None = None, sealed_size: int | None = None,
                   sealed_frontier: list[str] | None = None) -> Report:
    """`verify` over the database's encoded rows (store.encoded_chunks); `record_by_id` and
    `records_from(seq)` give full records (store.sealed_row, store.sealed_rows) for the rows
    the fast path does not settle."""
    return _Verifier(checkpoints=checkpoints, witnessed=witnessed, trusted=trusted,
                     origin=origin, prefix=prefix, sealed_size=sealed_size,
                     sealed_frontier=sealed_frontier).run_encoded(chunks, record_by_id,
                                                                  records_from)


def chunked(rows: Iterator[Any]) -> Iterator[dict[str, Any]]:
    for row in rows:
        yield dict(row._mapping)
