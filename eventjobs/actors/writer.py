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
from ..journal import Journal, Recorded
from ..projection import JobTable

log = logging.getLogger("eventjobs.writer")

#: How long the final flush at shutdown may take before it is abandoned.
FINAL_FLUSH_SECONDS = 10.0
#: Back-off after a failed append: first wait, and the longest.
FIRST_BACKOFF = 0.1
LONGEST_BACKOFF = 5.0


class Batch:
    """A group of records made durable by one append; await :meth:`durable`."""

    def __init__(self) -> None:
        self.records: list[Recorded] = []
        #: Parallel to records: whether to keep the event if this batch is lost.
        self.retry: list[bool] = []
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
    failed_appends: int


Rebuild = Callable[[], Awaitable[JobTable]]


class JournalWriter:
    """Owns the journal and the job table; see the module docstring.

    Args:
        journal: where batches go.
        table: the live views, updated as events are recorded.
        rebuild: gives the table as the journal durably holds it (used after
            a failed append); without it a failed append stops the writer for
            good.
    """

    def __init__(self, journal: Journal, table: JobTable, rebuild: Rebuild | None = None) -> None:
        self.journal = journal
        self.table = table
        self._rebuild = rebuild
        self._batch = Batch()
        #: The newest batch holding any record: batches become durable in
        #: order, so once it is durable everything recorded so far is.
        self._last_batch: Batch | None = None
        self._wakeup = trio.Event()
        #: Called with each record once it is durable (right after its
        #: batch's append), in journal order, with its final sequence number:
        #: an event of a lost batch is never seen, one kept and appended again
        #: is seen once, when it lands. They must not raise or yield.
        self.observers: list[Callable[[Recorded], None]] = []
        #: Called after each successful append with its duration (seconds)
        #: and its number of records (for metrics); must not raise or yield.
        self.append_observers: list[Callable[[float, int], None]] = []
        self._closing = False
        #: Set while appends are failing: plain records are refused.
        self._failure: JournalUnavailable | None = None
        #: While the table is rebuilt, retried events wait here.
        self._rebuilding: list[Event] | None = None
        self._healthy = trio.Event()
        self._healthy.set()
        self._backoff = FIRST_BACKOFF
        self._batches = 0
        self._records = 0
        self._largest = 0
        self._failed_appends = 0

    def __repr__(self) -> str:
        state = "failing" if self._failure is not None else "healthy"
        return (
            f"<JournalWriter {state} position={self.table.position} "
            f"durable={self.journal.head} open_batch={len(self._batch.records)}>"
        )

    def statistics(self) -> WriterStatistics:
        return WriterStatistics(self._batches, self._records, self._largest, self._failed_appends)

    @property
    def failure(self) -> JournalUnavailable | None:
        """The append error the writer is recovering from, if any."""
        return self._failure

    async def wait_healthy(self) -> None:
        """Return when appends are not known to be failing."""
        await self._healthy.wait()

    def record_nowait(self, event: Event, *, retry: bool = False) -> Batch:
        """Apply *event* to the table now and queue it for the journal.

        Args:
            retry: keep the event and append it later if its batch is lost
                (for how a job ended); otherwise a lost batch loses it, and
                its waiters are told.

        Returns:
            The batch that will carry it; ``await batch.durable()`` to wait.

        Raises:
            JournalUnavailable: appends are failing (and *retry* is false), or
                the writer is closed; nothing is recorded.
            IllegalTransition: *event* does not follow the table (a bug).
        """
        if self._closing:
            raise JournalUnavailable("the journal writer is closed")
        if self._failure is not None and not retry:
            raise self._failure
        if self._rebuilding is not None:
            self._rebuilding.append(event)
            return self._batch
        record = Recorded(self.table.position + 1, event)
        self.table.apply(record)
        self._batch.records.append(record)
        self._batch.retry.append(retry)
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
        began = time.perf_counter()
        try:
            locations = await self.journal.append(batch.records)
        except JournalUnavailable as error:
            await self._recover(batch, error)
            return
        except BaseException:
            batch.finish(JournalUnavailable("the journal writer stopped during an append"))
            raise
        if locations:
            # Durable where the journal can read them back: stored results
            # need not stay in memory any more.
            for record, where in zip(batch.records, locations, strict=True):
                if hasattr(record.event, "response"):
                    self.table.locate(attrs.evolve(record, location=where))
        self._backoff = FIRST_BACKOFF
        self._batches += 1
        self._records += len(batch.records)
        self._largest = max(self._largest, len(batch.records))
        seconds = time.perf_counter() - began
        for observer in self.append_observers:
            observer(seconds, len(batch.records))
        # Only now: what observers tell (metrics, logs, live feeds) must be
        # what the journal holds, and a failed append loses or re-records
        # the events it held (see _recover).
        for record in batch.records:
            for observer in self.observers:
                observer(record)
        batch.finish()

    async def _recover(self, lost: Batch, error: JournalUnavailable) -> None:
        """After a failed append: see the module docstring."""
        self._failed_appends += 1
        log.error("journal append failed (retrying in %.1f s): %s", self._backoff, error)
        self._failure = error
        self._healthy = trio.Event()
        if self._rebuild is None:
            lost.finish(error)
            self._closing = True  # nothing can make the table and disk agree again
            return
        # Everything not durable is lost: the failed batch and the one that
        # filled up meanwhile.
        lost_batches = [lost, self._batch]
        self._batch = Batch()
        self._rebuilding = []
        try:
            self.table.reset_to(await self._rebuilt_table(lost_batches, error))
        finally:
            kept = [
                record.event
                for batch in lost_batches
                for record, retry in zip(batch.records, batch.retry)
                if retry
            ]
            kept += self._rebuilding
            self._rebuilding = None
            for batch in lost_batches:
                batch.finish(error)
        for event in kept:
            try:
                self.record_nowait(event, retry=True)
            except IllegalTransition as reason:
                log.warning("dropped %r after the failed append: %s", event, reason)
        await trio.sleep(self._backoff)  # refuse new work for a while
        self._backoff = min(self._backoff * 2, LONGEST_BACKOFF)
        self._failure = None
        self._healthy.set()
        self._wakeup.set()  # try the disk again with what was kept

    async def _rebuilt_table(self, lost_batches: list[Batch], error: JournalUnavailable) -> JobTable:
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
                    self._backoff,
                    reason,
                )
            for batch in lost_batches:
                batch.finish(error)
            await trio.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, LONGEST_BACKOFF)
