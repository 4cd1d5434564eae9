"""The RFC 9162 Merkle tree: published test vectors, the RFC's recursive
definitions, and proofs that hold and break as they should."""

from __future__ import annotations

import base64
from hashlib import sha256

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventjobs.merkle import (
    EMPTY_ROOT,
    Frontier,
    InvalidProof,
    LeafHashes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

# -- published test vectors ------------------------------------------------------------
# From github.com/transparency-dev/merkle (Apache-2.0): testonly/constants.go
# (LeafInputs, NodeHashes, RootHashes, CompactTrees) and proof/verify_test.go
# (inclusionProofs, consistencyProofs), the vectors the Go implementation of
# RFC 6962 / RFC 9162 trees (and certificate-transparency-go before it) is
# tested with. In verify_test.go the inclusion vectors count leaves from 1;
# here they are given as 0-based leaf indexes.

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]

#: NODE_HASHES[level][index]: every complete subtree of the 8-leaf tree.
NODE_HASHES = [
    [bytes.fromhex(h) for h in row]
    for row in (
        (
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        ),
        (
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        ),
        (
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
        ("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",),
    )
]

#: ROOTS[size] for the trees of the first 0..8 leaves.
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]

N = NODE_HASHES
#: The frontier (CompactTrees) after each size.
COMPACT = [
    [],
    [N[0][0]],
    [N[1][0]],
    [N[1][0], N[0][2]],
    [N[2][0]],
    [N[2][0], N[0][4]],
    [N[2][0], N[1][2]],
    [N[2][0], N[1][2], N[0][6]],
    [N[3][0]],
]

#: (leaf index, tree size, proof)
INCLUSION = [
    (0, 1, []),
    (0, 8, [N[0][1], N[1][1], N[2][1]]),
    (5, 8, [N[0][4], N[1][3], N[2][0]]),
    (2, 3, [N[1][0]]),
    (1, 5, [N[0][0], N[1][1], N[0][4]]),
]

#: (old size, new size, proof)
CONSISTENCY = [
    (1, 1, []),
    (1, 8, [N[0][1], N[1][1], N[2][1]]),
    (6, 8, [N[1][2], N[1][3], N[2][0]]),
    (2, 5, [N[1][1], N[0][4]]),
    (6, 7, [N[1][2], N[0][6], N[2][0]]),
]


def vector_tree() -> LeafHashes:
    tree = LeafHashes()
    for leaf in LEAVES:
        tree.append(leaf)
    return tree


def test_roots_of_every_size_match_the_vectors():
    frontier, tree = Frontier(), LeafHashes()
    assert frontier.root() == tree.root() == EMPTY_ROOT == ROOTS[0]
    for size, leaf in enumerate(LEAVES, start=1):
        assert frontier.append(leaf) == tree.append(leaf) == N[0][size - 1]
        assert frontier.root() == tree.root() == ROOTS[size]
        assert list(frontier.hashes) == COMPACT[size]
        assert tree.frontier() == frontier
    for size in range(9):
        assert tree.root(size) == ROOTS[size]


def test_every_subtree_matches_the_vectors():
    tree = vector_tree()
    for level, row in enumerate(NODE_HASHES):
        for index, hashed in enumerate(row):
            assert tree.subtree(level, index) == hashed


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_vectors(index, size, proof):
    tree = vector_tree()
    assert inclusion_proof(tree, index, size) == proof
    verify_inclusion(index, size, leaf_hash(LEAVES[index]), proof, ROOTS[size])


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_vectors(old, new, proof):
    tree = vector_tree()
    assert consistency_proof(tree, old, new) == proof
    verify_consistency(old, new, proof, ROOTS[old], ROOTS[new])


SOME_HASH = bytes.fromhex(
    "abacaba000000000000000000000000000000000000000000060061e00123456"
)


