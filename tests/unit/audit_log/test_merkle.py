"""The Merkle tree against RFC 6962 itself: a second implementation written here straight from
the RFC's §2.1 definitions (recursion over D[a:b], nothing shared with merkle.py), the
certificate-transparency test vectors, and properties over larger random trees."""

import hashlib
from functools import lru_cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.audit_log.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofUnavailable,
    consistency_proof,
    consistency_ranges,
    hash_ranges,
    inclusion_proof,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

# ---- the reference: RFC 6962 §2.1, over one fixed list of inputs D[0:N] ----------------------

N = 131
DATA = [b"event %d" % i + bytes([i % 7]) * (i % 5) for i in range(N)]


def _k(n):
    """The largest power of two smaller than n, by counting up as the RFC states it."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@lru_cache(maxsize=None)
def ref_mth(a, b):
    """MTH(D[a:b]): SHA-256() for no inputs, SHA-256(0x00 || d) for one, else
    SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))."""
    n = b - a
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + DATA[a]).digest()
    k = _k(n)
    return hashlib.sha256(b"\x01" + ref_mth(a, a + k) + ref_mth(a + k, b)).digest()


def ref_path(m, a, b):
    """PATH(m, D[a:b]) with m relative to a."""
    n = b - a
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return ref_path(m, a, a + k) + [ref_mth(a + k, b)]
    return ref_path(m - k, a + k, b) + [ref_mth(a, a + k)]


def ref_subproof(m, a, b, complete):
    """SUBPROOF(m, D[a:b], b) with m relative to a."""
    n = b - a
    if m == n:
        return [] if complete else [ref_mth(a, b)]
    k = _k(n)
    if m <= k:
        return ref_subproof(m, a, a + k, complete) + [ref_mth(a + k, b)]
    return ref_subproof(m - k, a + k, b, False) + [ref_mth(a, a + k)]


def ref_proof(m, n):
    """PROOF(m, D[n]) for 0 < m < n; empty otherwise (see consistency_ranges)."""
    return ref_subproof(m, 0, n, True) if 0 < m < n else []


def ref_path_ranges(m, a, b):
    """The same recursion, naming the nodes D[x:y] instead of hashing them."""
    n = b - a
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return ref_path_ranges(m, a, a + k) + [(a + k, b)]
    return ref_path_ranges(m - k, a + k, b) + [(a, a + k)]


def ref_subproof_ranges(m, a, b, complete):
    n = b - a
    if m == n:
        return [] if complete else [(a, b)]
    k = _k(n)
    if m <= k:
        return ref_subproof_ranges(m, a, a + k, complete) + [(a + k, b)]
    return ref_subproof_ranges(m - k, a + k, b, False) + [(a, a + k)]


def _root_from_nodes(known, a, b):
    """MTH(D[a:b]) from hashes of some of its nodes, or None if they do not cover it."""
    if (a, b) in known:
        return known[(a, b)]
    if b - a <= 1:
        return None
    k = _k(b - a)
    left, right = _root_from_nodes(known, a, a + k), _root_from_nodes(known, a + k, b)
    if left is None or right is None:
        return None
    return hashlib.sha256(b"\x01" + left + right).digest()


def ref_verify_inclusion(leaf, m, n, proof, root):
    """Put the proof's hashes where PATH says they belong and recompute the root."""
    if not 0 <= m < n:
        return False
    ranges = ref_path_ranges(m, 0, n)
    if len(ranges) != len(proof):
        return False
    known = dict(zip(ranges, proof))
    known[(m, m + 1)] = leaf
    return _root_from_nodes(known, 0, n) == root


def ref_verify_consistency(m, n, old_root, new_root, proof):
    """Likewise for SUBPROOF: the proof's hashes must rebuild both roots."""
    if not 0 < m < n:
        return False
    ranges = ref_subproof_ranges(m, 0, n, True)
    if len(ranges) != len(proof):
        return False
    known = dict(zip(ranges, proof))
    if (0, m) not in known:  # the old tree is one node of the new: its root is left out
        known[(0, m)] = old_root
    return (_root_from_nodes(known, 0, m) == old_root
            and _root_from_nodes(known, 0, n) == new_root)


