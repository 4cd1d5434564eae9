"""The Merkle tree of RFC 9162 section 2.1 (SHA-256), with its proofs.

A tree over leaves ``d0 .. d(n-1)`` (each a byte string) has the root

* ``SHA-256()`` when it is empty (``EMPTY_ROOT``),
* ``SHA-256(0x00 || d0)`` for one leaf (the *leaf hash*),
* ``SHA-256(0x01 || MTH(left) || MTH(right))`` otherwise, where *left* is
  the first ``k`` leaves, ``k`` the largest power of two below ``n``.

Three parts, all pure (no I/O, no clock):

* ``Frontier``: the right frontier of an append-only tree, one hash per set
  bit of its size (at most 64): O(log n) work per append, ``root()`` at any
  time, and ``to_json()`` / ``Frontier.from_json()`` so a snapshot or a
  pruned journal can keep it and extend the same tree later.
* ``LeafHashes``: every leaf hash of a tree in one bytearray (32 bytes each)
  plus the hashes of the perfect subtrees every ``STRIDE`` levels, kept as
  they complete during appends. Any subtree hash then costs at most
  ``2**(STRIDE-1) - 1`` node hashes, so a proof in a tree of a million
  leaves takes well under a millisecond. It implements ``HashStore``, which
  is all the proof generators need: another store (a table of stored
  subtree hashes, say) can stand in for it.
* ``inclusion_proof`` / ``consistency_proof`` (RFC 9162 2.1.3.1 and
  2.1.4.1) over a ``HashStore``, and ``verify_inclusion`` /
  ``verify_consistency`` (the verification algorithms of 2.1.3.2 and
  2.1.4.2), which need nothing but hashes and raise ``InvalidProof`` with
  the reason when a proof does not hold.

Leaf indexes count from 0; sizes are numbers of leaves.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from hashlib import sha256
from typing import Any, Protocol

#: Bytes in a hash (SHA-256).
HASH_SIZE = 32
#: The root of the empty tree.
EMPTY_ROOT = sha256(b"").digest()
#: LeafHashes keeps the hashes of the perfect subtrees of every STRIDE-th
#: level (16-leaf, 256-leaf, ... subtrees): 1/15 more memory than the leaf
#: hashes alone, and at most 7 node hashes to rebuild any other subtree.
STRIDE = 4


class InvalidProof(ValueError):
    """A proof does not hold (the message says what was checked), or its
    parameters are out of range."""


def leaf_hash(leaf: bytes) -> bytes:
    """The RFC 9162 hash of one leaf: SHA-256(0x00 || leaf)."""
    return sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 hash of an interior node: SHA-256(0x01 || left || right)."""
    return sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than *n* (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# -- the frontier --------------------------------------------------------------------


class Frontier:
    """The right frontier of an append-only Merkle tree.

    It holds the roots of the perfect subtrees that make up the tree, largest
    (leftmost) first: one for each set bit of ``size``. Appending a leaf
    merges equal-sized subtrees (O(log n) node hashes at worst, one on
    average); ``root()`` folds them from the right.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @property
    def size(self) -> int:
        """The number of leaves appended."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The perfect subtree roots, leftmost (largest) first."""
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> bytes:
        """Append the leaf *leaf* (its bytes); return its leaf hash."""
        hashed = leaf_hash(leaf)
        self.append_hash(hashed)
        return hashed

    def append_hash(self, hashed: bytes) -> None:
        """Append a leaf given by its leaf hash (``leaf_hash(leaf)``)."""
        if len(hashed) != HASH_SIZE:
            raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, not {len(hashed)}")
        n = self._size
        stack = self._hashes
        # Each trailing 1 bit of the old size is a subtree of the new leaf's
        # size now complete: merge it, as a binary counter carries.
        while n & 1:
            hashed = node_hash(stack.pop(), hashed)
            n >>= 1
        stack.append(hashed)
        self._size += 1

    def root(self) -> bytes:
        """The tree's root hash (``EMPTY_ROOT`` when empty)."""
        if not self._hashes:
            return EMPTY_ROOT
        root = self._hashes[-1]
        for hashed in reversed(self._hashes[:-1]):
            root = node_hash(hashed, root)
        return root

    def copy(self) -> Frontier:
        return Frontier.restore(self._size, self._hashes)

    @classmethod
    def restore(cls, size: int, hashes: Sequence[bytes]) -> Frontier:
        """The frontier of a tree of *size* leaves whose perfect subtree
        roots are *hashes* (leftmost first).

        Raises:
            ValueError: the count or length of the hashes does not fit *size*.
        """
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"a tree size is a whole number, not {size!r}")
        if len(hashes) != size.bit_count():
            raise ValueError(
                f"a tree of {size} leaves has a frontier of {size.bit_count()} hashes, "
                f"not {len(hashes)}"
            )
        for hashed in hashes:
            if not isinstance(hashed, bytes) or len(hashed) != HASH_SIZE:
                raise ValueError(f"a frontier hash has {HASH_SIZE} bytes")
        frontier = cls()
        frontier._size = size
        frontier._hashes = list(hashes)
        return frontier

    def to_json(self) -> dict[str, Any]:
        """``{"size": N, "hashes": ["<base64>", ...]}``, for a snapshot."""
        return {
            "size": self._size,
            "hashes": [base64.b64encode(hashed).decode("ascii") for hashed in self._hashes],
        }

    @classmethod
    def from_json(cls, data: Any) -> Frontier:
        """The frontier ``to_json`` wrote.

        Raises:
            ValueError: *data* is not such a value (the message says how).
        """
        if not isinstance(data, dict) or set(data) != {"size", "hashes"}:
            raise ValueError('a frontier is an object with "size" and "hashes"')
        if not isinstance(data["hashes"], list):
            raise ValueError('a frontier\'s "hashes" is a list of base64 strings')
        return cls.restore(data["size"], [decode_hash(text) for text in data["hashes"]])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frontier):
            return NotImplemented
        return self._size == other._size and self._hashes == other._hashes

    def __repr__(self) -> str:
        return f"Frontier(size={self._size}, root={self.root().hex()})"


