"""The right frontier of an append-only Merkle tree."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .hashing import (
    EMPTY_ROOT,
    HASH_SIZE,
    decode_hash,
    encode_hash,
    leaf_hash,
    node_hash,
)


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

    def append(self, leaf: bytes | bytearray | memoryview) -> bytes:
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
            "hashes": [encode_hash(hashed) for hashed in self._hashes],
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
