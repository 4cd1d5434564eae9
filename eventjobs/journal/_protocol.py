"""The journal contract that every backend fulfils.

A journal is an append-only, totally ordered sequence of events. Each record
has a sequence number: the first is 1 and every next one is exactly one more,
with no gaps, forever. That number is the journal's *position*; ``head`` is
the position of the last record (0 when empty).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from ..events import Event
from ..records import Recorded
from ..referee import Rejected


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
    ) -> None:
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


# -- a node: one of several servers sharing a journal --------------------------


@attrs.frozen
class Judged:
    """What a judged append did (:meth:`NodeJournal.append_judged`): per
    event, its record or why it was rejected; and the journal's new head
    (seq and hash)."""

    outcomes: list[Recorded | Rejected]
    head: int
    head_hash: str


@attrs.frozen
class TakenJob:
    """A job moved to this node by :meth:`NodeJournal.take_over`: its phase
    then, and, for a running job asked to stop, who asked (the
    ``cancelling`` event's ``by``; None when nobody was authenticated)."""

    job_id: int
    phase: str
    cancelling: bool
    cancelled_by: str | None = None


@runtime_checkable
class NodeJournal(Protocol):
    """A journal that several servers (nodes) share and write at once.

    The journal itself referees every appended event against its job's
    state (:mod:`eventjobs.referee`) and numbers the admitted ones, so a
    node appends events, not records, and follows what the other nodes
    append. Backend: :class:`~eventjobs.journal.pg_node.PostgresNodeJournal`;
    ``tests/journal/node_contract.py`` is its contract suite. Open one with
    :func:`~eventjobs.journal.open_journal` (``shared=True``).

    Reads are as :class:`Journal`'s; :attr:`head` is where this node has
    followed the journal to, which the other nodes' appends move past.
    """

    #: Whether :meth:`read`, :meth:`read_at`, :meth:`read_followed` and
    #: :meth:`load_snapshot` do blocking I/O (and so belong in a thread).
    reads_block: bool

    @property
    def location(self) -> object:
        """Where the journal is; its ``str`` is safe to print (no password)."""
        ...

    @property
    def node(self) -> int | None:
        """This server's node id once it has joined (:meth:`join`), else None."""
        ...

    @property
    def head(self) -> int:
        """The last record this node knows of (appended or followed)."""
        ...

    # -- membership ------------------------------------------------------------

    async def join(
        self, name: str, lease: float, *, key_window: float = 86400.0
    ) -> int:
        """Join the nodes with a lease of *lease* seconds; return the node id.
        *key_window* is how long an ``Idempotency-Key`` names its first job
        (``--idempotency-window``): the journal refuses a second ``queued``
        with it, from any node, until then.

        Raises:
            JournalUnavailable: the storage failed; not joined.
        """
        ...

    async def renew_lease(self) -> float | None:
        """Extend this node's lease; return the journal's clock then (unix
        seconds: the one clock of every node, docs/multi-node.md), or None
        once it was fenced (another node found it expired and took its
        jobs: it must stop recording).

        Raises:
            JournalUnavailable: the storage failed; the lease runs on.
        """
        ...

    async def lost_lease(self) -> str:
        """Why this node may not act any more (after :meth:`renew_lease`
        returned None): one sentence saying whether another node fenced it
        and took its jobs, or its lease only ran out.

        Raises:
            JournalUnavailable: the storage failed.
        """
        ...

    async def take_over(self) -> list[TakenJob]:
        """Fence the nodes whose lease expired and move to this node every
        unfinished job no live node holds; return those jobs, by id.

        Raises:
            NodeFenced: this node itself may not act any more.
            JournalUnavailable: the storage failed; nothing was moved.
        """
        ...

    async def held(self) -> list[tuple[int, str]]:
        """The unfinished jobs this node holds: (job id, phase), by id."""
        ...

    async def leave(self) -> None:
        """Give up this node's lease (a clean stop): the jobs it leaves are
        taken over at once. Does nothing before :meth:`join`."""
        ...

    # -- appending and following -----------------------------------------------

    async def append_judged(self, events: Sequence[Event]) -> Judged:
        """Judge and append *events* as this node, in one transaction: each
        is admitted (numbered from the journal's head; a ``queued`` event
        with job id 0 is given the next job id) or rejected, and only the
        admitted ones are written. Moves :attr:`head` to the new head.

        Raises:
            NodeFenced: this node lost its lease; nothing was written.
            JournalUnavailable: the storage failed; whether the batch was
                written is unknown (a retry is judged again, so an event
                already written is rejected, not written twice).

        Cancellation: the transaction is finished in its thread first.
        """
        ...

    async def database_head(self) -> int:
        """The journal's head in the storage now (all nodes' appends)."""
        ...

    async def wait_for_head(self, after: int, *, look_first: bool = True) -> int:
        """Wait until the journal's head is past *after*; return it.

        *look_first*: read the head before waiting; a caller that calls
        again right after a return may pass False (nothing is missed).

        Raises:
            JournalUnavailable: the storage failed (call again to retry).

        Cancellation: safe at any point; nothing is left half done.
        """
        ...

    def read_followed(self, after: int, upto: int) -> list[tuple[Recorded, int]]:
        """The records after *after* up to *upto*, each with the id of the
        node that wrote it (0: none), verified and carrying its location.
        Blocking where :attr:`reads_block`."""
        ...

    def advance_to(self, seq: int, digest: str | None = None) -> None:
        """Note that the journal reaches *seq* (hash *digest* when known),
        as followed; a *seq* at or before :attr:`head` changes nothing."""
        ...

    # -- reading, snapshots and closing: as Journal's ------------------------------

    def read(self, after: int = 0) -> Iterator[Recorded]:
        """As :meth:`Journal.read`."""
        ...

    def read_at(self, location: int) -> Recorded:
        """As :meth:`Journal.read_at`."""
        ...

    async def save_snapshot(
        self,
        position: int,
        header: dict[str, Any],
        jobs: Iterable[dict[str, Any]],
        *,
        min_gap: int = 0,
    ) -> bool:
        """As :meth:`Journal.save_snapshot`, with *min_gap*: store it only if
        the newest snapshot (any node's) is at least this many records
        older, so that the nodes write one per interval between them.
        Returns whether it was stored."""
        ...

    def load_snapshot(
        self,
    ) -> tuple[int, dict[str, Any], Iterator[dict[str, Any]]] | None:
        """As :meth:`Journal.load_snapshot` (any node's newest snapshot)."""
        ...

    async def aclose(self) -> None:
        """Release the journal's resources (not the lease: see
        :meth:`leave`); appends after this are a bug."""
        ...
