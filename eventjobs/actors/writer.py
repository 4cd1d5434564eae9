"""The journal writer: the one path by which events reach the journal.

Recording an event is two steps with a checkpoint between them:

1. :meth:`JournalWriter.record_nowait` (synchronous) gives the event the next
   sequence number, applies it to the job table, and adds it to the open
   batch. Because it does not yield, a caller can check the table and record
   the consequence atomically: two concurrent fetches of one result cannot
   both see it unfetched.
2. The writer's task appends the whole batch with one durable write (group
   commit) and then releases everyone waiting on that batch.

So the table may run ahead of the disk by at most the batch in flight, and
every answer that depends on an event (a 202, a fetched result) is sent only
after waiting for its batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import attrs
import trio

from ..errors import JournalUnavailable
from ..events import Event
from ..journal import Journal, Recorded
from ..projection import JobTable

log = logging.getLogger("eventjobs.writer")

#: How long the final flush at shutdown may take before it is abandoned.
FINAL_FLUSH_SECONDS = 10.0


class Batch:
    """A group of records made durable by one append; await :meth:`durable`."""

    def __init__(self) -> None:
        self.records: list[Recorded] = []
        self._done = trio.Event()
        self._error: BaseException | None = None

    def finish(self, error: BaseException | None = None) -> None:
        self._error = error
        self._done.set()

    async def durable(self) -> None:
        """Return once every record of this batch is in the journal.

        Raises:
            JournalUnavailable: the batch did not reach the journal.

        Cancellation: only the waiting stops; the records stay recorded.
        """
        await self._done.wait()
        if self._error is not None:
            raise JournalUnavailable(str(self._error)) from self._error


@attrs.frozen
class WriterStatistics:
    batches: int
    records: int
    largest_batch: int


class JournalWriter:
    """Owns the journal and the job table; see the module docstring.

    Start it with ``await nursery.start(writer.run)``. After a failed append
    it refuses every further record (raising :class:`JournalUnavailable`):
    the table then holds events the disk does not, and only a restart, which
    rebuilds the table from the journal, makes the two agree again.
    """

    def __init__(self, journal: Journal, table: JobTable) -> None:
        self.journal = journal
        self.table = table
        self._batch = Batch()
        #: The newest batch holding any record: batches become durable in
        #: order, so once it is durable everything recorded so far is.
        self._last_batch: Batch | None = None
        self._wakeup = trio.Event()
        #: Called with each event right after it is applied to the table (for
        #: waking whoever waits on a job); they must not raise or yield.
        self.observers: list[Callable[[Event], None]] = []
        self._closing = False
        self._failure: JournalUnavailable | None = None
        self._batches = 0
        self._records = 0
        self._largest = 0

    def __repr__(self) -> str:
        return (
            f"<JournalWriter position={self.table.position} "
            f"durable={self.journal.head} open_batch={len(self._batch.records)}>"
        )

    def statistics(self) -> WriterStatistics:
        return WriterStatistics(self._batches, self._records, self._largest)

    @property
    def failure(self) -> JournalUnavailable | None:
        """The append error that stopped this writer, if any."""
        return self._failure

    def record_nowait(self, event: Event) -> Batch:
        """Apply *event* to the table now and queue it for the journal.

        Returns:
            The batch that will carry it; ``await batch.durable()`` to wait.

        Raises:
            JournalUnavailable: a previous append failed; nothing is recorded.
            IllegalTransition: *event* does not follow the table (a bug).
        """
        if self._failure is not None:
            raise self._failure
        if self._closing:
            raise JournalUnavailable("the journal writer is closed")
        record = Recorded(self.table.position + 1, event)
        self.table.apply(record)
        for observer in self.observers:
            observer(event)
        self._batch.records.append(record)
        self._last_batch = self._batch
        self._wakeup.set()
        return self._batch

    async def record(self, event: Event) -> None:
        """Record *event* and wait until it is durable (see :meth:`record_nowait`)."""
        await self.record_nowait(event).durable()

    async def flush(self) -> None:
        """Wait until everything recorded so far is durable.

        Raises:
            JournalUnavailable: some of it did not reach the journal.
        """
        if self._last_batch is not None:
            await self._last_batch.durable()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Append batches until :meth:`close`; then flush and return.

        Run it where cancellation reaches it only after everyone who records
        has stopped (the runtime shields it): events recorded after this
        returns are refused with :class:`JournalUnavailable`.

        Cancellation: the open batch is not flushed; its waiters get
        :class:`JournalUnavailable`.
        """
        task_status.started()
        try:
            while not (self._closing and not self._batch.records):
                await self._wakeup.wait()
                self._wakeup = trio.Event()
                await self._append_batch()
        finally:
            self._closing = True
            self._batch.finish(self._failure or JournalUnavailable("the journal writer stopped"))

    def close(self) -> None:
        """Ask :meth:`run` to flush what is recorded and return."""
        self._closing = True
        self._wakeup.set()

    async def _append_batch(self) -> None:
        batch = self._batch
        if not batch.records:
            return
        self._batch = Batch()
        if self._failure is not None:
            # Recorded before the failure was known; never appended after it,
            # or its sequence numbers would not continue the journal.
            batch.finish(self._failure)
            return
        try:
            await self.journal.append(batch.records)
        except JournalUnavailable as error:
            log.error("journal append failed; no further events are accepted: %s", error)
            self._failure = error
            batch.finish(error)
            return
        except BaseException:
            batch.finish(JournalUnavailable("the journal writer stopped during an append"))
            raise
        self._batches += 1
        self._records += len(batch.records)
        self._largest = max(self._largest, len(batch.records))
        batch.finish()