@pytest.mark.parametrize(("index", "size", "proof"), [v for v in INCLUSION if v[2]])
def test_corrupted_inclusion_proofs_fail(index, size, proof):
    """The probes of verify_test.go's corruptInclusionProof."""
    hashed, root = leaf_hash(LEAVES[index]), ROOTS[size]
    probes = [
        (index - 1, size, hashed, proof, root),
        (index + 1, size, hashed, proof, root),
        (index ^ 2, size, hashed, proof, root),
        (index, size * 2, hashed, proof, root),
        (index, size // 2, hashed, proof, root),
        (index, size, leaf_hash(b"WrongLeaf"), proof, root),
        (index, size, hashed, proof, EMPTY_ROOT),
        (index, size, hashed, proof, SOME_HASH),
        (index, size, hashed, [*proof, b""], root),
        (index, size, hashed, [*proof, root], root),
        (index, size, hashed, [b"", *proof], root),
        (index, size, hashed, [root, *proof], root),
        (index, size, hashed, proof[:-1], root),
    ]
    if len(proof) > 1:
        probes.append((index, size, hashed, [proof[0], SOME_HASH, *proof[1:]], root))
    for position in range(len(proof)):
        changed = list(proof)
        changed[position] = bytes([changed[position][0] ^ 8]) + changed[position][1:]
        probes.append((index, size, hashed, changed, root))
    for probe in probes:
        with pytest.raises(InvalidProof):
            verify_inclusion(*probe)


@pytest.mark.parametrize(("old", "new", "proof"), [v for v in CONSISTENCY if v[2]])
def test_corrupted_consistency_proofs_fail(old, new, proof):
    """The probes of verify_test.go's corruptConsistencyProof."""
    r1, r2 = ROOTS[old], ROOTS[new]
    wrong = sha256(b"WrongRoot").digest()
    probes = [
        (old - 1, new, r1, r2, proof),
        (old + 1, new, r1, r2, proof),
        (old ^ 2, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof),
        (old, new // 2, r1, r2, proof),
        (old, new, wrong, r2, proof),
        (old, new, r1, wrong, proof),
        (old, new, r2, r1, proof),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*proof, b""]),
        (old, new, r1, r2, [*proof, r1]),
        (old, new, r1, r2, [*proof, r2]),
        (old, new, r1, r2, [b"", *proof]),
        (old, new, r1, r2, [r1, *proof]),
        (old, new, r1, r2, [r2, *proof]),
        (old, new, r1, r2, [proof[0], *proof]),
        (old, new, r1, r2, proof[:-1]),
    ]
    for position in range(len(proof)):
        changed = list(proof)
        changed[position] = bytes([changed[position][0] ^ 16]) + changed[position][1:]
        probes.append((old, new, r1, r2, changed))
    for old_size, new_size, root1, root2, changed in probes:
        with pytest.raises(InvalidProof):
            verify_consistency(old_size, new_size, changed, root1, root2)


def test_trivial_consistency():
    """From verify_test.go's TestVerifyConsistency: sizes that are always
    consistent, time travel, and non-empty proofs where none is needed."""
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    verify_consistency(0, 1, [], EMPTY_ROOT, ROOTS[1])
    verify_consistency(1, 1, [], ROOTS[1], ROOTS[1])
    for probe in [
        (1, 1, ROOTS[1], ROOTS[2], []),
        (1, 0, ROOTS[1], ROOTS[0], []),
        (2, 1, ROOTS[2], ROOTS[1], []),
        (1, 2, ROOTS[1], ROOTS[2], []),
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),
        (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),
        (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),
    ]:
        old, new, root1, root2, proof = probe
        with pytest.raises(InvalidProof):
            verify_consistency(old, new, proof, root1, root2)
    assert consistency_proof(vector_tree(), 0, 8) == []


def test_proofs_outside_the_tree_are_refused_with_a_reason():
    tree = vector_tree()
    with pytest.raises(InvalidProof, match="leaf 8 is not in a tree of 8 leaves"):
        inclusion_proof(tree, 8, 8)
    with pytest.raises(InvalidProof, match="fewer than 9"):
        inclusion_proof(tree, 0, 9)
    with pytest.raises(InvalidProof, match="from 5 leaves to 4"):
        consistency_proof(tree, 5, 4)
    with pytest.raises(InvalidProof, match="leaf 0 is not in a tree of 0 leaves"):
        verify_inclusion(0, 0, ROOTS[1], [], ROOTS[1])