def decode_hash(text: Any) -> bytes:
    """A hash from its base64 text (as in proofs and checkpoints).

    Raises:
        ValueError: *text* is not the base64 of 32 bytes.
    """
    if not isinstance(text, str):
        raise ValueError(f"a hash is a base64 string, not {text!r}")
    try:
        hashed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{text!r} is not base64") from None
    if len(hashed) != HASH_SIZE:
        raise ValueError(f"{text!r} is {len(hashed)} bytes, not a {HASH_SIZE}-byte hash")
    return hashed


def encode_hash(hashed: bytes) -> str:
    """The base64 text of a hash."""
    return base64.b64encode(hashed).decode("ascii")


# -- stored hashes -------------------------------------------------------------------


class HashStore(Protocol):
    """What proof generation reads: the hashes of perfect subtrees."""

    @property
    def size(self) -> int:
        """The number of leaves stored."""
        ...

    def subtree(self, level: int, index: int) -> bytes:
        """The root of the perfect subtree of ``2**level`` leaves starting at
        leaf ``index << level`` (level 0: a leaf hash). Only asked for
        subtrees wholly inside ``size``."""
        ...


class LeafHashes:
    """Every leaf hash of an append-only tree, and its frontier.

    Memory: 32 bytes a leaf plus 1/15 of that for the stored levels (about
    34 MB for a million leaves). ``append`` costs what ``Frontier.append``
    costs plus a bytearray extend: the stored levels are the merges the
    frontier does anyway. Not safe to append from several threads at once;
    reads between appends see a consistent tree.
    """

    __slots__ = ("_leaves", "_levels", "_size", "_stack")

    def __init__(self, hashes: Iterable[bytes] = ()) -> None:
        self._leaves = bytearray()
        # _levels[j] holds the perfect subtree roots of level (j+1)*STRIDE.
        self._levels: list[bytearray] = []
        self._size = 0
        self._stack: list[bytes] = []
        for hashed in hashes:
            self.append_hash(hashed)

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf: bytes) -> bytes:
        """Append the leaf *leaf* (its bytes); return its leaf hash."""
        hashed = leaf_hash(leaf)
        self.append_hash(hashed)
        return hashed

    def append_hash(self, hashed: bytes) -> None:
        """Append a leaf given by its leaf hash."""
        if len(hashed) != HASH_SIZE:
            raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, not {len(hashed)}")
        self._leaves += hashed
        n = self._size
        stack = self._stack
        level = 0
        while n & 1:
            hashed = node_hash(stack.pop(), hashed)
            n >>= 1
            level += 1
            if level % STRIDE == 0:
                kept = level // STRIDE - 1
                if kept == len(self._levels):
                    self._levels.append(bytearray())
                self._levels[kept] += hashed
        stack.append(hashed)
        self._size += 1

    def leaf(self, index: int) -> bytes:
        """The leaf hash of leaf *index*."""
        if not 0 <= index < self._size:
            raise IndexError(f"leaf {index} is not in a tree of {self._size} leaves")
        return bytes(self._leaves[index * HASH_SIZE : (index + 1) * HASH_SIZE])

    def subtree(self, level: int, index: int) -> bytes:
        if level < 0 or index < 0 or (index + 1) << level > self._size:
            raise IndexError(
                f"no complete subtree of level {level} at {index} in a tree of {self._size} leaves"
            )
        kept, below = divmod(level, STRIDE)
        row = self._leaves if kept == 0 else self._levels[kept - 1]
        first = index << below
        if below == 0:
            return bytes(row[first * HASH_SIZE : (first + 1) * HASH_SIZE])
        hashes = [
            bytes(row[at : at + HASH_SIZE])
            for at in range(first * HASH_SIZE, (first + (1 << below)) * HASH_SIZE, HASH_SIZE)
        ]
        while len(hashes) > 1:
            hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
        return hashes[0]

    def frontier(self) -> Frontier:
        """The tree's frontier now (a copy: later appends leave it alone)."""
        return Frontier.restore(self._size, self._stack)

    def root(self, size: int | None = None) -> bytes:
        """The root of the tree of the first *size* leaves (default: all)."""
        size = self._size if size is None else size
        if not 0 <= size <= self._size:
            raise IndexError(f"no tree of {size} leaves in a tree of {self._size}")
        return subtree_root(self, 0, size)


