"""What every journal writer offers: the :class:`Writer` protocol.

Two writers implement it, chosen once when the journal opens:

- :class:`~eventjobs.actors.writer.JournalWriter`, the single server's: it
  decides alone, applying each event to its table as it records it;
- :class:`~eventjobs.actors.node_writer.NodeWriter`, a node's among several
  on a PostgreSQL journal: the journal decides (the referee), and the table
  follows the journal.

Both hand back a :class:`Ticket` for each event ("recorded, wait for
durability"), count their appends in the same :class:`WriterStatistics`,
and back off from a failing journal with the same :class:`Backoff`. The
actors and the runtime use only this module's names, never a writer class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import attrs
import trio

from ..events import Event
from ..errors import JournalUnavailable
from ..projection import JobTable
from ..records import Recorded

#: Back-off after a failure to reach the journal: the first wait, and the
#: longest (it doubles in between while the failures go on).
FIRST_BACKOFF = 0.1
LONGEST_BACKOFF = 5.0


class Ticket:
    """One event on its way to the journal; await :meth:`durable`."""

    __slots__ = ("_done", "_outcome", "event", "retry")

    def __init__(self, event: Event, retry: bool) -> None:
        self.event = event
        #: Keep the event (and send it again) if its append is lost.
        self.retry = retry
        self._done = trio.Event()
        self._outcome: Recorded | BaseException | None = None

    def finish(self, outcome: Recorded | BaseException) -> None:
        """Tell the waiters the outcome; only the first call counts."""
        if not self._done.is_set():
            self._outcome = outcome
            self._done.set()

    async def durable(self) -> Recorded:
        """The event's record once it is in the journal and the table.

        Raises:
            Rejected: a node's journal refused it (another node changed the
                job first); nothing was recorded. A single server never
                raises it.
            JournalUnavailable: it did not reach the journal.

        Cancellation: only the waiting stops; the event stays recorded (or
        queued for the journal).
        """
        await self._done.wait()
        outcome = self._outcome
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome is not None
        return outcome


class Backoff:
    """Waits that double from :data:`FIRST_BACKOFF` up to *longest*
    (:data:`LONGEST_BACKOFF` unless given) while something keeps failing;
    :meth:`reset` after a success."""

    def __init__(self, longest: float = LONGEST_BACKOFF) -> None:
        self.longest = longest
        self.seconds = min(FIRST_BACKOFF, longest)

    def reset(self) -> None:
        self.seconds = min(FIRST_BACKOFF, self.longest)

    async def wait(self) -> None:
        """Sleep the current interval, then double it (up to the longest).

        Cancellation: the wait stops; the interval is not doubled.
        """
        await trio.sleep(self.seconds)
        self.seconds = min(self.seconds * 2, self.longest)


@attrs.frozen
class WriterStatistics:
    batches: int
    records: int
    largest_batch: int
    failed_appends: int


@attrs.define
class AppendCounters:
    """The counters behind :class:`WriterStatistics` (mutable, the writer's)."""

    batches: int = 0
    records: int = 0
    largest_batch: int = 0
    failed_appends: int = 0

    def count_append(self, records: int) -> None:
        self.batches += 1
        self.records += records
        self.largest_batch = max(self.largest_batch, records)

    def frozen(self) -> WriterStatistics:
        return WriterStatistics(
            self.batches, self.records, self.largest_batch, self.failed_appends
        )


class Writer(Protocol):
    """The one path by which events reach the journal (see the module docstring).

    Observers must not raise or yield. ``observers`` see each record this
    server made once it is durable, in journal order (metrics, the job
    log); ``applied_observers`` see every record applied to the table, with
    whether it is this server's own (waiters, live feeds; on a node also
    the other nodes' records); ``append_observers`` see each successful
    append's duration (seconds) and number of records.
    """

    table: JobTable
    observers: list[Callable[[Recorded], None]]
    applied_observers: list[Callable[[Recorded, bool], None]]
    append_observers: list[Callable[[float, int], None]]

    @property
    def failure(self) -> JournalUnavailable | None:
        """The append error the writer is recovering from, if any."""

    def statistics(self) -> WriterStatistics: ...

    async def wait_healthy(self) -> None:
        """Return when appends are not known to be failing."""

    def record_nowait(self, event: Event, *, retry: bool = False) -> Ticket:
        """Record *event* (synchronously: it does not yield) and return its ticket.

        Args:
            retry: keep the event and send it again if its append is lost
                (for how a job ended); otherwise a lost append loses it and
                its waiters are told :class:`JournalUnavailable`.

        Raises:
            JournalUnavailable: appends are failing (and *retry* is false),
                or the writer is closed; nothing is recorded.
        """

    async def record(self, event: Event) -> Recorded:
        """Record *event* and return its record once it is durable.

        Raises:
            Rejected, JournalUnavailable: see :meth:`Ticket.durable`.
        """

    async def flush(self) -> None:
        """Wait until everything recorded so far is durable (a rejection is
        not an error here).

        Raises:
            JournalUnavailable: some of it did not reach the journal.
        """

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Append until :meth:`close`, then flush what is recorded and return.

        Cancellation: what is not yet appended is not; its waiters are told
        :class:`JournalUnavailable`.
        """

    def close(self) -> None:
        """Ask :meth:`run` to flush what is recorded and return."""
