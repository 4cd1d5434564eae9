"""The journal writer: the one path by which events reach the journal.

Recording an event is two steps with a checkpoint between them:

1. :meth:`JournalWriter.record_nowait` (synchronous) gives the event the next
   sequence number, applies it to the job table, and adds it to the open
   batch. Because it does not yield, a caller can check the table and record
   the consequence atomically: two concurrent fetches of one result cannot
   both see it unfetched.
2. The writer's task appends the whole batch with one durable write (group
   commit), then hands each of its records to the ``observers`` (metrics,
   job log, live feeds: they see only what the journal holds) and releases
   everyone waiting on that batch.

So the table may run ahead of the disk by at most the batches in flight, and
every answer that depends on an event (a 202, a fetched result) is sent only
after waiting for its batch.

When an append fails (disk full, I/O error), the writer recovers by itself:

- everyone waiting on the lost batches gets :class:`JournalUnavailable` (the
  API answers 503: nothing they asked for happened);
- the table is rebuilt from what the journal durably holds (tried again,
  with the same back-off, while the journal cannot be read either);
- events recorded with ``retry=True`` (how a job ended: facts that happened
  and that nobody is waiting to be told about) are applied again and kept
  for the next attempt;
- for a back-off interval new requests are refused at once, then the next
  append tries the disk again; the interval doubles while it keeps failing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import attrs
import trio

from ..errors import IllegalTransition, JournalUnavailable
from ..events import Event
from ..journal import Journal
from ..lifecycle import ends_job
from ..records import Recorded
from ..projection import JobTable
from .writing import AppendCounters, Backoff, Ticket, WriterStatistics

log = logging.getLogger("eventjobs.writer")

#: How long the final flush at shutdown may take before it is abandoned.
FINAL_FLUSH_SECONDS = 10.0


class _Batch:
    """The tickets made durable by one append, each with its record."""

    __slots__ = ("records", "tickets")

    def __init__(self) -> None:
        self.tickets: list[Ticket] = []
        self.records: list[Recorded] = []

    def fail(self, error: BaseException) -> None:
        for ticket in self.tickets:
            ticket.finish(error)


Rebuild = Callable[[], Awaitable[JobTable]]


class JournalWriter:
    """The single server's :class:`~eventjobs.actors.writing.Writer`: owns
    the journal and the job table; see the module docstring.

    Args:
        journal: where batches go.
        table: the live views, updated as events are recorded.
        rebuild: gives the table as the journal durably holds it (used after
            a failed append); without it a failed append stops the writer for
            good.
    """

    def __init__(
        self, journal: Journal, table: JobTable, rebuild: Rebuild | None = None
    ) -> None:
        self.journal = journal
        self.table = table
        self._rebuild = rebuild
        self._batch = _Batch()
        #: The newest ticket: batches become durable in order, so once it
        #: is durable everything recorded so far is.
        self._last: Ticket | None = None
        self._wakeup = trio.Event()
        #: Called with each record once it is durable (right after its
        #: batch's append), in journal order, with its final sequence number:
        #: an event of a lost batch is never seen, one kept and appended again
        #: is seen once, when it lands. Then ``applied_observers`` (with
        #: ``own=True``: every record here is this server's).
        self.observers: list[Callable[[Recorded], None]] = []
        self.applied_observers: list[Callable[[Recorded, bool], None]] = []
        self.append_observers: list[Callable[[float, int], None]] = []
        self._closing = False
        #: Set while appends are failing: plain records are refused.
        self._failure: JournalUnavailable | None = None
        #: While the table is rebuilt, retried events wait here.
        self._rebuilding: list[Ticket] | None = None
        self._healthy = trio.Event()
        self._healthy.set()
        self._backoff = Backoff()
        self._counters = AppendCounters()

    def __repr__(self) -> str:
        state = "failing" if self._failure is not None else "healthy"
        return (
            f"<JournalWriter {state} position={self.table.position} "
            f"durable={self.journal.head} open_batch={len(self._batch.records)}>"
        )

    def statistics(self) -> WriterStatistics:
        return self._counters.frozen()

    @property
    def failure(self) -> JournalUnavailable | None:
        """The append error the writer is recovering from, if any."""
        return self._failure

    async def wait_healthy(self) -> None:
        """Return when appends are not known to be failing."""
        await self._healthy.wait()

    def record_nowait(self, event: Event, *, retry: bool = False) -> Ticket:
        """Apply *event* to the table now and queue it for the journal.

        Args:
            retry: keep the event and append it later if its batch is lost
                (for how a job ended); otherwise a lost batch loses it, and
                its waiters are told.

        Returns:
            Its ticket; ``await ticket.durable()`` to wait for the disk.

        Raises:
            JournalUnavailable: appends are failing (and *retry* is false), or
                the writer is closed; nothing is recorded.
            IllegalTransition: *event* does not follow the table (a bug).
        """
        if self._closing:
            raise JournalUnavailable("the journal writer is closed")
        if self._failure is not None and not retry:
            raise self._failure
        ticket = Ticket(event, retry)
        if self._rebuilding is not None:
            self._rebuilding.append(ticket)
        else:
            self._record(ticket)
        return ticket

    def _record(self, ticket: Ticket) -> None:
        record = Recorded(self.table.position + 1, ticket.event)
        self.table.apply(record)
        self._batch.tickets.append(ticket)
        self._batch.records.append(record)
        self._last = ticket
        self._wakeup.set()

    async def record(self, event: Event) -> Recorded:
        """Record *event* and wait until it is durable (see :meth:`record_nowait`)."""
        return await self.record_nowait(event).durable()

    async def flush(self) -> None:
        """Wait until everything recorded so far is durable.

        Raises:
            JournalUnavailable: some of it did not reach the journal.
        """
        if self._last is not None:
            await self._last.durable()

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
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
            self._batch.fail(
                self._failure or JournalUnavailable("the journal writer stopped")
            )

    def close(self) -> None:
        """Ask :meth:`run` to flush what is recorded and return."""
        self._closing = True
        self._wakeup.set()

    async def _append_batch(self) -> None:
        batch = self._batch
        if not batch.records:
            return
        self._batch = _Batch()
        began = time.perf_counter()
        try:
            locations = await self.journal.append(batch.records)
        except JournalUnavailable as error:
            await self._recover(batch, error)
            return
        except BaseException:
            batch.fail(
                JournalUnavailable("the journal writer stopped during an append")
            )
            raise
        if locations:
            # Durable where the journal can read them back: stored results
            # need not stay in memory any more.
            for record, where in zip(batch.records, locations, strict=True):
                if ends_job(record.event):
                    self.table.locate(attrs.evolve(record, location=where))
        self._backoff.reset()
        self._counters.count_append(len(batch.records))
        seconds = time.perf_counter() - began
        for append_observer in self.append_observers:
            append_observer(seconds, len(batch.records))
        # Only now: what observers tell (metrics, logs, live feeds) must be
        # what the journal holds, and a failed append loses or re-records
        # the events it held (see _recover).
        for record in batch.records:
            for observer in self.observers:
                observer(record)
            for applied in self.applied_observers:
                applied(record, True)
        for ticket, record in zip(batch.tickets, batch.records, strict=True):
            ticket.finish(record)
        if self._last is batch.tickets[-1]:
            # All durable: flush has nothing to wait for, and the last
            # event (a big body, maybe) need not stay in memory.
            self._last = None

    async def _recover(self, lost: _Batch, error: JournalUnavailable) -> None:
        """After a failed append: see the module docstring."""
        self._counters.failed_appends += 1
        log.error(
            "journal append failed (retrying in %.1f s): %s",
            self._backoff.seconds,
            error,
        )
        self._failure = error
        self._healthy = trio.Event()
        if self._rebuild is None:
            lost.fail(error)
            self._closing = True  # nothing can make the table and disk agree again
            return
        # Everything not durable is lost: the failed batch and the one that
        # filled up meanwhile.
        lost_batches = [lost, self._batch]
        self._batch = _Batch()
        self._rebuilding = []
        try:
            self.table.reset_to(await self._rebuilt_table(lost_batches, error))
        finally:
            kept = [
                Ticket(ticket.event, retry=True)
                for batch in lost_batches
                for ticket in batch.tickets
                if ticket.retry
            ]
            kept += self._rebuilding
            self._rebuilding = None
            for batch in lost_batches:
                batch.fail(error)
        for ticket in kept:
            try:
                self._record(ticket)
            except IllegalTransition as reason:
                log.warning(
                    "dropped %r after the failed append: %s", ticket.event, reason
                )
                ticket.finish(
                    JournalUnavailable(f"dropped after a failed append: {reason}")
                )
        await self._backoff.wait()  # refuse new work for a while
        self._failure = None
        self._healthy.set()
        self._wakeup.set()  # try the disk again with what was kept

    async def _rebuilt_table(
        self, lost_batches: list[_Batch], error: JournalUnavailable
    ) -> JobTable:
        """The table as the journal durably holds it, trying until the
        journal can be read (a database that is down fails its reads too).

        While it cannot, the lost batches' waiters are told at once (they
        would otherwise wait out the whole outage) and the table stays as it
        was, events of the lost batches included, until a rebuild succeeds.
        """
        assert self._rebuild is not None
        while True:
            try:
                return await self._rebuild()
            except (JournalUnavailable, OSError) as reason:
                log.error(
                    "rebuilding the views after a failed append failed (trying again in "
                    "%.1f s): %s",
                    self._backoff.seconds,
                    reason,
                )
            for batch in lost_batches:
                batch.fail(error)
            await self._backoff.wait()
