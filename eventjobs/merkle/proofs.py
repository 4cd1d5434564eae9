"""RFC 9162 inclusion and consistency proofs: generation and verification."""

from __future__ import annotations

from collections.abc import Sequence

from .hashing import HASH_SIZE, node_hash, split
from .store import HashStore, Pruned, subtree_root


class InvalidProof(ValueError):
    """A proof does not hold (the message says what was checked), or its
    parameters are out of range."""


def inclusion_proof(store: HashStore, index: int, size: int) -> list[bytes]:
    """The RFC 9162 inclusion proof (2.1.3.1) of leaf *index* in the tree of
    the first *size* leaves of *store*: the sibling subtree roots from the
    leaf up.

    Raises:
        InvalidProof: *index* is not below *size*, or *size* above the store's,
            or the store was pruned of what the proof needs.
    """
    if not 0 <= index < size:
        raise InvalidProof(f"leaf {index} is not in a tree of {size} leaves")
    if size > store.size:
        raise InvalidProof(f"the tree has {store.size} leaves, fewer than {size}")
    try:
        return _inclusion_path(store, index, size)
    except Pruned as error:
        raise InvalidProof(f"no inclusion proof of leaf {index}: {error}") from None


def _inclusion_path(store: HashStore, index: int, size: int) -> list[bytes]:
    path = []
    start, end = 0, size
    while end - start > 1:
        k = split(end - start)
        if index < start + k:
            path.append(subtree_root(store, start + k, end))
            end = start + k
        else:
            path.append(subtree_root(store, start, start + k))
            start += k
    path.reverse()
    return path


def consistency_proof(store: HashStore, old: int, new: int) -> list[bytes]:
    """The RFC 9162 consistency proof (2.1.4.1) that the tree of the first
    *old* leaves is a prefix of the tree of the first *new* leaves (empty
    when ``old`` is 0 or equals ``new``).

    Raises:
        InvalidProof: not ``0 <= old <= new <= store.size``, or the store was
            pruned of what the proof needs.
    """
    if not 0 <= old <= new:
        raise InvalidProof(f"no consistency proof from {old} leaves to {new}")
    if new > store.size:
        raise InvalidProof(f"the tree has {store.size} leaves, fewer than {new}")
    if old == 0 or old == new:
        return []
    try:
        return _consistency_path(store, old, new)
    except Pruned as error:
        raise InvalidProof(f"no consistency proof from {old} leaves: {error}") from None


def _consistency_path(store: HashStore, old: int, new: int) -> list[bytes]:
    path = []
    start, end, m, whole = 0, new, old, True
    # SUBPROOF(m, D[start:end], whole) unrolled; m counts from start.
    while m != end - start:
        k = split(end - start)
        if m <= k:
            path.append(subtree_root(store, start + k, end))
            end = start + k
        else:
            path.append(subtree_root(store, start, start + k))
            start += k
            m -= k
            whole = False
    if not whole:
        path.append(subtree_root(store, start, end))
    path.reverse()
    return path


def _check_hashes(proof: Sequence[bytes], *named: tuple[str, bytes]) -> None:
    for name, hashed in named:
        if len(hashed) != HASH_SIZE:
            raise InvalidProof(f"the {name} has {len(hashed)} bytes, not {HASH_SIZE}")
    for position, hashed in enumerate(proof):
        if len(hashed) != HASH_SIZE:
            raise InvalidProof(
                f"proof hash {position} has {len(hashed)} bytes, not {HASH_SIZE}"
            )


def root_from_inclusion_proof(
    index: int, size: int, hashed: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root that *proof* leads to from leaf hash *hashed* at *index* in a
    tree of *size* leaves (RFC 9162 2.1.3.2, steps 1 to 4).

    Raises:
        InvalidProof: the index, size or proof length cannot fit together.
    """
    _check_hashes(proof, ("leaf hash", hashed))
    if not 0 <= index < size:
        raise InvalidProof(f"leaf {index} is not in a tree of {size} leaves")
    fn, sn = index, size - 1
    root = hashed
    for sibling in proof:
        if sn == 0:
            raise InvalidProof(
                f"the proof is longer than a tree of {size} leaves needs"
            )
        if fn & 1 or fn == sn:
            root = node_hash(sibling, root)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            root = node_hash(root, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InvalidProof(f"the proof is shorter than a tree of {size} leaves needs")
    return root


def verify_inclusion(
    index: int, size: int, hashed: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that *proof* proves leaf hash *hashed* is leaf *index* of the
    tree of *size* leaves whose root is *root* (RFC 9162 2.1.3.2).

    Raises:
        InvalidProof: it does not.
    """
    _check_hashes(proof, ("root", root))
    if root_from_inclusion_proof(index, size, hashed, proof) != root:
        raise InvalidProof(
            f"the inclusion proof of leaf {index} does not lead to the root of the tree "
            f"of {size} leaves"
        )


def verify_consistency(
    old: int, new: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Check that *proof* proves the tree of *old* leaves with root
    *old_root* is a prefix of the tree of *new* leaves with root *new_root*
    (RFC 9162 2.1.4.2; from the empty tree, and between equal sizes with
    equal roots, the proof is empty).

    Raises:
        InvalidProof: it does not (the message says which check failed).
    """
    _check_hashes(proof, ("old root", old_root), ("new root", new_root))
    if not 0 <= old <= new:
        raise InvalidProof(f"a tree of {new} leaves cannot extend one of {old}")
    if old == new:
        if proof:
            raise InvalidProof("a consistency proof between equal sizes is empty")
        if old_root != new_root:
            raise InvalidProof(f"two different roots for the same tree of {old} leaves")
        return
    if old == 0:
        if proof:
            raise InvalidProof("a consistency proof from the empty tree is empty")
        return
    if not proof:
        raise InvalidProof(f"the consistency proof from {old} leaves to {new} is empty")
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first = second = path[0]
    for hashed in path[1:]:
        if sn == 0:
            raise InvalidProof(
                f"the consistency proof is longer than {old} to {new} needs"
            )
        if fn & 1 or fn == sn:
            first = node_hash(hashed, first)
            second = node_hash(hashed, second)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            second = node_hash(second, hashed)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InvalidProof(
            f"the consistency proof is shorter than {old} to {new} needs"
        )
    if first != old_root:
        raise InvalidProof(
            f"the consistency proof does not lead to the old root (tree of {old} leaves)"
        )
    if second != new_root:
        raise InvalidProof(
            f"the consistency proof does not lead to the new root (tree of {new} leaves)"
        )
