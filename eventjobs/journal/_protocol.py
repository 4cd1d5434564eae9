"""The journal contract that every backend fulfils.

A journal is an append-only, totally ordered sequence of events. Each record
has a sequence number: the first is 1 and every next one is exactly one more,
with no gaps, forever. That number is the journal's *position*; ``head`` is
the position of the last record (0 when empty).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from ..records import Recorded  # re-exported: the journal's record type


class Journal(Protocol):
    """The narrow interface the rest of eventjobs uses to persist events.

    Backends: :class:`~eventjobs.journal.MemoryJournal` (tests, ephemeral
    servers) and :class:`~eventjobs.journal.FileJournal` (the default).
    ``tests/journal/contract.py`` is the suite every backend must pass.
    """

    #: Whether :meth:`read` does blocking I/O (and so belongs in a thread).
    reads_block: bool

    @property
    def head(self) -> int:
        """The sequence number of the last durable record; 0 when empty."""
        ...

    async def append(self, records: Sequence[Recorded]) -> Sequence[int] | None:
        """Append *records* durably, all or none, as one batch.

        Their sequence numbers must continue the journal: ``head + 1``,
        ``head + 2``, ... When this returns, every record is durable.

        Returns:
            Where each record now lies (see :attr:`Recorded.location`), for a
            backend that can read one back with :meth:`read_at`; else None.

        Raises:
            JournalConflict: the sequence numbers do not continue the head;
                nothing was written.
            JournalUnavailable: the storage failed; nothing of the batch
                remains in the journal.

        Cancellation: a backend that hands the I/O to a worker thread finishes
        that I/O before raising ``Cancelled``, so a batch is never left half
        written; whether it was written is then unknown to the caller.
        """
        ...

    def read(self, after: int = 0) -> Iterator[Recorded]:
        """Yield the durable records with ``seq > after``, in order.

        Blocking: a backend on storage does its I/O inline, so call it from a
        worker thread (or before the event loop serves anything).

        Raises:
            JournalCorrupt: a record cannot be read; the message says where.
        """
        ...

    def read_at(self, location: int) -> Recorded:
        """The record at *location* (from :meth:`append` or :meth:`read`),
        checked against its own hash. Blocking where :attr:`reads_block`.

        Raises:
            JournalCorrupt: it is not there, or does not match its hash.
        """
        ...

    async def save_snapshot(
        self, position: int, header: dict[str, Any], jobs: Iterable[dict[str, Any]]
    ) -> object:
        """Durably keep a snapshot of the views as of *position*: *header*
        and the *jobs* entries (JSON-ready dicts, in order).

        *jobs* is consumed once, one entry at a time, possibly in a worker
        thread (a lazy iterable lets the encoding happen there too); it must
        not change meanwhile. Its entries are non-empty and have no member
        named ``hash``. *position* must not be past the head: a snapshot
        covers durable records only. A snapshot replaces the older ones
        (a backend may keep a few).

        Raises:
            ValueError: *position* is past the head.
            JournalUnavailable: the storage failed; no new snapshot was kept
                (older ones are intact).
        """
        ...

    def load_snapshot(
        self,
    ) -> tuple[int, dict[str, Any], Iterator[dict[str, Any]]] | None:
        """The newest snapshot as ``(position, header, jobs)``, or None.

        *jobs* yields the entries in the order they were saved, reading them
        as it goes (so they are never all in memory at once); it is known to
        be whole only once exhausted without an error, so use what it gave
        only then. Blocking where :attr:`reads_block` is true (the call and
        the iteration).

        Raises (from the call, or from *jobs* while iterated):
            JournalCorrupt: the snapshot is damaged or does not match the
                records; the message says where.
        """
        ...

    async def aclose(self) -> None:
        """Release the journal's resources; appends after this are a bug."""
        ...
