"""The two ways a runtime runs, chosen once when its journal opens.

- :class:`SingleServer`: the server holds its journal alone (a directory,
  in memory, or PostgreSQL opened exclusively). Its writer decides, the
  table is always current, and the recovery rules run once, at start-up.
- :class:`Node`: one of several servers on a PostgreSQL journal. It joins
  the journal's nodes, the journal (its referee) decides and the table
  follows it, job ids come from the journal, a cancel of a running job is
  a ``cancelling`` record that the node running it acts on, and the lease
  keeper recovers the jobs of nodes that are gone.

Everything else in the runtime is the same for both: it asks its mode
(:func:`choose_mode`), never the class of its journal or writer.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import attrs
import trio

from ..actors.lease_keeper import LeaseKeeper
from ..actors.node_clock import NodeClock
from ..actors.node_writer import NodeWriter
from ..actors.supervisor import Supervisor
from ..actors.writer import FINAL_FLUSH_SECONDS, JournalWriter, Rebuild
from ..actors.writing import Writer
from ..errors import JournalUnavailable, ShuttingDown
from ..events import JobCancelled, JobCancelling, JobDeleted, JobQueued
from ..identity import Caller
from ..journal import Journal, NodeJournal
from ..projection import JobTable, JobView, Phase, View
from ..recovery import RESTART_REASON, Unfinished, recover
from ..referee import Rejected
from ..results import cancelled_result
from ..settings import Settings
from .fanout import Fanout

log = logging.getLogger("eventjobs.runtime")

Clock = Callable[[], float]


def node_name() -> str:
    """How this process is named in the journal's ``nodes`` table."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Mode(Protocol):
    """What differs between a single server and a node (module docstring)."""

    @property
    def journal(self) -> Journal | NodeJournal:
        """The journal the mode was chosen for."""

    @property
    def clock(self) -> Clock:
        """Unix seconds now: the times stamped on events and the "now" of
        retention (a node's is the database's clock, :mod:`..actors.node_clock`)."""

    async def start_writer(
        self, table: JobTable, fanout: Fanout, rebuild: Rebuild
    ) -> Writer:
        """The writer, its observers attached (a node joins the journal first)."""

    def recover(
        self,
        nursery: trio.Nursery,
        supervisor: Supervisor,
        rerun_safe: Callable[[JobView], bool],
        on_fenced: Callable[[BaseException], None],
    ) -> None:
        """Start recovering the jobs nobody runs (:mod:`eventjobs.recovery`)."""

    async def submit(self, supervisor: Supervisor, queued: JobQueued) -> int:
        """Record *queued* (its ``job_id`` ignored), have it run; return its id
        once durable.

        Cancellation: the job stays queued and runs; only the wait stops.
        """

    def new_id(self) -> int:
        """The ``job_id`` to record a new schedule with: the next id, or 0
        where the journal gives ids (a node)."""

    async def sync(self, job_id: int | None) -> None:
        """Bring the table up to what the journal holds (see ``Runtime.sync``)."""

    async def cancel(self, supervisor: Supervisor, job: View, caller: Caller) -> None:
        """Stop the caller's *job* (see ``Runtime.cancel``)."""

    async def delete(self, job_id: int, caller: Caller) -> bool:
        """Record the caller's job deleted; False when another node was first."""

    async def save_snapshot(
        self,
        position: int,
        header: dict[str, Any],
        jobs: Iterable[dict[str, Any]],
        *,
        min_gap: int,
    ) -> bool:
        """Store a snapshot of the views at *position*; False when none was
        needed (a node: another node stored one within *min_gap* records)."""

    async def leave(self) -> None:
        """At a clean stop: give up what the journal holds for this server."""


def choose_mode(
    journal: Journal | NodeJournal, settings: Settings, clock: Clock | None = None
) -> Mode:
    """The mode *journal* runs in: the one place that asks what it is.

    *clock* is the server's own (injected by tests): a single server stamps
    its events with it (default ``time.time``); a node counts on it only
    the seconds between two readings of the database's clock (default
    ``time.monotonic``, which no one sets), so that every node tells the
    same time however wrong its own clock is.
    """
    if isinstance(journal, NodeJournal):
        node_clock = NodeClock(local=clock or time.monotonic, wall=clock or time.time)
        return Node(journal, settings, node_clock)
    return SingleServer(journal, settings, clock or time.time)


