"""The journal writer of a node: one of several servers on a PostgreSQL journal.

The single-server `~eventjobs.actors.writer.JournalWriter` decides
alone: it applies an event to its table as it records it. A node cannot:
the other nodes change the same jobs. So here the journal decides (the
referee, :mod:`eventjobs.referee`, in the append's transaction) and the
table only *follows* the journal:

1. :meth:`NodeWriter.record_nowait` queues the event (the table does not
   change) and returns a :class:`Ticket`.
2. The writer's task sends everything queued as one batch
   (:meth:`NodeJournal.append_judged`, one transaction): each event is
   admitted, with its sequence number (a ``queued`` one with its job id),
   or rejected (:class:`~eventjobs.referee.Rejected`: another node changed
   the job first, or this node no longer holds it).
3. The table catches up to the batch (the other nodes' records before it
   are read first), and only then is each ticket told its outcome: so a
   caller that awaited :meth:`Ticket.durable` finds its event in the table.

A follower task applies the other nodes' records as they come: woken by the
journal's ``NOTIFY``, it reads what follows the table's position, in order.
Applying records, this node's and the others', is
:class:`~eventjobs.actors.node_follower.TableFollower`'s.

Observers: ``observers`` see this node's own records once applied (metrics,
the job log: each node tells of what it did); ``applied_observers`` see
every record applied, with whether it is the node's own (waiters, live
feeds, and the runtime's reactions, e.g. stopping a job another node was
asked to cancel). They must not raise or yield.

When an append fails (the database is down): tickets recorded with
``retry=True`` (how a job ended) are kept and sent again (an event that did
commit before its reply was lost is then rejected, not written twice), the
others are told :class:`JournalUnavailable` at once (those queued while the
failing append was in flight included), and for a back-off interval new
events are refused. A node that lost its lease (:class:`NodeFenced`) stops:
:meth:`run` raises it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import trio

from ..errors import JournalCorrupt, JournalUnavailable, NodeFenced
from ..events import Event
from ..journal import NodeJournal
from ..records import Recorded
from ..projection import JobTable
from ..referee import Rejected
from .node_follower import TableFollower
from .writing import AppendCounters, Backoff, Ticket, WriterStatistics

log = logging.getLogger("eventjobs.writer")


class NodeWriter:
    """A node's :class:`~eventjobs.actors.writing.Writer`; see the module
    docstring. *journal* must have joined (it has a node)."""

    def __init__(self, journal: NodeJournal, table: JobTable) -> None:
        assert journal.node is not None, "the journal has not joined as a node"
        self.journal = journal
        self.table = table
        self.node = journal.node
        self._queued: list[Ticket] = []
        self._last: Ticket | None = None
        self._wakeup = trio.Event()
        self.observers: list[Callable[[Recorded], None]] = []
        self.applied_observers: list[Callable[[Recorded, bool], None]] = []
        self.append_observers: list[Callable[[float, int], None]] = []
        self._follower = TableFollower(
            journal, table, self.observers, self.applied_observers
        )
        self._closing = False
        #: Why :meth:`run` ended for good (fenced, damage), for what is refused after.
        self._ended: NodeFenced | JournalCorrupt | None = None
        self._failure: JournalUnavailable | None = None
        self._healthy = trio.Event()
        self._healthy.set()
        self._backoff = Backoff()
        self._counters = AppendCounters()

    def __repr__(self) -> str:
        state = "failing" if self._failure is not None else "healthy"
        return (
            f"<NodeWriter node={self.node} {state} position={self.table.position} "
            f"queued={len(self._queued)}>"
        )

    def statistics(self) -> WriterStatistics:
        return self._counters.frozen()

    @property
    def failure(self) -> JournalUnavailable | None:
        return self._failure

    async def wait_healthy(self) -> None:
        await self._healthy.wait()

    def record_nowait(self, event: Event, *, retry: bool = False) -> Ticket:
        """Queue *event* for the journal (the table changes once it is in).

        A ``queued`` event with job id 0 is given its id by the journal.

        Raises:
            JournalUnavailable: appends are failing (and *retry* is false),
                or the writer is closed; nothing is queued.
        """
        if self._closing:
            raise JournalUnavailable(str(self._ended or "the journal writer is closed"))
        if self._failure is not None and not retry:
            raise self._failure
        ticket = Ticket(event, retry)
        self._queued.append(ticket)
        self._last = ticket
        self._wakeup.set()
        return ticket

    async def record(self, event: Event) -> Recorded:
        """Record *event* and return its record once it is in the table.

        Raises:
            Rejected, JournalUnavailable: see :meth:`Ticket.durable`.
        """
        return await self.record_nowait(event).durable()

    async def flush(self) -> None:
        """Wait until everything queued so far has reached the journal (or
        been rejected, which is not an error here).

        Raises:
            JournalUnavailable: some of it did not reach the journal.
        """
        if self._last is not None:
            try:
                await self._last.durable()
            except Rejected:
                pass

    async def catch_up(self, upto: int | None = None) -> None:
        """Apply the journal's records up to *upto* (default: the database's
        head now) to the table.

        Raises:
            JournalUnavailable: the database failed.
        """
        await self._follower.catch_up(upto)

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Append batches and follow the other nodes until :meth:`close`;
        then send what is queued and return.

        Raises:
            NodeFenced: this node lost its lease; it records nothing more.
            JournalCorrupt: a record read back (this node's batch, or another
                node's while following) does not verify.

        Both are raised bare, never inside an ExceptionGroup: the runtime
        turns them into the node's one sentence with ``except``.

        Cancellation: what is queued is not sent; its waiters are told
        :class:`JournalUnavailable`.
        """
        # Kept and raised after the nursery: inside it, trio would wrap them
        # in an ExceptionGroup that the runtime's ``except`` does not match
        # (a traceback, and a node that does not stop, instead of the one
        # sentence).
        ended: list[NodeFenced | JournalCorrupt] = []
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(
                    self._follower.follow_until_damaged, ended, nursery.cancel_scope
                )
                task_status.started()
                try:
                    while not (self._closing and not self._queued):
                        await self._wakeup.wait()
                        self._wakeup = trio.Event()
                        await self._append_queued()
                except (NodeFenced, JournalCorrupt) as error:
                    ended.append(error)
                nursery.cancel_scope.cancel()
            if ended:
                self._ended = ended[0]
                raise ended[0]
        finally:
            self._closing = True
            failure = self._failure or JournalUnavailable(
                str(self._ended or "the journal writer stopped")
            )
            for ticket in self._queued:
                ticket.finish(failure)
            self._queued = []

    def close(self) -> None:
        """Ask :meth:`run` to send what is queued and return."""
        self._closing = True
        self._wakeup.set()

    async def _append_queued(self) -> None:
        tickets, self._queued = self._queued, []
        if not tickets:
            return
        began = time.perf_counter()
        try:
            judged = await self.journal.append_judged(
                [ticket.event for ticket in tickets]
            )
        except JournalUnavailable as error:
            await self._recover(tickets, error)
            return
        except NodeFenced as error:
            for ticket in tickets:
                ticket.finish(JournalUnavailable(str(error)))
            raise
        except BaseException:
            for ticket in tickets:
                ticket.finish(
                    JournalUnavailable("the journal writer stopped during an append")
                )
            raise
        records = [
            outcome for outcome in judged.outcomes if isinstance(outcome, Recorded)
        ]
        seconds = time.perf_counter() - began
        self._backoff.reset()
        self._counters.count_append(len(records))
        for observer in self.append_observers:
            observer(seconds, len(records))
        try:
            if records:
                await self._follower.apply_committed(records)
        except BaseException:
            for ticket in tickets:
                ticket.finish(
                    JournalUnavailable("the journal writer stopped after an append")
                )
            raise
        for ticket, outcome in zip(tickets, judged.outcomes, strict=True):
            ticket.finish(outcome)

    async def _recover(self, tickets: list[Ticket], error: JournalUnavailable) -> None:
        """After a failed append: keep the retried events, refuse new ones
        for a while, then try again."""
        self._counters.failed_appends += 1
        log.error(
            "journal append failed (retrying in %.1f s): %s",
            self._backoff.seconds,
            error,
        )
        self._failure = error
        self._healthy = trio.Event()
        kept = []
        # The events queued while the append was in flight too: they would
        # be refused had they come a moment later, so their callers are
        # told now rather than after the back-off and another failed try.
        for ticket in [*tickets, *self._queued]:
            if ticket.retry:
                kept.append(ticket)
            else:
                ticket.finish(error)
        self._queued = kept
        await self._backoff.wait()
        self._failure = None
        self._healthy.set()
        self._wakeup.set()
