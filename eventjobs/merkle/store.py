"""Stored leaf and subtree hashes: what proof generation reads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from .frontier import Frontier
from .hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash

#: LeafHashes keeps the hashes of the perfect subtrees of every STRIDE-th
#: level (16-leaf, 256-leaf, ... subtrees): 1/15 more memory than the leaf
#: hashes alone, and at most 7 node hashes to rebuild any other subtree.
STRIDE = 4


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


class Pruned(LookupError):
    """Asked for a hash of the part of the tree kept only as its frontier
    (the leaves before :attr:`LeafHashes.start`)."""


class LeafHashes:
    """Every leaf hash of an append-only tree, and its frontier.

    Memory: 32 bytes a leaf plus 1/15 of that for the stored levels (about
    34 MB for a million leaves). ``append`` costs what ``Frontier.append``
    costs plus a bytearray extend: the stored levels are the merges the
    frontier does anyway. Not safe to append from several threads at once;
    reads between appends see a consistent tree.

    With *start* (the frontier of the first ``start.size`` leaves, as a
    pruned journal keeps it) the tree goes on from there: its root, every
    inclusion proof of a leaf at or after ``start.size`` and every
    consistency proof from a size at or above it are those of the whole
    tree, because every subtree they need that lies wholly before the cut
    is one of the frontier's perfect subtrees (a smaller one would have its
    sibling inside the prefix too, so no such proof asks for it). Anything
    else before the cut raises :class:`Pruned`.
    """

    __slots__ = ("_bases", "_leaves", "_levels", "_prefix", "_size", "_stack", "start")

    def __init__(
        self, hashes: Iterable[bytes] = (), start: Frontier | None = None
    ) -> None:
        self._leaves = bytearray()
        # _levels[j] holds the perfect subtree roots of level (j+1)*STRIDE,
        # from subtree index _bases[j + 1] on (those completed after start).
        self._levels: list[bytearray] = []
        self._bases: list[int] = [0]
        #: The number of leaves known only by the start frontier.
        self.start = 0
        # (level, index) -> hash of the start frontier's perfect subtrees.
        self._prefix: dict[tuple[int, int], bytes] = {}
        self._size = 0
        self._stack: list[bytes] = []
        if start is not None and start.size:
            self.start = self._size = start.size
            self._stack = list(start.hashes)
            self._bases = [start.size]
            at = 0
            for level, hashed in zip(
                (
                    lv
                    for lv in range(start.size.bit_length() - 1, -1, -1)
                    if start.size >> lv & 1
                ),
                start.hashes,
                strict=True,
            ):
                self._prefix[level, at >> level] = hashed
                at += 1 << level
        for hashed in hashes:
            self.append_hash(hashed)

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf: bytes | bytearray | memoryview) -> bytes:
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
                    # The first subtree of this level completed here.
                    self._bases.append(self._size >> level)
                self._levels[kept] += hashed
        stack.append(hashed)
        self._size += 1

    def leaf(self, index: int) -> bytes:
        """The leaf hash of leaf *index*.

        Raises:
            Pruned: the leaf is before :attr:`start`.
        """
        if not 0 <= index < self._size:
            raise IndexError(f"leaf {index} is not in a tree of {self._size} leaves")
        if index < self.start:
            raise Pruned(
                f"leaf {index} was pruned (the tree keeps leaves from {self.start} on)"
            )
        at = index - self.start
        return bytes(self._leaves[at * HASH_SIZE : (at + 1) * HASH_SIZE])

    def subtree(self, level: int, index: int) -> bytes:
        if level < 0 or index < 0 or (index + 1) << level > self._size:
            raise IndexError(
                f"no complete subtree of level {level} at {index} in a tree of {self._size} leaves"
            )
        if index << level < self.start:
            return self._across_start(level, index)
        kept, below = divmod(level, STRIDE)
        row = self._leaves if kept == 0 else self._levels[kept - 1]
        # Rows hold the subtrees completed after start, from _bases[kept] on.
        first = (index << below) - self._bases[kept]
        if below == 0:
            return bytes(row[first * HASH_SIZE : (first + 1) * HASH_SIZE])
        hashes = [
            bytes(row[at : at + HASH_SIZE])
            for at in range(
                first * HASH_SIZE, (first + (1 << below)) * HASH_SIZE, HASH_SIZE
            )
        ]
        while len(hashes) > 1:
            hashes = [
                node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)
            ]
        return hashes[0]

    def _across_start(self, level: int, index: int) -> bytes:
        """A subtree that begins before :attr:`start`: one of the start
        frontier's, or the node over two halves (one of them across the cut
        at most, so this recursion is one step a level)."""
        hashed = self._prefix.get((level, index))
        if hashed is not None:
            return hashed
        if (index + 1) << level <= self.start or level == 0:
            raise Pruned(
                f"the subtree of leaves {index << level} to {((index + 1) << level) - 1} "
                f"was pruned (the tree keeps its frontier at {self.start} leaves)"
            )
        return node_hash(
            self.subtree(level - 1, 2 * index), self.subtree(level - 1, 2 * index + 1)
        )

    def frontier(self) -> Frontier:
        """The tree's frontier now (a copy: later appends leave it alone)."""
        return Frontier.restore(self._size, self._stack)

    def root(self, size: int | None = None) -> bytes:
        """The root of the tree of the first *size* leaves (default: all).

        Raises:
            Pruned: *size* is below :attr:`start` (and not 0).
        """
        size = self._size if size is None else size
        if not 0 <= size <= self._size:
            raise IndexError(f"no tree of {size} leaves in a tree of {self._size}")
        if 0 < size < self.start:
            raise Pruned(
                f"the tree of {size} leaves was pruned (the tree keeps its frontier "
                f"at {self.start} leaves)"
            )
        return subtree_root(self, 0, size)


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
