"""The RFC 6962 / RFC 9162 Merkle tree over the log's leaf hashes (SHA-256), with nothing else in
it: no database, no encoding of events. The log keeps its tree as a compact range; proofs are
computed by streaming leaf hashes once, never by holding the whole tree.

Ranges are half-open leaf intervals [a, b). Every node of an RFC 6962 tree covers such a range,
and its hash is MTH(D[a:b]) (RFC 9162 §2.1.1).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Range = tuple[int, int]


class ProofUnavailable(LookupError):
    """The leaves a proof needs are no longer (or not yet) in the log: purged below the retained
    prefix, or beyond the leaves that were streamed."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """RFC 9162's k: the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_hash(value: object, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != HASH_SIZE:
        raise ValueError(f"{what} must be {HASH_SIZE} bytes")
    return bytes(value)


class CompactRange:
    """The roots of the perfect subtrees covering leaves [0, size), left to right, largest first
    (one per set bit of size): all a log must keep to append and to compute its root."""

    __slots__ = ("_size", "_nodes")

    def __init__(self, size: int = 0, nodes: Sequence[bytes] | None = None) -> None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"a compact range's size is a non-negative integer, not {size!r}")
        nodes = list(nodes or [])
        if len(nodes) != size.bit_count():
            raise ValueError(f"a compact range of size {size} has {size.bit_count()} nodes, "
                             f"not {len(nodes)}")
        self._size = size
        self._nodes = [_check_hash(n, "every compact range node") for n in nodes]

    @property
    def size(self) -> int:
        return self._size

    @property
    def nodes(self) -> list[bytes]:
        return list(self._nodes)

    def append(self, leaf_hash: bytes) -> None:
        """Add one leaf; amortised O(1) hashes (a carry ripples as in binary increment)."""
        self._push(0, _check_hash(leaf_hash, "a leaf hash"))

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """`append` for each, inlined: verify feeds a million leaves through here, and the
        per-leaf call and checks cost more than the hashing."""
        nodes, size, sha = self._nodes, self._size, hashlib.sha256
        try:
            for h in leaf_hashes:
                if type(h) is not bytes or len(h) != HASH_SIZE:
                    h = _check_hash(h, "a leaf hash")
                carry = size
                while carry & 1:
                    h = sha(b"\x01" + nodes.pop() + h).digest()
                    carry >>= 1
                nodes.append(h)
                size += 1
        finally:
            self._size = size

    def _push(self, height: int, subtree: bytes) -> None:
        """Add the hash of a perfect subtree of 2**height leaves. The range must end on a multiple
        of 2**height, so the subtree is aligned exactly as in the whole tree."""
        width = 1 << height
        if self._size % width:
            raise ValueError(f"a subtree of {width} leaves cannot follow {self._size} leaves")
        self._nodes.append(subtree)
        carry = self._size >> height
        while carry & 1:
            right = self._nodes.pop()
            self._nodes[-1] = node_hash(self._nodes[-1], right)
            carry >>= 1
        self._size += width

    def root(self) -> bytes:
        """MTH(D[0:size]): the subtrees folded right to left (RFC 9162 §2.1.1)."""
        if not self._nodes:
            return EMPTY_ROOT
        h = self._nodes[-1]
        for left in reversed(self._nodes[:-1]):
            h = node_hash(left, h)
        return h

    def to_hex(self) -> list[str]:
        return [n.hex() for n in self._nodes]

    @classmethod
    def from_hex(cls, size: int, nodes: Sequence[str]) -> CompactRange:
        decoded = []
        for i, text in enumerate(nodes):
            try:
                decoded.append(bytes.fromhex(text))
            except (TypeError, ValueError):
                raise ValueError(f"compact range node {i} is not hex") from None
        return cls(size, decoded)

    def copy(self) -> CompactRange:
        return CompactRange(self._size, self._nodes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CompactRange):
            return NotImplemented
        return self._size == other._size and self._nodes == other._nodes

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, nodes={self.to_hex()!r})"


def _prefix_subtrees(size: int) -> list[tuple[int, int, int]]:
    """(start, end, height) of each node of the compact range [0, size), left to right."""
    out = []
    start = 0
    for height in range(size.bit_length() - 1, -1, -1):
        if size >> height & 1:
            out.append((start, start + (1 << height), height))
            start += 1 << height
    return out