# -- proofs --------------------------------------------------------------------------


def subtree_root(store: HashStore, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range the RFC's recursion produces: *start*
    is a multiple of a power of two at least ``end - start`` (so the range
    is perfect subtrees, one per set bit of its length, largest first)."""
    if end == start:
        return EMPTY_ROOT
    parts = []
    at = start
    length = end - start
    for level in range(length.bit_length() - 1, -1, -1):
        if length >> level & 1:
            parts.append(store.subtree(level, at >> level))
            at += 1 << level
    root = parts[-1]
    for part in reversed(parts[:-1]):
        root = node_hash(part, root)
    return root


def inclusion_proof(store: HashStore, index: int, size: int) -> list[bytes]:
    """The RFC 9162 inclusion proof (2.1.3.1) of leaf *index* in the tree of
    the first *size* leaves of *store*: the sibling subtree roots from the
    leaf up.

    Raises:
        InvalidProof: *index* is not below *size*, or *size* above the store's.
    """
    if not 0 <= index < size:
        raise InvalidProof(f"leaf {index} is not in a tree of {size} leaves")
    if size > store.size:
        raise InvalidProof(f"the tree has {store.size} leaves, fewer than {size}")
    path = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
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
        InvalidProof: not ``0 <= old <= new <= store.size``.
    """
    if not 0 <= old <= new:
        raise InvalidProof(f"no consistency proof from {old} leaves to {new}")
    if new > store.size:
        raise InvalidProof(f"the tree has {store.size} leaves, fewer than {new}")
    if old == 0 or old == new:
        return []
    path = []
    start, end, m, whole = 0, new, old, True
    # SUBPROOF(m, D[start:end], whole) unrolled; m counts from start.
    while m != end - start:
        k = _split(end - start)
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
            raise InvalidProof(f"proof hash {position} has {len(hashed)} bytes, not {HASH_SIZE}")


def root_from_inclusion_proof(
    hashed: bytes, index: int, size: int, proof: Sequence[bytes]
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
            raise InvalidProof(f"the proof is longer than a tree of {size} leaves needs")
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
    hashed: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that *proof* proves leaf hash *hashed* is leaf *index* of the
    tree of *size* leaves whose root is *root* (RFC 9162 2.1.3.2).

    Raises:
        InvalidProof: it does not.
    """
    _check_hashes(proof, ("root", root))
    if root_from_inclusion_proof(hashed, index, size, proof) != root:
        raise InvalidProof(
            f"the inclusion proof of leaf {index} does not lead to the root of the tree "
            f"of {size} leaves"
        )


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
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
            raise InvalidProof(f"the consistency proof is longer than {old} to {new} needs")
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
        raise InvalidProof(f"the consistency proof is shorter than {old} to {new} needs")
    if first != old_root:
        raise InvalidProof(
            f"the consistency proof does not lead to the old root (tree of {old} leaves)"
        )
    if second != new_root:
        raise InvalidProof(
            f"the consistency proof does not lead to the new root (tree of {new} leaves)"
        )