class SingleServer:
    """A server that holds its journal alone; see the module docstring."""

    def __init__(self, journal: Journal, settings: Settings, clock: Clock) -> None:
        self.journal = journal
        self._clock = clock
        self._writer: JournalWriter | None = None

    @property
    def clock(self) -> Clock:
        """The server's own clock."""
        return self._clock

    async def start_writer(
        self, table: JobTable, fanout: Fanout, rebuild: Rebuild
    ) -> Writer:
        writer = self._writer = JournalWriter(self.journal, table, rebuild=rebuild)
        # Before recovery, so that the jobs it interrupts are counted and logged.
        writer.observers.append(fanout.observe_own)
        writer.applied_observers.append(fanout.observe_applied)
        return writer

    def recover(
        self,
        nursery: trio.Nursery,
        supervisor: Supervisor,
        rerun_safe: Callable[[JobView], bool],
        on_fenced: Callable[[BaseException], None],
    ) -> None:
        """Apply the recovery rules to what the journal holds, now (the
        records are kept until written: ``retry=True``)."""
        writer = self._writer
        assert writer is not None
        for job in writer.table.unfinished(Phase.RUNNING):
            # The table does not keep who asked a running job to stop, so a
            # single server's job found cancelling is interrupted (as ever).
            found = Unfinished(
                job.job_id,
                running=True,
                rerun_safe=rerun_safe(job),
                attempt=job.attempt,
                retries=job.retries,
            )
            recovery = recover(
                found,
                now=self._clock(),
                reason=RESTART_REASON,
                backoff=supervisor.backoff(job),
            )
            outcome = "runs again" if recovery.run else "interrupted"
            log.warning(
                "job %d was running when the server stopped: %s", job.job_id, outcome
            )
            assert recovery.event is not None
            writer.record_nowait(recovery.event, retry=True)
        # Requeued ones included: the writer has applied them already.
        for job in writer.table.unfinished(Phase.QUEUED):
            supervisor.enqueue(job.job_id)

    async def submit(self, supervisor: Supervisor, queued: JobQueued) -> int:
        writer = self._writer
        assert writer is not None
        job_id = writer.table.last_job_id + 1
        ticket = writer.record_nowait(attrs.evolve(queued, job_id=job_id))
        # Scheduled before the wait: it starts as soon as it is durable
        # (its actor waits for `started`, which follows `queued`).
        supervisor.enqueue(job_id)
        await ticket.durable()
        return job_id

    def new_id(self) -> int:
        writer = self._writer
        assert writer is not None
        return writer.table.last_job_id + 1

    async def sync(self, job_id: int | None) -> None:
        return  # the table is always current

    async def cancel(self, supervisor: Supervisor, job: View, caller: Caller) -> None:
        writer = self._writer
        assert writer is not None
        if job.phase is Phase.QUEUED:
            await writer.record(
                JobCancelled(
                    job_id=job.job_id,
                    time=self._clock(),
                    by=caller.name,
                    response=cancelled_result(),
                )
            )
        elif job.phase is Phase.RUNNING:
            supervisor.cancel_running(job.job_id, caller.name)

    async def delete(self, job_id: int, caller: Caller) -> bool:
        writer = self._writer
        assert writer is not None
        await writer.record(
            JobDeleted(job_id=job_id, time=self._clock(), by=caller.name, reason="id")
        )
        return True

    async def save_snapshot(
        self,
        position: int,
        header: dict[str, Any],
        jobs: Iterable[dict[str, Any]],
        *,
        min_gap: int,
    ) -> bool:
        await self.journal.save_snapshot(position, header, jobs)
        return True

    async def leave(self) -> None:
        return  # nothing is held but the journal, which the runtime closes


