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
  subtree hashes, say) can stand in for it. Started from a ``Frontier``
  (what a pruned journal keeps of its removed prefix), it proves every
  later leaf and every consistency from a size at or past the cut.
* ``inclusion_proof`` / ``consistency_proof`` (RFC 9162 2.1.3.1 and
  2.1.4.1) over a ``HashStore``, and ``verify_inclusion`` /
  ``verify_consistency`` (the verification algorithms of 2.1.3.2 and
  2.1.4.2), which need nothing but hashes and raise ``InvalidProof`` with
  the reason when a proof does not hold.

Leaf indexes count from 0; sizes are numbers of leaves.
"""

from __future__ import annotations

from .frontier import Frontier
from .hashing import (
    EMPTY_ROOT,
    HASH_SIZE,
    decode_hash,
    encode_hash,
    leaf_hash,
    node_hash,
)
from .proofs import (
    InvalidProof,
    consistency_proof,
    inclusion_proof,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from .store import STRIDE, HashStore, LeafHashes, Pruned, subtree_root

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "STRIDE",
    "Frontier",
    "HashStore",
    "InvalidProof",
    "LeafHashes",
    "Pruned",
    "consistency_proof",
    "decode_hash",
    "encode_hash",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_proof",
    "subtree_root",
    "verify_consistency",
    "verify_inclusion",
]
