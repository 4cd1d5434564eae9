"""What every audit store shares (see ``audit_store.py``). Pure: no I/O.

The journal's id (made fresh, and named in each checkpoint's origin line),
the error of a pruned journal whose tree cannot be rebuilt, and the check
of one stored line read on its own (its seal and sequence number), which
the file and PostgreSQL stores both make when asked for single lines.
"""

from __future__ import annotations

import secrets

from ..errors import JournalCorrupt
from .lines import REPAIR_HINT, sealed_hash


def origin_of(journal_id: str) -> str:
    """The checkpoint origin line of the journal *journal_id*."""
    return f"eventjobs/journal/{journal_id}"


def new_id() -> str:
    """A fresh journal id: 128 random bits in hex."""
    return secrets.token_hex(16)


class NoFrontier(JournalCorrupt):
    """The journal was pruned by a version that kept no Merkle frontier of
    what it removed: the tree cannot be rebuilt (the chain still verifies)."""


def seq_of(raw: bytes) -> int | None:
    """The sequence number a stored line begins with, or None (read from
    its first bytes only, without decoding the JSON)."""
    if not raw.startswith(b'{"seq":'):
        return None
    end = raw.find(b",", 7, 30)
    digits = raw[7:end]
    return int(digits) if end > 0 and digits.isdigit() else None


def checked_line(line: bytes, seq: int, where: str) -> bytes:
    """*line*, once it is known to be record *seq*'s and sealed.

    Raises:
        JournalCorrupt: it is another record's, or does not match its hash
            (*where* names the journal in the message).
    """
    if seq_of(line) != seq or sealed_hash(line) is None:
        raise JournalCorrupt(
            f"{where}: record {seq} does not match its hash. {REPAIR_HINT}"
        )
    return line
