"""The runtime: journal, table, writer and supervisor wired together.

It turns API commands into events and answers queries from the table. The
HTTP layer calls only this; it never touches the journal or actors itself.

Lifecycle::

    runtime = Runtime(settings, execute)
    await runtime.open_journal()      # open the journal only (may raise; cheap)
    await runtime.open()              # ... and replay it (may raise)
    await nursery.start(runtime.run)  # (open,) recover, then serve commands
    ...
    await runtime.shutdown()          # drain, interrupt, flush, close

:meth:`Runtime.readiness` says whether it serves jobs, and why not (opening
the journal, replay progress, a failed replay, failing appends, shutdown);
``runtime.metrics`` holds its Prometheus metrics (:mod:`eventjobs.observe`).

Recovery rules applied by :meth:`run` on what the journal holds:

- a job left ``queued`` runs again;
- a job left ``started`` but unfinished is recorded ``interrupted`` (its
  stored result is the 503 "job interrupted" error): never pending forever;
  unless its route is rerun-safe: then it is recorded ``requeued`` and runs
  again;
- finished, fetched and deleted jobs stay as they were.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from functools import partial
from collections.abc import Callable

import attrs
import trio

from .actors.cluster_writer import ClusterWriter
from .actors.lease_keeper import LeaseKeeper
from .actors.pool import ProcessPool
from .actors.supervisor import Executor, Supervisor, SupervisorStatistics
from .actors.writer import FINAL_FLUSH_SECONDS, JournalWriter, WriterStatistics
from .errors import (
    CodecError,
    IllegalTransition,
    JournalConflict,
    JournalCorrupt,
    JournalInUse,
    JournalUnavailable,
    NodeFenced,
    NotRunning,
    QueueFull,
    QuotaExceeded,
    ShuttingDown,
)
from .events import (
    Event,
    JobCancelled,
    JobCancelling,
    JobDeleted,
    JobDone,
    JobFetched,
    JobInterrupted,
    JobQueued,
    JobRequeued,
    JobTimedOut,
    RecordedRequest,
    RecordedResponse,
)
from .identity import Caller
from .journal import Journal, NodeJournal, Recorded, open_journal
from .observe.metrics import Metrics
from .observe.transitions import log_transition
from .projection import JobTable, JobView, Phase, View, fold
from .referee import Rejected
from .results import cancelled_result, interrupted_result
from .retention import expired_results
from .snapshot import decode_table, encode_snapshot
from .settings import Settings

log = logging.getLogger("eventjobs.runtime")

#: How often retention looks for results past their limits (seconds).
RETENTION_INTERVAL = 1.0
#: Append errors that end the writer for good (a retry would meet them
#: again): another server took the journal, or wrote to it; this node lost
#: its lease; records another node reads back do not verify.
NOT_RETRIED = (JournalInUse, JournalConflict, NodeFenced, JournalCorrupt)

#: How often the runtime checks whether a snapshot is due (seconds).
SNAPSHOT_CHECK_INTERVAL = 1.0

RESTART_REASON = "the server stopped while the job ran (found at start-up)"



#: Replay progress is published (and a shutdown noticed) every this many records.
REPLAY_PROGRESS_EVERY = 1024


@attrs.frozen
class RuntimeStatistics:
    writer: WriterStatistics | None
    supervisor: SupervisorStatistics | None


@attrs.frozen
class Readiness:
    """Whether the runtime serves jobs; if not, why (one sentence)."""

    ready: bool
    reason: str | None = None


class _ReplayAbandoned(Exception):
    """A shutdown came while the journal was being replayed."""


#: Help texts of the gauges :meth:`Runtime.gauges` gives the metrics.
GAUGE_HELP = {
    "eventjobs_ready": "1 when jobs are served (replay done, journal writable), else 0.",
    "eventjobs_replay_records_read": "Journal records replayed so far at start-up.",
    "eventjobs_replay_records_to_read": "Journal records the start-up replay reads in all.",
    "eventjobs_journal_head": "Sequence number of the last durable journal record.",
    "eventjobs_journal_append_failures_total": "Group commits that failed (disk full, I/O error).",
}


def node_name() -> str:
    """How this process is named in the journal's ``nodes`` table."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Runtime:
    """Commands and queries on jobs, backed by the journal.

    Args:
        settings: limits and the journal location.
        execute: runs a job's request (the HTTP layer provides it).
        clock: wall-clock unix seconds, for event times; injected for tests.
        journal: use this journal instead of the one *settings* names (it is
            then the caller's to close).
        rerun_safe: whether a job found running at start-up may run again
            (see :func:`eventjobs.rerun_safe`); otherwise it is interrupted.
    """

    def __init__(
        self,
        settings: Settings,
        execute: Executor,
        *,
        clock: Callable[[], float] = time.time,
        journal: Journal | None = None,
        rerun_safe: Callable[[JobView], bool] = lambda job: False,
    ) -> None:
        self.settings = settings
        self._rerun_safe = rerun_safe
        self.clock = clock
        self._execute = execute
        self._journal = journal
        self._owns_journal = journal is None
        self.table = JobTable()
        #: The position of the newest snapshot written or loaded.
        self._snapshot_position = 0
        self._opened = False
        self._writer: JournalWriter | None = None
        self._supervisor: Supervisor | None = None
        self._stopped = trio.Event()
        #: The worker processes behind ``eventjobs.run_in_process``; they
        #: start only when first used.
        self.pool = ProcessPool(settings.worker_processes)
        #: job id -> event set when that job finishes, or is fetched or deleted.
        self._waiters: dict[int, trio.Event] = {}
        #: Start-up progress: what it is doing, records replayed of how many
        #: (None until known). Written by the replay's worker thread, read
        #: by probes: plain attribute stores, safe under the GIL.
        self._startup_step = "opening the journal"
        self._replay_read = 0
        self._replay_total: int | None = None
        self._abandon_replay = False
        #: Why the runtime can never serve (its journal cannot be read), or
        #: serve any more (another server took its journal).
        self._fatal: BaseException | None = None
        self._fatal_reason = "the journal cannot be read"
        self._fatal_event = trio.Event()
        self.metrics = Metrics(self, GAUGE_HELP)
        #: Called with each record once durable (see :meth:`add_observer`).
        self._observers: list[Callable[[Recorded], None]] = []
        #: The supervisor, from as soon as it exists (for cancels recorded
        #: on other nodes, which reach it through the observers).
        self._supervisor_of_jobs: Supervisor | None = None

    def __repr__(self) -> str:
        return f"<Runtime journal={self._journal!r} {self._supervisor!r}>"

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            raise NotRunning("the runtime has not been opened")
        return self._journal

    # -- lifecycle ------------------------------------------------------------

    async def open_journal(self) -> None:
        """Open the journal without reading its records (cheap). Idempotent.

        Raises:
            ConfigError: the journal location cannot be used.
            JournalCorrupt: the journal's last record does not read.
        """
        if self._journal is None:
            # shared: every server on a PostgreSQL journal is a node among
            # any number; none holds the journal alone (docs/multi-node.md).
            self._journal = await trio.to_thread.run_sync(  # type: ignore[assignment]
                partial(
                    open_journal,
                    self.settings.journal,
                    shared=True,
                    segment_bytes=self.settings.segment_bytes,
                )
            )

    async def open(self) -> None:
        """Open the journal and rebuild the table from it. Idempotent.

        Raises:
            ConfigError: the journal location cannot be used.
            JournalCorrupt: the journal does not read back; nothing is served.
        """
        if self._opened:
            return
        await self.open_journal()
        journal = self.journal
        try:
            replay = partial(self._replay, journal, startup=True)
            if journal.reads_block:
                self.table = await trio.to_thread.run_sync(replay)
            else:
                self.table = replay()
        except BaseException:
            if self._owns_journal:
                await journal.aclose()
                self._journal = None
            raise
        self._opened = True
        log.info(
            "journal %r replayed: %d records, %d jobs held, next job id %d",
            journal,
            self.table.position,
            len(self.table.jobs),
            self.table.last_job_id + 1,
        )

    async def _rebuild(self) -> JobTable:
        """The table as the journal durably holds it (after a failed append)."""
        if self.journal.reads_block:
            return await trio.to_thread.run_sync(self._replay, self.journal)
        return self._replay(self.journal)

    def _replay(self, journal: Journal, *, startup: bool = False) -> JobTable:
        """The table from the newest snapshot plus the records after it.

        At *startup*, progress is published for :meth:`readiness` and a
        :meth:`shutdown` stops the replay (:class:`_ReplayAbandoned`).
        """
        table = JobTable()
        if startup:
            self._startup_step = "loading the snapshot"
        snapshot = journal.load_snapshot()
        if snapshot is not None:
            position, header, jobs = snapshot
            try:
                # A job at a time: the snapshot is never in memory whole.
                table = decode_table(header, jobs)
            except CodecError as error:
                raise JournalCorrupt(
                    f"journal {journal!r}: the snapshot at sequence number {position} does "
                    f"not read ({error}); move it aside to start from the segments alone"
                ) from None
            if table.position != position:
                raise JournalCorrupt(
                    f"journal {journal!r}: the snapshot at sequence number {position} "
                    f"holds the views of position {table.position}"
                )
            self._snapshot_position = position
        try:
            if startup:
                self._replay_progressively(journal, table)
            else:
                fold(journal.read(after=table.position), table)
        except IllegalTransition as error:
            raise JournalCorrupt(
                f"journal {journal!r}, sequence number {table.position + 1}: the "
                f"event does not follow from the job's state ({error}). The journal was "
                "changed by something other than eventjobs; restore it from a backup."
            ) from None
        return table

    def _replay_progressively(self, journal: Journal, table: JobTable) -> None:
        """``fold`` that publishes its progress and stops at a shutdown."""
        self._startup_step = "replaying the journal"
        self._replay_total = max(0, journal.head - table.position)
        self._replay_read = read = 0
        apply = table.apply
        for record in journal.read(after=table.position):
            apply(record)
            read += 1
            if not read % REPLAY_PROGRESS_EVERY:
                self._replay_read = read
                if self._abandon_replay:
                    raise _ReplayAbandoned()
        self._replay_read = read

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Recover, then run the writer and supervisor until :meth:`shutdown`.

        Reports started once recovery is durable and jobs are accepted; if
        the journal cannot be written then, the recovery's events stay with
        the writer, which retries them, and it starts anyway (not ready
        until they are written, see :meth:`readiness`).

        A :meth:`shutdown` during the replay makes this return without
        serving (jobs found queued stay queued); one during recovery drains
        as usual. When the journal cannot be opened or replayed the error is
        kept (:meth:`readiness`, :meth:`wait_fatal`) and raised. So is an
        append error that no retry can cure (:data:`NOT_RETRIED`: another
        server took the journal): the writer stops, every later command is
        refused, and once :meth:`shutdown` has run the error is raised.

        Cancellation: running jobs are recorded as interrupted and the writer
        flushes before this returns.
        """
        try:
            await self.open()
        except _ReplayAbandoned:
            return  # shutdown() has said so
        except Exception as error:
            self._fatal = error
            self._fatal_event.set()
            raise
        if self._abandon_replay:
            # shutdown() came during a replay that ended before it looked
            # (it looks every REPLAY_PROGRESS_EVERY records): serve nothing,
            # so that jobs found queued stay queued for the next start.
            if self._owns_journal:
                with trio.CancelScope(shield=True):
                    await self.journal.aclose()
            return
        self._startup_step = "recovering jobs found unfinished"
        try:
            writer = await self._make_writer()
        except Exception as error:
            self._fatal = error
            self._fatal_event.set()
            if self._owns_journal:
                with trio.CancelScope(shield=True):
                    await self.journal.aclose()
            raise
        # The writer must outlive every actor, even when this whole task is
        # cancelled from outside: actors record how their jobs ended as they
        # unwind. So it runs shielded, and is told to close only once the
        # supervisor's nursery (and with it every actor) has finished.
        writer_scope = trio.CancelScope(shield=True)
        try:
            async with trio.open_nursery() as journal_nursery:
                journal_nursery.start_soon(self._run_writer, writer, writer_scope)
                try:
                    # The pool outlives the jobs (an interrupted job's worker
                    # is killed as the job unwinds) and stops after them.
                    async with trio.open_nursery() as pool_nursery:
                        await pool_nursery.start(self.pool.serve)
                        async with trio.open_nursery() as job_nursery:
                            supervisor = Supervisor(
                                writer,
                                self._execute,
                                self.clock,
                                max_running=self.settings.max_running,
                                job_timeout=self.settings.job_timeout,
                                progress_interval=self.settings.progress_interval,
                                pool=self.pool,
                            )
                            await job_nursery.start(supervisor.run)
                            if self._retention_on:
                                job_nursery.start_soon(self._enforce_retention, writer)
                            job_nursery.start_soon(self._take_snapshots, writer)
                            self._supervisor_of_jobs = supervisor
                            if isinstance(writer, ClusterWriter):
                                # Jobs left by nodes that are gone are taken
                                # over by the lease keeper, on its first pass.
                                keeper = LeaseKeeper(
                                    writer,
                                    supervisor,
                                    lease=self.settings.node_lease,
                                    clock=self.clock,
                                    rerun_safe=self._rerun_safe,
                                    on_fenced=self._stop_for_good,
                                )
                                job_nursery.start_soon(keeper.run)
                            else:
                                self._recover(writer, supervisor)
                            try:
                                await writer.flush()
                            except JournalUnavailable as error:
                                # The recovery's events are kept (retry=True)
                                # and written once the journal takes writes;
                                # meanwhile readiness says why it is not ready.
                                log.warning("recovery not yet durable: %s", error)
                            if self._abandon_replay:
                                # shutdown() came during that flush, before
                                # it could reach the supervisor: drain here.
                                await supervisor.shutdown(self.settings.shutdown_timeout)
                            self._writer, self._supervisor = writer, supervisor
                            task_status.started()
                            await self._stopped.wait()
                            job_nursery.cancel_scope.cancel()
                        # Every actor has recorded its end: refuse further
                        # events now, not after the pool has stopped.
                        writer.close()
                        pool_nursery.cancel_scope.cancel()
                finally:
                    writer.close()
                    writer_scope.deadline = trio.current_time() + FINAL_FLUSH_SECONDS
        finally:
            if self._owns_journal:
                with trio.CancelScope(shield=True):
                    if isinstance(writer, ClusterWriter) and self._fatal is None:
                        await self._leave()
                    await self.journal.aclose()
        if self._fatal is not None:
            raise self._fatal

    async def _make_writer(self) -> JournalWriter | ClusterWriter:
        """The single server's writer, or on a PostgreSQL journal a node's
        (after joining the journal's nodes), its observers attached."""
        journal = self.journal
        if isinstance(journal, NodeJournal):
            node = await journal.join(node_name(), self.settings.node_lease)
            log.info("joined the PostgreSQL journal %s as node %d", journal.location, node)
            writer = ClusterWriter(journal, self.table)
            writer.observers.append(self._observe_own)
            writer.applied_observers.append(self._observe_applied)
            writer.append_observers.append(self.metrics.observe_append)
            return writer
        single = JournalWriter(journal, self.table, rebuild=self._rebuild)
        # Before recovery, so that the jobs it interrupts are counted and logged.
        single.observers.append(self._observe)
        single.append_observers.append(self.metrics.observe_append)
        return single

    async def _leave(self) -> None:
        """Give up this node's lease at a clean stop (bounded: a database
        that is down leaves the lease to expire instead)."""
        journal = self.journal
        assert isinstance(journal, NodeJournal)
        with trio.move_on_after(FINAL_FLUSH_SECONDS):
            try:
                await journal.leave()
            except JournalUnavailable as error:
                log.warning("could not give up the lease (it will expire): %s", error)

    def _stop_for_good(self, error: BaseException) -> None:
        """The journal can never be written by this server again: say so
        (probes, logs) and let ``eventjobs serve`` stop (:meth:`wait_fatal`)."""
        self._fatal_reason = "the journal cannot be written any more"
        self._fatal = error
        self._fatal_event.set()
        log.critical("eventjobs cannot serve jobs any more: %s", error)
        if self._supervisor_of_jobs is not None:
            # Its jobs can record nothing (a node's are another's by now):
            # stop them, and start none (each would be refused at once, and
            # dispatched again, for as long as the process lives).
            self._supervisor_of_jobs.abandon()

    async def _run_writer(self, writer: JournalWriter, scope: trio.CancelScope) -> None:
        # Started with start_soon, not start: a task may not move to its
        # nursery from inside a cancel scope it opened itself.
        with scope:
            try:
                await writer.run()
            except NOT_RETRIED as error:
                # Not a bug to crash on: kept for the probes and for whoever
                # runs the server (eventjobs serve stops on wait_fatal).
                # Raised by run() once the server has shut down.
                self._stop_for_good(error)

    def _recover(self, writer: JournalWriter, supervisor: Supervisor) -> None:
        for job in self.table.unfinished(Phase.RUNNING):
            if self._rerun_safe(job):
                log.warning("job %d was running when the server stopped: runs again", job.job_id)
                writer.record_nowait(
                    JobRequeued(job_id=job.job_id, time=self.clock(), reason=RESTART_REASON),
                    retry=True,
                )
                continue
            log.warning("job %d was running when the server stopped: interrupted", job.job_id)
            writer.record_nowait(self._interrupted(job.job_id, RESTART_REASON), retry=True)
        for job in self.table.unfinished(Phase.QUEUED):
            supervisor.enqueue(job.job_id)

    def _interrupted(self, job_id: int, reason: str) -> JobInterrupted:
        """The event of a job found running that its server no longer runs."""
        return JobInterrupted(
            job_id=job_id, time=self.clock(), reason=reason, response=interrupted_result()
        )

    @property
    def _retention_on(self) -> bool:
        return self.settings.result_ttl is not None or self.settings.max_results is not None

    async def _enforce_retention(self, writer: JournalWriter) -> None:
        """Remove results past ``result_ttl`` or ``max_results``, checking
        every ``RETENTION_INTERVAL`` seconds, each with a ``deleted`` event
        whose reason says which limit removed it."""
        while True:
            victims = expired_results(
                self.table,
                self.clock(),
                result_ttl=self.settings.result_ttl,
                max_results=self.settings.max_results,
            )
            try:
                for job_id, reason in victims:
                    writer.record_nowait(
                        JobDeleted(job_id=job_id, time=self.clock(), by=None, reason=reason)
                    )
            except JournalUnavailable:
                pass  # the journal is failing; try again next round
            await trio.sleep(RETENTION_INTERVAL)

    async def _take_snapshots(self, writer: JournalWriter | ClusterWriter) -> None:
        """Snapshot the views once the records since the last snapshot reach
        ``snapshot_every`` and the number of live jobs (see Settings)."""
        while True:
            await trio.sleep(SNAPSHOT_CHECK_INTERVAL)
            if self.table.position - self._snapshot_position >= self._snapshot_due():
                await self._snapshot(writer)

    def _snapshot_due(self) -> int:
        """Records between snapshots (see ``Settings.snapshot_every``)."""
        return max(self.settings.snapshot_every, len(self.table.jobs))

    async def _snapshot(self, writer: JournalWriter | ClusterWriter) -> None:
        """Write a snapshot of the views at the durable head, if it moved.

        The views are copied synchronously (so they are consistent) only
        when the table holds nothing beyond the durable head; otherwise this
        tries again after the open batch is durable.
        """
        try:
            await writer.flush()
        except JournalUnavailable:
            return
        position = self.table.position
        if position == self._snapshot_position or position > self.journal.head:
            return
        # A copy of the views (a list) is consistent and quick; encoding
        # them costs in proportion to the live jobs, so it is lazy: a journal
        # that writes from a worker thread encodes them there, while the
        # table moves on.
        header, jobs = encode_snapshot(self.table)
        try:
            if isinstance(writer, ClusterWriter):
                # One snapshot per interval between all the nodes.
                stored = await writer.journal.save_snapshot(
                    position, header, jobs, min_gap=self._snapshot_due()
                )
                if not stored:
                    self._snapshot_position = position
                    return
            else:
                await self.journal.save_snapshot(position, header, jobs)
        except JournalUnavailable as error:
            # A snapshot only saves replay work at the next start: go on
            # without it, and try again when the next one is due.
            log.warning("snapshot at sequence number %d not written: %s", position, error)
            return
        self._snapshot_position = position
        log.info("snapshot of the views at sequence number %d written", position)

    async def shutdown(self) -> None:
        """Stop intake, drain running jobs (up to ``shutdown_timeout``), then
        interrupt the rest, flush the journal and let :meth:`run` return
        (during the start-up replay: stop replaying)."""
        self._abandon_replay = True
        if self._writer is None and self._fatal is None:
            log.info("shutdown while starting (%s): no job was served", self._startup_step)
        if self._supervisor is not None:
            await self._supervisor.shutdown(self.settings.shutdown_timeout)
        if self._writer is not None:
            try:
                await self._writer.flush()
            except JournalUnavailable:
                # Already logged by the writer; what did not reach the disk is
                # resolved by the recovery rules at the next start.
                pass
            else:
                await self._snapshot(self._writer)
        self._stopped.set()

    async def flush(self) -> None:
        """Wait until every event recorded so far is durable.

        Raises:
            JournalUnavailable: some of it did not reach the journal.
        """
        writer, _ = self._parts()
        await writer.flush()

    def statistics(self) -> RuntimeStatistics:
        """Counters of the writer and supervisor (None before :meth:`run`)."""
        return RuntimeStatistics(
            writer=self._writer.statistics() if self._writer else None,
            supervisor=self._supervisor.statistics() if self._supervisor else None,
        )

    def readiness(self) -> Readiness:
        """Whether jobs are served now: the replay is over and the journal
        is writable; else why not (for ``/_eventjobs/ready``)."""
        if self._fatal is not None:
            return Readiness(False, self.fatal_reason)
        if self._stopped.is_set() or self.stopping:
            return Readiness(False, "the server is shutting down")
        if self._writer is None:
            step = self._startup_step
            if step == "replaying the journal" and self._replay_total is not None:
                step += f": {self._replay_read} of {self._replay_total} records"
            return Readiness(False, f"the server is starting: {step}")
        failure = self._writer.failure
        if failure is not None:
            return Readiness(False, f"the journal cannot be written: {failure}")
        return Readiness(True)

    @property
    def running(self) -> bool:
        """Whether :meth:`run` has recovered and serves commands (it may
        since have begun to shut down)."""
        return self._writer is not None

    @property
    def fatal(self) -> BaseException | None:
        """The error that keeps the runtime from ever serving, if any."""
        return self._fatal

    @property
    def fatal_reason(self) -> str | None:
        """:attr:`fatal` as a sentence for the probes (None without one)."""
        return None if self._fatal is None else f"{self._fatal_reason}: {self._fatal}"

    async def wait_fatal(self) -> BaseException:
        """Return the error once :meth:`run` has failed to open or replay
        the journal, or its journal was taken (never returns otherwise)."""
        await self._fatal_event.wait()
        assert self._fatal is not None
        return self._fatal

    def gauges(self) -> dict[str, float]:
        """Values read at each metrics scrape (see ``GAUGE_HELP``)."""
        writer = self._writer
        return {
            "eventjobs_ready": 1.0 if self.readiness().ready else 0.0,
            "eventjobs_replay_records_read": self._replay_read,
            "eventjobs_replay_records_to_read": self._replay_total or 0,
            "eventjobs_journal_head": self._journal.head if self._journal is not None else 0,
            "eventjobs_journal_append_failures_total": (
                writer.statistics().failed_appends if writer is not None else 0
            ),
        }

    @property
    def stopping(self) -> bool:
        """Whether :meth:`shutdown` has begun (new jobs are refused)."""
        return self._supervisor is not None and self._supervisor.stopping

    def _parts(self) -> tuple[JournalWriter | ClusterWriter, Supervisor]:
        if self._writer is None or self._supervisor is None:
            raise NotRunning(
                "the job runtime is not running: serve the app through its ASGI "
                "lifespan (hypercorn does; in tests use app.test_app())"
            )
        return self._writer, self._supervisor

    # -- commands ---------------------------------------------------------------

    async def submit(self, request: RecordedRequest, caller: Caller, *, store: bool) -> int:
        """Queue *request* as a job of *caller*; return its id once durable.

        Raises:
            ShuttingDown: the server is stopping; nothing was recorded.
            QueueFull: ``max_queued`` jobs are waiting; nothing was recorded.
            QuotaExceeded: *store* and the caller already holds
                ``max_results_per_user`` stored results; nothing was recorded.
            JournalUnavailable: the ``queued`` event did not reach the journal.

        Cancellation: the job stays queued; only the wait for the disk stops.
        """
        writer, supervisor = self._parts()
        if supervisor.stopping:
            raise ShuttingDown("shutdown in progress")
        if self.table.queued_count >= self.settings.max_queued:
            raise QueueFull("queue is full")
        quota = self.settings.max_results_per_user
        if store and quota is not None and self.results_held(caller) >= quota:
            raise QuotaExceeded(
                f"result quota reached: user {caller.name!r} already holds {quota} stored "
                "job results; fetch or delete some first"
            )
        if isinstance(writer, ClusterWriter):
            # The journal gives the id (ids grow across all nodes); the job
            # is this node's to run once it is in the table.
            ticket = writer.record_nowait(
                JobQueued(job_id=0, time=self.clock(), owner=caller.name, store=store, request=request)
            )
            try:
                recorded = await ticket.durable()
            except trio.Cancelled:
                # The client went away: the job is queued all the same once
                # its record lands, and must run without waiting for the
                # lease keeper to find it.
                supervisor.enqueue_when_durable(ticket)
                raise
            job_id = recorded.event.job_id
            try:
                supervisor.enqueue(job_id)
            except ShuttingDown:
                pass  # queued all the same: a node takes it over once this one has left
            return job_id
        job_id = self.table.last_job_id + 1
        batch = writer.record_nowait(
            JobQueued(
                job_id=job_id, time=self.clock(), owner=caller.name, store=store, request=request
            )
        )
        supervisor.enqueue(job_id)
        await batch.durable()
        return job_id

    async def sync(self, job_id: int | None = None) -> None:
        """On a node (PostgreSQL journal): bring the table up to what the
        journal holds now, so that an answer reflects every node's writes
        (a client that submitted on another node and asks here right after
        its 202). For *job_id*, only when the id is above every id this node
        knows (a job it has never seen); one query otherwise. A single
        server's table is always current: nothing to do.

        Raises:
            JournalUnavailable: the database failed.
        """
        writer = self._writer
        if not isinstance(writer, ClusterWriter):
            return
        if job_id is not None and job_id <= self.table.last_job_id:
            return
        await writer.catch_up()

    def results_held(self, caller: Caller) -> int:
        """Stored results (pending or done, not fetched or deleted) the caller owns.

        Owned, not visible: a superuser's quota counts only their own jobs.
        """
        return sum(1 for job in self.table.jobs.values() if job.visible and job.owner == caller.name)

    def status(self, job_id: int, caller: Caller) -> View | None:
        """The caller's job, or None when it is unknown to them."""
        return self.table.find(job_id, caller)

    async def fetch(self, job_id: int, caller: Caller) -> View | None:
        """Take a finished job's result (once); a pending job is returned as is.

        Returns None when the caller has no such job. A finished job is
        recorded ``fetched`` and is gone once this returns.
        """
        writer, _ = self._parts()
        job = self.table.find(job_id, caller)
        if job is None or job.pending:
            return job
        if job.response is None:
            # The body lies in the journal: read it back, then look again,
            # since another fetch or a delete may have come meanwhile.
            response = await self._read_result(job)
            job = self.table.find(job_id, caller)
            if job is None:
                return None
            job = attrs.evolve(job, result=response)
        try:
            await writer.record(JobFetched(job_id=job_id, time=self.clock(), by=caller.name))
        except Rejected:
            return None  # fetched or deleted on another node first
        return job

    async def _read_result(self, job: View) -> RecordedResponse:
        assert job.result_at is not None, f"job {job.job_id} has its result nowhere"
        journal, where = self.journal, job.result_at
        if journal.reads_block:
            record = await trio.to_thread.run_sync(journal.read_at, where)
        else:
            record = journal.read_at(where)
        response: RecordedResponse = record.event.response  # type: ignore[union-attr]
        return response

    async def cancel(self, job_id: int, caller: Caller) -> bool:
        """Ask the caller's job to stop; False when they have no such job.

        A queued job is recorded ``cancelled`` at once and never runs; a
        running one is cancelled and records ``cancelled`` when it has really
        stopped; a finished one is left unchanged.
        """
        writer, supervisor = self._parts()
        job = self.table.find(job_id, caller)
        if job is None:
            return False
        if isinstance(writer, ClusterWriter):
            await self._cancel_on_node(writer, supervisor, job, caller)
        elif job.phase is Phase.QUEUED:
            await writer.record(
                JobCancelled(
                    job_id=job_id, time=self.clock(), by=caller.name, response=cancelled_result()
                )
            )
        elif job.phase is Phase.RUNNING:
            supervisor.cancel_running(job_id, caller.name)
        return True

    async def _cancel_on_node(
        self, writer: ClusterWriter, supervisor: Supervisor, job: View, caller: Caller
    ) -> None:
        """Cancel on a node: a queued job is recorded ``cancelled``; for a
        running one, wherever it runs, ``cancelling`` is recorded, and the
        node running it stops it when it sees that record (this one included,
        through :meth:`_observe_applied`)."""
        if job.phase is Phase.QUEUED:
            try:
                await writer.record(
                    JobCancelled(
                        job_id=job.job_id, time=self.clock(), by=caller.name,
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
                JobCancelling(job_id=job.job_id, time=self.clock(), by=caller.name, reason="cancel")
            )
            return
        except Rejected:
            pass  # already stopping or finished, or no longer running: look again
        await writer.catch_up()
        now = self.table.jobs.get(job.job_id)
        if now is not None and now.phase is Phase.QUEUED and job.phase is Phase.RUNNING:
            # Requeued meanwhile (its node died, the route is rerun-safe):
            # cancel it in the queue instead (once: no loop).
            await self._cancel_on_node(writer, supervisor, now, caller)

    async def delete(self, job_id: int, caller: Caller) -> bool:
        """Remove the caller's job (its work, if any, goes on); False if none."""
        if self.table.find(job_id, caller) is None:
            return False
        writer, _ = self._parts()
        if isinstance(writer, ClusterWriter):
            try:
                await writer.record(
                    JobDeleted(job_id=job_id, time=self.clock(), by=caller.name, reason="id")
                )
            except Rejected:
                return False  # fetched or deleted on another node first
            return True
        await self._delete([job_id], caller, "id")
        return True

    async def delete_all(self, caller: Caller) -> None:
        """Remove every job of the caller's, pending ones included."""
        await self._delete([job.job_id for job in self.table.visible_to(caller)], caller, "all")

    async def delete_expired(self, caller: Caller, stamp: float) -> None:
        """Remove the caller's jobs whose stamp is strictly below *stamp*."""
        ids = [job.job_id for job in self.table.visible_to(caller) if job.stamp < stamp]
        await self._delete(ids, caller, "expired")

    async def _delete(self, job_ids: list[int], caller: Caller, reason: str) -> None:
        writer, _ = self._parts()
        now = self.clock()
        for job_id in job_ids:
            writer.record_nowait(JobDeleted(job_id=job_id, time=now, by=caller.name, reason=reason))
        await writer.flush()

    async def wait_finished(self, job_id: int, caller: Caller, seconds: float) -> None:
        """Return once the caller's job is no longer pending (finished,
        fetched, deleted or unknown), or after *seconds*, whichever is first.

        Cancellation: returns nothing and leaves nothing behind but, at most,
        one event per job that is set and dropped when the job ends.
        """
        job = self.table.find(job_id, caller)
        if job is None or not job.pending:
            return
        event = self._waiters.get(job_id)
        if event is None:
            event = self._waiters[job_id] = trio.Event()
        with trio.move_on_after(seconds):
            await event.wait()

    def add_observer(self, observer: Callable[[Recorded], None]) -> None:
        """Call *observer* with every record appended from now on, once it is
        durable, in journal order (``record.seq`` is its sequence number).

        An event whose append failed and that was lost (its request was
        answered 503) is never seen; one the writer kept and appended again
        is seen once, with the sequence number it got. :attr:`table` may
        already be ahead of the record (it applies events as they are
        recorded).

        It runs in the writer's task between an append and the next: it must
        not raise, yield or take long (hand the record on, e.g. with a
        channel's ``send_nowait``). Observers stay for the runtime's life.
        """
        self._observers.append(observer)

    def _observe(self, record: Recorded) -> None:
        """The single server's writer observer: its records are all its own."""
        self._observe_own(record)
        self._observe_applied(record, True)

    def _observe_own(self, record: Recorded) -> None:
        """A record this server made, durable: metrics and the job log (so
        that, with several nodes, each tells only of what it did)."""
        self.metrics.observe_event(record.event)
        log_transition(record.event)

    def _observe_applied(self, record: Recorded, own: bool) -> None:
        """Any record now in the table, this node's or another's: waiters,
        the observers added with :meth:`add_observer`, and a cancel asked
        for on another node of a job running here."""
        event = record.event
        self._wake_waiters(event)
        for observer in self._observers:
            observer(record)
        if (
            isinstance(event, JobCancelling)
            and event.reason == "cancel"
            and self._supervisor_of_jobs is not None
        ):
            self._supervisor_of_jobs.cancel_running(event.job_id, event.by, recorded=True)

    def _wake_waiters(self, event: Event) -> None:
        if isinstance(
            event, JobDone | JobCancelled | JobTimedOut | JobInterrupted | JobFetched | JobDeleted
        ):
            waiting = self._waiters.pop(event.job_id, None)
            if waiting is not None:
                waiting.set()

    def job_ids(self, caller: Caller, *, pending: bool, count: int) -> list[int]:
        """Up to *count* of the caller's pending (or done) job ids, ascending."""
        ids: list[int] = []
        if count <= 0:
            return ids
        for job in self.table.visible_to(caller):
            if job.pending == pending:
                ids.append(job.job_id)
                if len(ids) == count:
                    break
        return ids