def _check_size(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, not {value!r}")
    return value


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose hashes make PATH(index, D[0:size]) (RFC 9162 §2.1.3.1), bottom-up."""
    _check_size(index, "the leaf index")
    _check_size(size, "the tree size")
    if index >= size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    out: list[Range] = []
    lo, hi = 0, size
    # Walk down from the root; each step's sibling goes before the ones above it.
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            out.append((mid, hi))
            hi = mid
        else:
            out.append((lo, mid))
            lo = mid
    out.reverse()
    return out


def consistency_ranges(old_size: int, new_size: int) -> list[Range]:
    """The ranges whose hashes make PROOF(old_size, D[0:new_size]) = SUBPROOF(m, D[n], true)
    (RFC 9162 §2.1.4.1), in proof order. The RFC defines it for 0 < m < n; for m == n, and for
    the empty old tree (a prefix of every tree), the proof is empty."""
    _check_size(old_size, "the old tree size")
    _check_size(new_size, "the new tree size")
    if old_size > new_size:
        raise ValueError(f"a tree of {old_size} leaves cannot grow into one of {new_size}")
    if old_size in (0, new_size):
        return []
    out: list[Range] = []
    lo, hi, complete = 0, new_size, True  # complete: RFC's b, "the old tree is this subtree"
    while old_size != hi:
        mid = lo + _split(hi - lo)
        if old_size <= mid:
            out.append((mid, hi))
            hi = mid
        else:
            out.append((lo, mid))
            lo, complete = mid, False
    if not complete:
        out.append((lo, hi))
    out.reverse()
    return out


class _Subtree:
    """The streaming hash of one range: a compact range relative to its start."""

    __slots__ = ("start", "end", "acc")

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end
        self.acc = CompactRange()

    @property
    def next_leaf(self) -> int:
        return self.start + self.acc.size


def hash_ranges(ranges: Iterable[Range], leaves: Iterable[tuple[int, bytes]], *,
                prefix: CompactRange | None = None) -> dict[Range, bytes]:
    """MTH(D[a:b]) for each of the disjoint `ranges` (tree nodes, as the two functions above
    give), from one pass over `leaves`: (index, leaf hash) pairs in increasing index order. The
    stream may skip leaves no range needs, and is abandoned once the last range is complete.

    `prefix` is the compact range of [0, prefix.size) when the log's oldest leaves were purged;
    the stream then starts at prefix.size or later.

    Why a proof of a retained leaf never needs a purged one. Every node of the tree, and every
    prefix node, covers an aligned interval [a, a + 2**h) (a right-edge node is such an interval
    cut at the tree size), and aligned intervals either nest or are disjoint. The prefix nodes
    are the largest aligned intervals inside [0, P). So a range that meets the prefix either
    contains every prefix node it meets — it is a union of prefix nodes and then leaves ≥ P — or
    lies strictly inside one prefix node, whose purged leaves it would need. The second cannot
    happen for the proofs we serve: every range of PATH(i, ·) lies to the right of leaf i or is
    a sibling of a node holding i, and every range of PROOF(m, ·) starts at m or later or is a
    sibling of a node holding leaf m (m < n). A prefix node strictly holding such a sibling
    would hold its parent too, and with it leaf i (or m) ≥ P: impossible. So inclusion proofs of
    leaves ≥ P and consistency proofs from sizes ≥ P are always available; anything else raises
    ProofUnavailable if it needs a purged leaf.
    """
    wanted = sorted(set(ranges))
    start_at = 0 if prefix is None else prefix.size
    subtrees = []
    previous_end = 0
    for a, b in wanted:
        if not (isinstance(a, int) and isinstance(b, int) and 0 <= a < b):
            raise ValueError(f"range [{a}, {b}) is not a non-empty range of leaves")
        if a < previous_end:
            raise ValueError(f"range [{a}, {b}) overlaps the range before it")
        previous_end = b
        subtree = _Subtree(a, b)
        if a < start_at:
            _seed_from_prefix(subtree, prefix)  # type: ignore[arg-type]
        subtrees.append(subtree)

    pending = [s for s in subtrees if s.next_leaf < s.end]
    position = 0  # the first pending subtree that may still take leaves
    last_index = -1
    if pending:
        for index, h in leaves:
            if not isinstance(index, int) or index < 0:
                raise ValueError(f"leaf index {index!r} is not a non-negative integer")
            if index <= last_index:
                raise ValueError(f"leaf {index} came after leaf {last_index}: the stream must "
                                 "be in increasing index order")
            if index < start_at:
                raise ValueError(f"leaf {index} was streamed, but the prefix says leaves below "
                                 f"{start_at} were purged")
            last_index = index
            current = pending[position]
            if index < current.start:
                continue
            if index != current.next_leaf:
                raise ValueError(f"leaf {current.next_leaf} is missing from the stream "
                                 f"(leaf {index} came instead)")
            current.acc.append(h)
            if current.next_leaf == current.end:
                position += 1
                if position == len(pending):
                    break
        for subtree in pending[position:]:
            _missing(subtree)
    return {(s.start, s.end): s.acc.root() for s in subtrees}


def _missing(subtree: _Subtree) -> None:
    if subtree.next_leaf < subtree.end:
        raise ProofUnavailable(f"the leaves stop before {subtree.next_leaf}, but the proof needs "
                               f"leaves up to {subtree.end - 1}")


def _seed_from_prefix(subtree: _Subtree, prefix: CompactRange) -> None:
    """Start a range that begins below the purged prefix from the prefix nodes it is made of."""
    a, b = subtree.start, subtree.end
    nodes = prefix.nodes
    for (start, end, height), node in zip(_prefix_subtrees(prefix.size), nodes):
        if end <= a:
            continue
        if start < a or end > b:
            raise ProofUnavailable(
                f"leaves [{a}, {min(b, prefix.size)}) were purged with the prefix of "
                f"{prefix.size} leaves and only the hash of [{start}, {end}) is kept: this proof "
                f"cannot be made (proofs of leaf {prefix.size} and later still can)")
        subtree.acc._push(height, node)
        if end == b:
            return


def root_from_leaves(leaf_hashes: Iterable[bytes]) -> bytes:
    acc = CompactRange()
    acc.extend(leaf_hashes)
    return acc.root()


def inclusion_proof(index: int, size: int, leaves: Iterable[tuple[int, bytes]], *,
                    prefix: CompactRange | None = None) -> list[bytes]:
    ranges = inclusion_ranges(index, size)
    hashes = hash_ranges(ranges, leaves, prefix=prefix)
    return [hashes[r] for r in ranges]


def consistency_proof(old_size: int, new_size: int, leaves: Iterable[tuple[int, bytes]], *,
                      prefix: CompactRange | None = None) -> list[bytes]:
    ranges = consistency_ranges(old_size, new_size)
    hashes = hash_ranges(ranges, leaves, prefix=prefix)
    return [hashes[r] for r in ranges]


def _proof_hashes(proof: object) -> list[bytes] | None:
    if isinstance(proof, (bytes, str)) or not isinstance(proof, Iterable):
        return None
    out = []
    for p in proof:
        if not isinstance(p, (bytes, bytearray)) or len(p) != HASH_SIZE:
            return None
        out.append(bytes(p))
    return out


def _valid_sizes(*values: object) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values)


def root_from_inclusion(leaf_hash: bytes, index: int, size: int,
                        proof: Sequence[bytes]) -> bytes | None:
    """The root an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1–4), or None when the proof
    cannot belong to (index, size) at all."""
    path = _proof_hashes(proof)
    if (path is None or not _valid_sizes(index, size) or index >= size
            or not isinstance(leaf_hash, (bytes, bytearray)) or len(leaf_hash) != HASH_SIZE):
        return None
    fn, sn = index, size - 1
    r = bytes(leaf_hash)
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return r


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes],
                     root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` show leaf `index` of the tree of `size` leaves with root
    `root` is `leaf_hash`?"""
    computed = root_from_inclusion(leaf_hash, index, size, proof)
    return (computed is not None and isinstance(root, (bytes, bytearray))
            and hmac.compare_digest(computed, bytes(root)))


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: is the tree (old_size, old_root) a prefix of (new_size, new_root)?

    Outside the RFC's 0 < old < new: equal sizes need an empty proof and equal roots; the empty
    tree (root SHA-256 of nothing) is a prefix of every tree, with an empty proof."""
    path = _proof_hashes(proof)
    if path is None or not _valid_sizes(old_size, new_size) or old_size > new_size:
        return False
    try:
        old_root = _check_hash(old_root, "the old root")
        new_root = _check_hash(new_root, "the new root")
    except ValueError:
        return False
    if old_size == new_size:
        return not path and hmac.compare_digest(old_root, new_root)
    if old_size == 0:
        return not path and hmac.compare_digest(old_root, EMPTY_ROOT)
    # 1. An empty proof proves nothing here.
    if not path:
        return False
    # 2. When the old tree is a perfect subtree, the proof leaves its root out: put it back.
    if old_size & (old_size - 1) == 0:
        path = [old_root, *path]
    # 3–4.
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 7.
    return (sn == 0 and hmac.compare_digest(fr, old_root)
            and hmac.compare_digest(sr, new_root))

