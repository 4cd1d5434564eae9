"""What the verifiable audit trail keeps beside a journal. Blocking.

Four things, for each backend:

* the journal's **id**, made once (on first use) and never changed: it names
  the journal in every checkpoint's origin line, so a checkpoint of one
  journal can never pass for another's (file: ``journal-id`` in the
  directory; PostgreSQL: ``journal_id`` in the ``meta`` table; memory: the
  journal object);
* the **stored lines**, the leaves of the Merkle tree: each record's line
  exactly as stored, without its newline, from sequence number 1 on. The
  file and PostgreSQL journals store the same bytes (``journal copy`` keeps
  them), so both give the same tree; the memory journal keeps no lines and
  gives the ones a file journal would have written for its records;
* the **tree's start**: for a pruned journal directory, the frontier of the
  tree over the records ``journal prune`` removed (kept in its checkpoint
  file), from which the tree goes on with the lines that remain; every
  other journal starts from the empty tree;
* the **signed checkpoints** (file: ``checkpoints/<size>.txt``; PostgreSQL:
  the ``checkpoints`` table; memory: a list), the latest of which the server
  shows.

A store never needs the journal's lock: the audit commands use one on a
directory a live server is writing (a checkpoint file is written to a new
name and renamed, so a reader sees a whole one or none).

This module is the protocol and :func:`store_of`, which chooses the store;
each backend's is its own module (``memory_audit_store.py``,
``file_audit_store.py``, ``pg_audit_store.py``), and what they share is in
``audit_base.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from ..merkle import Frontier
from .audit_base import NoFrontier, origin_of
from .file_audit_store import FileAuditStore
from .memory import MemoryJournal
from .memory_audit_store import MemoryAuditStore
from .pg_audit_store import PostgresAuditStore

# What a user of a store needs besides the protocol: the origin line its id
# names, and the error of a journal whose tree cannot be rebuilt.
__all__ = ["AuditStore", "NoFrontier", "origin_of", "store_of"]


class AuditStore(Protocol):
    """The id, stored lines and checkpoints of one journal (see the module)."""

    #: Whether the methods do blocking I/O (call them from a worker thread).
    blocking: bool

    def journal_id(self, create: bool = True) -> str | None:
        """The journal's id, made now if it has none yet (with *create*;
        else None then)."""
        ...

    def tree_start(self) -> Frontier:
        """The frontier of the tree over the records before the first
        stored line (empty unless the journal was pruned).

        Raises:
            NoFrontier: pruned, and no frontier was kept.
            JournalCorrupt: the prune checkpoint is damaged.
        """
        ...

    def lines(self, after: int, upto: int | None) -> Iterator[bytes | bytearray]:
        """The stored lines of records ``after + 1`` to *upto* (None: to the
        last whole line), in order.

        Raises:
            JournalCorrupt: a record is missing, or pruned away (*after* is
                below ``tree_start().size``), or does not chain to the one
                before.
        """
        ...

    def lines_at(self, seqs: Sequence[int]) -> Sequence[bytes | bytearray]:
        """The stored lines of the records *seqs* (ascending, each stored),
        read one by one: a few reads each however long the journal. Each is
        checked for its seal and sequence number only (the caller compares
        it with the tree's leaf hash, which covers the chain).

        Raises:
            JournalCorrupt: a record is not there, or its line is damaged.
        """
        ...

    def save_checkpoint(self, size: int, note: str) -> None:
        """Keep the signed checkpoint *note* of the tree of *size* leaves
        (replacing one of the same size)."""
        ...

    def latest_checkpoint(self) -> str | None:
        """The kept checkpoint of the largest tree, or None."""
        ...


def store_of(where: object) -> AuditStore:
    """The store of a journal object, a directory, or a PostgreSQL location."""
    from .pg_url import PostgresLocation

    if isinstance(where, MemoryJournal):
        return MemoryAuditStore(where)
    if isinstance(where, Path):
        return FileAuditStore(where)
    if isinstance(where, PostgresLocation):
        return PostgresAuditStore(where)
    directory = getattr(where, "directory", None)
    if isinstance(directory, Path):
        return FileAuditStore(directory)
    location = getattr(where, "location", None)
    if isinstance(location, PostgresLocation):
        return PostgresAuditStore(location)
    raise TypeError(f"no audit store for {where!r}")