LEAVES = [hashlib.sha256(b"\x00" + d).digest() for d in DATA]


def stream(start=0, stop=N):
    return ((i, LEAVES[i]) for i in range(start, stop))


def flip(h, byte=0):
    return h[:byte] + bytes([h[byte] ^ 0x01]) + h[byte + 1:]


# ---- every tree of 0..130 leaves -------------------------------------------------------------

def test_hashes_are_rfc_6962s():
    assert EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert leaf_hash(DATA[3]) == ref_mth(3, 4)
    assert node_hash(LEAVES[0], LEAVES[1]) == ref_mth(0, 2)


def test_compact_range_root_and_nodes_for_every_size():
    acc = CompactRange()
    assert acc.root() == EMPTY_ROOT
    for n in range(N):
        assert acc.size == n
        assert acc.root() == ref_mth(0, n) == root_from_leaves(LEAVES[:n])
        # The nodes are the perfect subtrees of n's binary decomposition, largest first.
        start, expected = 0, []
        for bit in reversed(range(n.bit_length())):
            if n >> bit & 1:
                expected.append(ref_mth(start, start + (1 << bit)))
                start += 1 << bit
        assert acc.nodes == expected
        acc.append(LEAVES[n])


@pytest.mark.parametrize("size", range(1, N))
def test_inclusion_for_every_leaf(size):
    root = ref_mth(0, size)
    wrong_sizes_rejected = 0
    for index in range(size):
        expected = ref_path(index, 0, size)
        ranges = inclusion_ranges(index, size)
        assert [ref_mth(a, b) for a, b in ranges] == expected
        proof = inclusion_proof(index, size, stream())
        assert proof == expected
        leaf = LEAVES[index]
        assert verify_inclusion(leaf, index, size, proof, root)
        assert root_from_inclusion(leaf, index, size, proof) == root

        assert ref_verify_inclusion(leaf, index, size, proof, root)
        assert not verify_inclusion(flip(leaf), index, size, proof, root)
        assert not verify_inclusion(leaf, index, size, proof, flip(root, 31))
        for other in {index - 1, index + 1, index ^ 2} - {index}:
            assert not verify_inclusion(leaf, other, size, proof, root)
        # A proof can fit another tree size whose path has the same shape (leaf 0 of 3 and of
        # 4): the checkpoint's signature binds the size. So the sizes are judged by the RFC.
        for other in {size - 1, size + 1, size * 2, size // 2} - {size}:
            accepted = verify_inclusion(leaf, index, other, proof, root)
            assert accepted == ref_verify_inclusion(leaf, index, other, proof, root)
            wrong_sizes_rejected += not accepted
        for i in range(len(proof)):
            for byte in (0, 17, 31):
                tampered = proof[:i] + [flip(proof[i], byte)] + proof[i + 1:]
                assert not verify_inclusion(leaf, index, size, tampered, root)
        assert not verify_inclusion(leaf, index, size, proof + [root], root)
        assert not verify_inclusion(leaf, index, size, [LEAVES[0]] + proof, root)
        if proof:
            assert not verify_inclusion(leaf, index, size, proof[:-1], root)
            assert not verify_inclusion(leaf, index, size, proof[1:], root)
        if len(proof) > 1:
            assert not verify_inclusion(leaf, index, size, proof[::-1], root)
    assert wrong_sizes_rejected > 0


@pytest.mark.parametrize("new", range(0, N))
def test_consistency_from_every_older_size(new):
    new_root = ref_mth(0, new)
    for old in range(0, new + 1):
        old_root = ref_mth(0, old)
        expected = ref_proof(old, new)
        ranges = consistency_ranges(old, new)
        assert [ref_mth(a, b) for a, b in ranges] == expected
        proof = consistency_proof(old, new, stream())
        assert proof == expected
        assert verify_consistency(old, new, old_root, new_root, proof)

        if 0 < old < new:
            assert ref_verify_consistency(old, new, old_root, new_root, proof)
        assert not verify_consistency(old, new, flip(old_root), new_root, proof)
        if old:  # every tree extends the empty one, whatever its root
            assert not verify_consistency(old, new, old_root, flip(new_root), proof)
        # As with inclusion, another pair of sizes may share the proof's shape: the RFC judges.
        for other_old, other_new in {(old - 1, new), (old + 1, new), (old, new + 1),
                                     (old, new - 1)} - {(old, new)}:
            if not 0 < other_old < other_new:
                continue
            accepted = verify_consistency(other_old, other_new, old_root, new_root, proof)
            assert accepted == ref_verify_consistency(other_old, other_new, old_root, new_root,
                                                      proof)
        for i in range(len(proof)):
            tampered = proof[:i] + [flip(proof[i], i % 32)] + proof[i + 1:]
            assert not verify_consistency(old, new, old_root, new_root, tampered)
        assert not verify_consistency(old, new, old_root, new_root, proof + [new_root])
        assert not verify_consistency(old, new, old_root, new_root, [old_root] + proof)
        if proof:
            assert not verify_consistency(old, new, old_root, new_root, proof[:-1])
            assert not verify_consistency(old, new, old_root, new_root, proof[1:])


def test_consistency_edges():
    r5 = ref_mth(0, 5)
    assert consistency_ranges(5, 5) == [] and consistency_ranges(0, 5) == []
    assert verify_consistency(5, 5, r5, r5, [])
    assert not verify_consistency(5, 5, r5, ref_mth(0, 6), [])
    assert not verify_consistency(5, 5, r5, r5, [r5])
    # The empty tree is a prefix of every tree; its root is fixed.
    assert verify_consistency(0, 5, EMPTY_ROOT, r5, [])
    assert not verify_consistency(0, 5, r5, r5, [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, r5, [r5])
    assert not verify_consistency(6, 5, r5, r5, [])
    with pytest.raises(ValueError):
        consistency_ranges(6, 5)


def test_bad_arguments():
    with pytest.raises(ValueError):
        inclusion_ranges(5, 5)
    with pytest.raises(ValueError):
        inclusion_ranges(-1, 5)
    assert not verify_inclusion(LEAVES[0], 0, 0, [], EMPTY_ROOT)
    assert not verify_inclusion(LEAVES[0], -1, 3, [], EMPTY_ROOT)
    assert not verify_inclusion(b"short", 0, 1, [], b"short")
    assert not verify_inclusion(LEAVES[0], 0, 2, [b""], ref_mth(0, 2))
    assert not verify_inclusion(LEAVES[0], 0, 2, LEAVES[1], ref_mth(0, 2))  # not a list of hashes
    assert verify_inclusion(LEAVES[0], 0, 1, [], LEAVES[0])


# ---- certificate-transparency test vectors -----------------------------------------------------
# From github.com/transparency-dev/merkle (commit 417fb0c314750d94e53942e9f92e79b6d35915db):
# testonly/constants.go (LeafInputs, RootHashes) and cmd/proofgen/main.go (inclusionProofs,
# consistencyProofs, whose leaf indices are 1-based there and 0-based here). They descend from
# the certificate-transparency project's merkle tree tests.

CT_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
CT_ROOTS = [bytes.fromhex(h) for h in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")]
CT_INCLUSION = [  # (0-based index, size, proof)
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CT_CONSISTENCY = [  # (old size, new size, proof)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]
CT_LEAF_HASHES = [leaf_hash(d) for d in CT_LEAVES]


def test_ct_roots():
    acc = CompactRange()
    for size, expected in enumerate(CT_ROOTS):
        assert acc.root() == expected == root_from_leaves(CT_LEAF_HASHES[:size])
        if size < len(CT_LEAVES):
            acc.append(CT_LEAF_HASHES[size])


@pytest.mark.parametrize("index,size,proof", CT_INCLUSION)
def test_ct_inclusion_vectors(index, size, proof):
    proof = [bytes.fromhex(h) for h in proof]
    assert inclusion_proof(index, size, enumerate(CT_LEAF_HASHES)) == proof
    assert verify_inclusion(CT_LEAF_HASHES[index], index, size, proof, CT_ROOTS[size])
    assert not verify_inclusion(CT_LEAF_HASHES[index], index, size, proof, CT_ROOTS[size - 1])


@pytest.mark.parametrize("old,new,proof", CT_CONSISTENCY)
def test_ct_consistency_vectors(old, new, proof):
    proof = [bytes.fromhex(h) for h in proof]
    assert consistency_proof(old, new, enumerate(CT_LEAF_HASHES)) == proof
    assert verify_consistency(old, new, CT_ROOTS[old], CT_ROOTS[new], proof)
    if old != new:
        assert not verify_consistency(old, new, CT_ROOTS[old], CT_ROOTS[new], [])


# ---- purged prefixes -------------------------------------------------------------------------

def prefix_of(size):
    acc = CompactRange()
    acc.extend(LEAVES[:size])
    return acc


@pytest.mark.parametrize("purged", [1, 2, 3, 5, 8, 13, 64, 100])
def test_proofs_of_retained_leaves_survive_a_purge(purged):
    prefix = prefix_of(purged)
    for size in (purged, purged + 1, purged + 7, N):
        for index in range(purged, size):
            proof = inclusion_proof(index, size, stream(purged), prefix=prefix)
            assert proof == ref_path(index, 0, size)
        for old in range(purged, size + 1):
            assert consistency_proof(old, size, stream(purged), prefix=prefix) == \
                ref_proof(old, size)


def test_proofs_that_need_purged_leaves_are_refused_or_still_right():
    for purged in range(1, 40):
        prefix = prefix_of(purged)
        for size in range(purged, 45):
            for index in range(purged):
                try:
                    proof = inclusion_proof(index, size, stream(purged), prefix=prefix)
                except ProofUnavailable:
                    continue
                assert proof == ref_path(index, 0, size)


def test_a_proof_inside_a_purged_subtree_is_unavailable():
    # Leaf 3 of 10 needs the hash of leaf 2, but only the root of leaves [0, 8) is kept.
    purged = r"leaves \[0, 2\) were purged .*only the hash of \[0, 8\) is kept"
    with pytest.raises(ProofUnavailable, match=purged):
        inclusion_proof(3, 10, stream(8), prefix=prefix_of(8))
    with pytest.raises(ProofUnavailable):
        consistency_proof(3, 10, stream(8), prefix=prefix_of(8))
    # Leaf 4 of 6 after purging 5: its siblings [5, 6) and [0, 4) are retained or kept whole.
    assert inclusion_proof(4, 6, stream(5), prefix=prefix_of(5)) == ref_path(4, 0, 6)


def test_hash_ranges_reads_once_and_stops_early():
    consumed = []

    def leaves():
        for i in range(N):
            consumed.append(i)
            yield i, LEAVES[i]

    hashes = hash_ranges([(0, 4), (6, 8), (4, 5)], leaves())
    assert hashes == {(0, 4): ref_mth(0, 4), (4, 5): ref_mth(4, 5), (6, 8): ref_mth(6, 8)}
    assert consumed == list(range(8))
    assert hash_ranges([], leaves()) == {}


def test_hash_ranges_refuses_a_bad_stream():
    with pytest.raises(ProofUnavailable, match="stop before 5"):
        hash_ranges([(0, 8)], stream(0, 5))
    with pytest.raises(ValueError, match="leaf 3 is missing"):
        hash_ranges([(0, 8)], ((i, LEAVES[i]) for i in (0, 1, 2, 4)))
    with pytest.raises(ValueError, match="increasing"):
        hash_ranges([(0, 8)], ((i, LEAVES[i]) for i in (0, 1, 1)))
    with pytest.raises(ValueError, match="overlaps"):
        hash_ranges([(0, 4), (2, 6)], stream())
    with pytest.raises(ValueError, match="purged"):
        hash_ranges([(8, 10)], stream(0), prefix=prefix_of(4))
    # Leaves no range needs may be skipped.
    assert hash_ranges([(4, 6)], stream(4)) == {(4, 6): ref_mth(4, 6)}


# ---- compact range ---------------------------------------------------------------------------

def test_compact_range_round_trips_and_copies():
    for size in (0, 1, 6, 7, 64, 130):
        acc = prefix_of(size)
        again = CompactRange.from_hex(acc.size, acc.to_hex())
        assert again == acc and again.root() == acc.root() == ref_mth(0, size)
        twin = acc.copy()
        twin.append(LEAVES[size])
        assert acc.size == size and twin.size == size + 1
        assert twin.root() == ref_mth(0, size + 1)
        acc.nodes.append(b"x" * 32)  # .nodes is a copy
        assert acc == CompactRange.from_hex(size, again.to_hex())


def test_compact_range_refuses_bad_state():
    with pytest.raises(ValueError, match="has 2 nodes, not 1"):
        CompactRange(3, [LEAVES[0]])
    with pytest.raises(ValueError):
        CompactRange(-1)
    with pytest.raises(ValueError, match="32 bytes"):
        CompactRange(1, [b"short"])
    with pytest.raises(ValueError, match="not hex"):
        CompactRange.from_hex(1, ["zz"])
    with pytest.raises(ValueError):
        CompactRange().append(b"short")


# ---- larger random trees ---------------------------------------------------------------------

def big_leaf(i):
    return hashlib.sha256(b"\x00" + i.to_bytes(8, "big")).digest()


@lru_cache(maxsize=None)
def big_mth(a, b):
    if b - a == 1:
        return big_leaf(a)
    k = _k(b - a)
    return hashlib.sha256(b"\x01" + big_mth(a, a + k) + big_mth(a + k, b)).digest()


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_trees_prove_and_verify(data):
    size = data.draw(st.integers(1, 3000), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    old = data.draw(st.integers(1, size), label="old")
    purged = data.draw(st.integers(0, min(index, old)), label="purged")
    prefix = CompactRange()
    prefix.extend(big_leaf(i) for i in range(purged))

    def leaves():
        return ((i, big_leaf(i)) for i in range(purged, size))

    root = big_mth(0, size)

    proof = inclusion_proof(index, size, leaves(), prefix=prefix)
    assert proof == [big_mth(a, b) for a, b in ref_path_ranges(index, 0, size)]
    assert verify_inclusion(big_leaf(index), index, size, proof, root)
    assert not verify_inclusion(flip(big_leaf(index)), index, size, proof, root)

    cproof = consistency_proof(old, size, leaves(), prefix=prefix)
    assert verify_consistency(old, size, big_mth(0, old), root, cproof)
    if old < size:
        assert not verify_consistency(old, size, big_mth(0, old), big_mth(0, size - 1), cproof)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 2**48), st.data())
def test_ranges_of_huge_trees(size, data):
    index = data.draw(st.integers(0, size - 1), label="index")
    old = data.draw(st.integers(0, size), label="old")
    ranges = inclusion_ranges(index, size)
    assert ranges == ref_path_ranges(index, 0, size)
    # The path's ranges and the leaf itself tile the tree.
    edges = sorted(ranges + [(index, index + 1)])
    assert edges[0][0] == 0 and edges[-1][1] == size
    assert all(x[1] == y[0] for x, y in zip(edges, edges[1:]))
    expected = ref_subproof_ranges(old, 0, size, True) if 0 < old < size else []
    assert consistency_ranges(old, size) == expected
