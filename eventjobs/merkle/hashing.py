"""The hashes of RFC 9162 section 2.1 (SHA-256) and their base64 text."""

from __future__ import annotations

import base64
import binascii
from hashlib import sha256
from typing import Any

#: Bytes in a hash (SHA-256).
HASH_SIZE = 32
#: The root of the empty tree.
EMPTY_ROOT = sha256(b"").digest()


def leaf_hash(leaf: bytes | bytearray | memoryview) -> bytes:
    """The RFC 9162 hash of one leaf: SHA-256(0x00 || leaf)."""
    hashing = sha256(b"\x00")
    hashing.update(leaf)  # not b"\x00" + leaf: a big line is not copied
    return hashing.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 hash of an interior node: SHA-256(0x01 || left || right)."""
    return sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than *n* (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


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
        raise ValueError(
            f"{text!r} is {len(hashed)} bytes, not a {HASH_SIZE}-byte hash"
        )
    return hashed


def encode_hash(hashed: bytes) -> str:
    """The base64 text of a hash."""
    return base64.b64encode(hashed).decode("ascii")