class Node:
    """One of several servers on a PostgreSQL journal; see the module docstring."""

    def __init__(
        self, journal: NodeJournal, settings: Settings, clock: NodeClock
    ) -> None:
        self.journal = journal
        self._settings = settings
        self._clock = clock
        self._writer: NodeWriter | None = None

    @property
    def clock(self) -> Clock:
        """The database's clock, set at every renewal of the lease."""
        return self._clock

    async def start_writer(
        self, table: JobTable, fanout: Fanout, rebuild: Rebuild
    ) -> Writer:
        node = await self.journal.join(
            node_name(),
            self._settings.node_lease,
            key_window=self._settings.idempotency_window,
        )
        # Read the database's clock before any event is stamped (recovery's
        # come next); the lease keeper reads it again at every renewal.
        await self._clock.read(self.journal.renew_lease)
        log.info(
            "joined the PostgreSQL journal %s as node %d", self.journal.location, node
        )
        writer = self._writer = NodeWriter(self.journal, table)
        writer.observers.append(fanout.observe_own)
        writer.applied_observers.append(fanout.observe_applied)
        return writer

    def recover(
        self,
        nursery: trio.Nursery,
        supervisor: Supervisor,
        rerun_safe: Callable[[JobView], bool],
        on_fenced: Callable[[BaseException], None],
    ) -> None:
        """Start the lease keeper: it takes over the jobs of nodes that are
        gone on its first pass, and keeps this node's lease."""
        assert self._writer is not None
        keeper = LeaseKeeper(
            self._writer,
            supervisor,
            lease=self._settings.node_lease,
            clock=self._clock,
            rerun_safe=rerun_safe,
            on_fenced=on_fenced,
        )
        nursery.start_soon(keeper.run)

    async def submit(self, supervisor: Supervisor, queued: JobQueued) -> int:
        writer = self._writer
        assert writer is not None
        # The journal gives the id (ids grow across all nodes); the job is
        # this node's to run once it is in the table.
        ticket = writer.record_nowait(attrs.evolve(queued, job_id=0))
        try:
            recorded = await ticket.durable()
        except trio.Cancelled:
            # The client went away: the job is queued all the same once its
            # record lands, and must run without waiting for the lease
            # keeper to find it.
            supervisor.enqueue_when_durable(ticket)
            raise
        job_id = recorded.event.job_id
        try:
            supervisor.enqueue(job_id)
        except ShuttingDown:
            pass  # queued all the same: a node takes it over once this one has left
        return job_id

    def new_id(self) -> int:
        return 0  # the journal gives it, in the appending transaction

    async def sync(self, job_id: int | None) -> None:
        """For *job_id*, only when the id is above every id this node knows
        (a job it has never seen); one query otherwise.

        Raises:
            JournalUnavailable: the database failed.
        """
        writer = self._writer
        assert writer is not None
        if job_id is not None and job_id <= writer.table.last_job_id:
            return
        await writer.catch_up()

    async def cancel(self, supervisor: Supervisor, job: View, caller: Caller) -> None:
        """A queued job is recorded ``cancelled``; for a running one,
        wherever it runs, ``cancelling`` is recorded, and the node running it
        stops it when it sees that record (this one included, through
        :meth:`Fanout.observe_applied`)."""
        writer = self._writer
        assert writer is not None
        if job.phase is Phase.QUEUED:
            try:
                await writer.record(
                    JobCancelled(
                        job_id=job.job_id,
                        time=self._clock(),
                        by=caller.name,
                        response=cancelled_result(),
                    )
                )
                # This node may have started the job meanwhile: its `started`
                # went first, and the referee admits the cancel all the same
                # (this node holds the job). The job has ended in the
                # journal, so it must stop here (its own end is then refused).
                supervisor.cancel_running(job.job_id, caller.name, recorded=True)
                return
            except Rejected:
                pass  # it started meanwhile (or ended): ask it to stop instead
        try:
            await writer.record(
                JobCancelling(
                    job_id=job.job_id,
                    time=self._clock(),
                    by=caller.name,
                    reason="cancel",
                )
            )
            return
        except Rejected:
            pass  # already stopping or finished, or no longer running: look again
        await writer.catch_up()
        now = writer.table.jobs.get(job.job_id)
        if now is not None and now.phase is Phase.QUEUED and job.phase is Phase.RUNNING:
            # Requeued meanwhile (its node died, the route is rerun-safe):
            # cancel it in the queue instead (once: no loop).
            await self.cancel(supervisor, now, caller)

    async def delete(self, job_id: int, caller: Caller) -> bool:
        writer = self._writer
        assert writer is not None
        try:
            await writer.record(
                JobDeleted(
                    job_id=job_id, time=self._clock(), by=caller.name, reason="id"
                )
            )
        except Rejected:
            return False  # fetched or deleted on another node first
        return True

    async def save_snapshot(
        self,
        position: int,
        header: dict[str, Any],
        jobs: Iterable[dict[str, Any]],
        *,
        min_gap: int,
    ) -> bool:
        # One snapshot per interval between all the nodes.
        return await self.journal.save_snapshot(position, header, jobs, min_gap=min_gap)

    async def leave(self) -> None:
        """Give up this node's lease (bounded: a database that is down leaves
        the lease to expire instead)."""
        with trio.move_on_after(FINAL_FLUSH_SECONDS):
            try:
                await self.journal.leave()
            except JournalUnavailable as error:
                log.warning("could not give up the lease (it will expire): %s", error)