# -- the RFC's definitions, written as the RFC writes them ---------------------------------


def k_of(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d):
    if not d:
        return sha256(b"").digest()
    if len(d) == 1:
        return sha256(b"\x00" + d[0]).digest()
    k = k_of(len(d))
    return sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m, d):
    if len(d) == 1:
        return []
    k = k_of(len(d))
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m, d, whole):
    if m == len(d):
        return [] if whole else [mth(d)]
    k = k_of(len(d))
    if m <= k:
        return subproof(m, d[:k], whole) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


#: Past the 256-leaf subtrees LeafHashes stores, so every kind of stored and
#: rebuilt subtree is used.
BIG = 700
BIG_LEAVES = [f"record {i}".encode() for i in range(BIG)]
BIG_TREE = LeafHashes(leaf_hash(leaf) for leaf in BIG_LEAVES)


@pytest.mark.parametrize(
    "size", [1, 2, 3, 15, 16, 17, 255, 256, 257, 300, 511, 512, 513, BIG]
)
def test_roots_follow_the_rfc_definition(size):
    frontier = Frontier()
    for leaf in BIG_LEAVES[:size]:
        frontier.append(leaf)
    assert BIG_TREE.root(size) == frontier.root() == mth(BIG_LEAVES[:size])


sizes = st.integers(1, BIG)


@settings(max_examples=150, deadline=None)
@given(sizes, st.data())
def test_inclusion_proofs_verify_and_break_at_any_changed_byte(size, data):
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = inclusion_proof(BIG_TREE, index, size)
    assert proof == path(index, BIG_LEAVES[:size])
    root, hashed = BIG_TREE.root(size), leaf_hash(BIG_LEAVES[index])
    verify_inclusion(index, size, hashed, proof, root)
    assert root_from_inclusion_proof(index, size, hashed, proof) == root

    where = data.draw(st.integers(0, 32 * (len(proof) + 2) - 1), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    blob = bytearray(b"".join([*proof, hashed, root]))
    blob[where] ^= 1 << bit
    parts = [bytes(blob[i : i + 32]) for i in range(0, len(blob), 32)]
    with pytest.raises(InvalidProof):
        verify_inclusion(index, size, parts[-2], parts[:-2], parts[-1])


@settings(max_examples=150, deadline=None)
@given(sizes, st.data())
def test_consistency_proofs_verify_and_break_at_any_changed_byte(new, data):
    old = data.draw(st.integers(1, new), label="old")
    proof = consistency_proof(BIG_TREE, old, new)
    assert proof == subproof(old, BIG_LEAVES[:new], True)
    old_root, new_root = BIG_TREE.root(old), BIG_TREE.root(new)
    verify_consistency(old, new, proof, old_root, new_root)

    where = data.draw(st.integers(0, 32 * (len(proof) + 2) - 1), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    blob = bytearray(b"".join([*proof, old_root, new_root]))
    blob[where] ^= 1 << bit
    parts = [bytes(blob[i : i + 32]) for i in range(0, len(blob), 32)]
    with pytest.raises(InvalidProof):
        verify_consistency(old, new, parts[:-2], parts[-2], parts[-1])


# -- the frontier kept and restored ----------------------------------------------------------


def test_a_restored_frontier_extends_the_same_tree():
    frontier = Frontier()
    for leaf in BIG_LEAVES[:300]:
        frontier.append(leaf)
    restored = Frontier.from_json(frontier.to_json())
    assert restored == frontier
    for leaf in BIG_LEAVES[300:]:
        restored.append(leaf)
    assert restored.root() == BIG_TREE.root()
    assert frontier.size == 300


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], '"size" and "hashes"'),
        ({"size": 3, "hashes": "x"}, "list of base64"),
        ({"size": -1, "hashes": []}, "a tree size is a whole number"),
        ({"size": True, "hashes": []}, "a tree size is a whole number"),
        (
            {"size": 3, "hashes": [base64.b64encode(ROOTS[1]).decode()]},
            "frontier of 2 hashes, not 1",
        ),
        ({"size": 1, "hashes": ["!!"]}, "not base64"),
        ({"size": 1, "hashes": ["AAAA"]}, "3 bytes, not a 32-byte hash"),
    ],
)
def test_a_damaged_frontier_is_refused_with_a_reason(data, message):
    with pytest.raises(ValueError, match=message):
        Frontier.from_json(data)


def test_hashes_are_the_rfc_hashes():
    assert leaf_hash(b"") == N[0][0]
    assert node_hash(N[0][0], N[0][1]) == N[1][0]


# -- a tree started from the frontier at a cut (a pruned journal) ----------------------------


def _pruned_tree(cut: int, size: int) -> LeafHashes:
    frontier = Frontier()
    for leaf in BIG_LEAVES[:cut]:
        frontier.append(leaf)
    return LeafHashes(
        (leaf_hash(leaf) for leaf in BIG_LEAVES[cut:size]),
        start=Frontier.from_json(frontier.to_json()),
    )


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_tree_from_the_frontier_at_a_cut_proves_what_follows_it(data):
    """Started from the frontier at any cut, the tree has the whole tree's
    roots, inclusion proofs of every later leaf and consistency proofs
    from every size at or past the cut; what lies before the cut is
    refused with a reason, never answered wrongly."""
    size = data.draw(st.integers(1, BIG), label="size")
    cut = data.draw(st.integers(0, size), label="cut")
    tree = _pruned_tree(cut, size)
    assert tree.size == size and tree.start == cut
    assert tree.root() == BIG_TREE.root(size)
    assert tree.frontier().root() == BIG_TREE.root(size)
    if cut < size:
        index = data.draw(st.integers(cut, size - 1), label="index")
        within = data.draw(st.integers(index + 1, size), label="within")
        proof = inclusion_proof(tree, index, within)
        assert proof == inclusion_proof(BIG_TREE, index, within)
        verify_inclusion(
            index, within, leaf_hash(BIG_LEAVES[index]), proof, BIG_TREE.root(within)
        )
    old = data.draw(st.integers(max(cut, 1), size), label="old")
    new = data.draw(st.integers(old, size), label="new")
    proof = consistency_proof(tree, old, new)
    assert proof == consistency_proof(BIG_TREE, old, new)
    verify_consistency(old, new, proof, BIG_TREE.root(old), BIG_TREE.root(new))
    if cut > 1:
        # Before the cut: a proof made only of frontier subtrees (the last
        # one-leaf subtree's, say) is still right; any other is refused.
        before = data.draw(st.integers(0, cut - 1), label="before")
        try:
            proof = inclusion_proof(tree, before, size)
        except InvalidProof as error:
            assert "pruned" in str(error)
        else:
            assert proof == inclusion_proof(BIG_TREE, before, size)
        old = data.draw(st.integers(1, cut - 1), label="old before the cut")
        try:
            proof = consistency_proof(tree, old, size)
        except InvalidProof as error:
            assert "pruned" in str(error)
        else:
            assert proof == consistency_proof(BIG_TREE, old, size)
    # Far below the cut (the first leaf of a cut past a 2-leaf subtree)
    # nothing can be proved.
    if cut >= 3:
        with pytest.raises(InvalidProof, match="pruned"):
            inclusion_proof(tree, 0, size)
        with pytest.raises(InvalidProof, match="pruned"):
            consistency_proof(tree, 1, size)


def test_a_tree_from_a_frontier_keeps_growing_the_same_tree():
    tree = _pruned_tree(300, 300)
    for leaf in BIG_LEAVES[300:]:
        tree.append(leaf)
    assert tree.root() == BIG_TREE.root()
    for index in (300, 511, 512, BIG - 1):
        assert inclusion_proof(tree, index, BIG) == inclusion_proof(
            BIG_TREE, index, BIG
        )
