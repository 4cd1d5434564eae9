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

Its parts: :mod:`.startup` (opening and replaying the journal),
:mod:`.modes` (single server or node, chosen once when the journal opens),
:mod:`.health`, :mod:`.housekeeping` (retention, snapshots) and
:mod:`.fanout` (waiters and observers). The recovery rules applied by
:meth:`run` are :mod:`eventjobs.recovery`'s.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

import attrs
import trio

from ..actors.process_pool import ProcessPool
from ..actors.supervisor import Executor, Supervisor, SupervisorStatistics
from ..actors.writer import FINAL_FLUSH_SECONDS
from ..actors.writing import Writer, WriterStatistics
from ..actors.handle import CURRENT_POOL
from ..errors import (
    JournalUnavailable,
    NotRunning,
)
from ..journal import Journal, NodeJournal
from ..observe.metrics import Metrics
from ..projection import JobTable, JobView
from ..settings import Settings
from .fanout import Fanout
from .health import GAUGE_HELP, Gauges, Health, Readiness
from .housekeeping import Housekeeping
from .jobs import Jobs
from .schedules import Schedules
from .reading import JournalReader
from .transparency import Transparency, load_signer
from .modes import Mode
from .opening import Opening
from .stopping import Stopping
from .startup import (
    ShutdownDuringReplay,
    StartupProgress,
)

log = logging.getLogger("eventjobs.runtime")


def longest_shutdown(settings: Settings) -> float:
    """Seconds a runtime's shutdown may take: the drain, then the final flush."""
    return settings.shutdown_timeout + FINAL_FLUSH_SECONDS


@attrs.frozen
class RuntimeStatistics:
    writer: WriterStatistics | None
    supervisor: SupervisorStatistics | None


class Runtime:
    """The job server's core: opens and replays the journal, runs the
    writer, the supervisor and the housekeeping, and shuts them down.

    Commands and queries on jobs are :attr:`jobs` (:class:`.jobs.Jobs`).

    Args:
        settings: limits and the journal location.
        execute: runs a job's request (the HTTP layer provides it).
        clock: the server's own clock, unix seconds; injected for tests. A
            single server stamps events with it (default ``time.time``); a
            node only counts the time between readings of the database's
            clock on it (:func:`.modes.choose_mode`): see :meth:`clock`.
        journal: use this journal instead of the one *settings* names (it is
            then the caller's to close).
        rerun_safe: whether a job found running at start-up may run again
            (see :func:`eventjobs.rerun_safe`); otherwise it is interrupted.
        retry_jitter: numbers from 0 to 1 for the back-off of jobs that
            retry (default ``random.random``; tests inject their own).
    """

    def __init__(
        self,
        settings: Settings,
        execute: Executor,
        *,
        clock: Callable[[], float] | None = None,
        journal: Journal | NodeJournal | None = None,
        rerun_safe: Callable[[JobView], bool] = lambda job: False,
        retry_jitter: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self._retry_jitter = retry_jitter
        self._execute = execute
        self._rerun_safe = rerun_safe
        self._opening = Opening(settings, journal, clock)
        self.table = JobTable()
        self._writer: Writer | None = None
        self._supervisor: Supervisor | None = None
        #: The worker processes behind ``eventjobs.run_in_process``; they
        #: start only when first used.
        self.pool = ProcessPool(settings.worker_processes)
        self.startup = StartupProgress()
        self.health = Health()
        self.housekeeping = Housekeeping(settings, self.clock)
        self._stopping = Stopping(
            settings, self.startup, self.health, self.housekeeping
        )
        gauges = Gauges(
            self.table,
            self.readiness,
            self.startup,
            lambda: self._opening.journal_or_none,
            lambda: self._writer,
        )
        self.metrics = Metrics(gauges, GAUGE_HELP)
        self.fanout = Fanout(self.metrics)
        #: Commands and queries on jobs (what the job API calls).
        self.jobs = Jobs(settings, self.clock, self.table, self._parts, self.fanout)
        #: Recurring schedules, and the task that fires them.
        self.schedules = Schedules(self.clock, self.table, self._parts, self.jobs)
        self.fanout.add_observer(self.schedules.observe)
        #: The journal's records for the audit endpoints.
        self.records = JournalReader(lambda: self.journal)
        #: The journal's Merkle tree, checkpoints, receipts (docs/audit.md).
        self.transparency = Transparency(
            lambda: self.journal, interval=settings.checkpoint_interval
        )

    def __repr__(self) -> str:
        return (
            f"<Runtime journal={self._opening.journal_or_none!r} {self._supervisor!r}>"
        )

    def clock(self) -> float:
        """Unix seconds now, as stamped on events and used by retention: the
        server's own clock, or on a node the database's (docs/multi-node.md)."""
        return self._opening.now()

    @property
    def journal(self) -> Journal | NodeJournal:
        return self._opening.journal

    # -- lifecycle ------------------------------------------------------------

    async def open_journal(self) -> None:
        """Open the journal without reading its records (cheap), and choose
        the mode it runs in. Idempotent.

        Raises:
            ConfigError: the journal location cannot be used.
            JournalCorrupt: the journal's last record does not read.
        """
        if (
            self.settings.checkpoint_key is not None
            and self.transparency.signer is None
        ):
            self.transparency.signer = load_signer(self.settings.checkpoint_key)
        await self._opening.open_journal()

    async def open(self) -> None:
        """Open the journal and rebuild the table from it. Idempotent.

        Raises:
            ConfigError: the journal location cannot be used.
            JournalCorrupt: the journal does not read back; nothing is served.
            ShutdownDuringReplay: :meth:`shutdown` came during the replay.
        """
        await self.open_journal()  # (the signer key is read first)
        await self._opening.replay_into(self.table, self.startup, self.housekeeping)

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Recover, then run the writer and supervisor until :meth:`shutdown`.

        Reports started once recovery is durable and jobs are accepted; if
        the journal cannot be written then, the recovery's events stay with
        the writer, which retries them, and it starts anyway (not ready
        until they are written, see :meth:`readiness`).

        A :meth:`shutdown` during the replay makes this return without
        serving (jobs found queued stay queued); one during recovery drains
        as usual. When the journal cannot be opened or replayed the error is
        kept (:meth:`readiness`, :meth:`wait_fatal`) and raised. So is an
        append error that no retry can cure (:data:`.health.NOT_RETRIED`: another
        server took the journal): the writer stops, every later command is
        refused, and once :meth:`shutdown` has run the error is raised.

        Cancellation: running jobs are recorded as interrupted and the writer
        flushes before this returns.
        """
        try:
            await self.open()
        except ShutdownDuringReplay:
            return  # shutdown() has said so
        except Exception as error:
            self.health.failed_to_start(error)
            raise
        if self.startup.shutdown_asked:
            # shutdown() came during a replay that ended before it looked
            # (it looks every REPLAY_PROGRESS_EVERY records): serve nothing,
            # so that jobs found queued stay queued for the next start.
            await self._opening.close()
            return
        # The journal's id (made on its first start), which names it in
        # every checkpoint: made now, so that a copy of the journal taken
        # before any checkpoint was signed carries it too.
        try:
            await self.transparency.origin()
        except Exception as error:  # the audit trail only; jobs go on
            log.warning("the journal's id could not be made: %s", error)
        self.startup.step = "recovering jobs found unfinished"
        mode = self._opening.mode
        assert mode is not None
        try:
            writer = await mode.start_writer(
                self.table, self.fanout, self._opening.rebuild
            )
        except Exception as error:
            self.health.failed_to_start(error)
            await self._opening.close()
            raise
        writer.append_observers.append(self.metrics.observe_append)
        # The writer must outlive every actor, even when this whole task is
        # cancelled from outside: actors record how their jobs ended as they
        # unwind. So it runs shielded, and is told to close only once the
        # supervisor's nursery (and with it every actor) has finished.
        writer_scope = trio.CancelScope(shield=True)
        try:
            async with trio.open_nursery() as journal_nursery:
                journal_nursery.start_soon(self.health.run_writer, writer, writer_scope)
                try:
                    # The pool outlives the jobs (an interrupted job's worker
                    # is killed as the job unwinds) and stops after them.
                    async with trio.open_nursery() as pool_nursery:
                        await pool_nursery.start(self.pool.serve)
                        async with trio.open_nursery() as job_nursery:
                            await self._serve(mode, writer, job_nursery, task_status)
                            job_nursery.cancel_scope.cancel()
                        # Every actor has recorded its end: refuse further
                        # events now, not after the pool has stopped.
                        writer.close()
                        pool_nursery.cancel_scope.cancel()
                finally:
                    writer.close()
                    # Stopped for good (fenced, the journal lost): nothing
                    # more can be recorded, so no time is spent trying.
                    flush = (
                        0.0 if self.health.fatal is not None else FINAL_FLUSH_SECONDS
                    )
                    writer_scope.deadline = trio.current_time() + flush
            if self.health.fatal is None:
                # Every record is durable now: the last checkpoint covers them.
                with trio.CancelScope(shield=True):
                    await self.transparency.final_checkpoint()
        finally:
            if self._opening.owns_journal and self.health.fatal is None:
                with trio.CancelScope(shield=True):
                    await mode.leave()
            await self._opening.close()
        if self.health.fatal is not None:
            raise self.health.fatal

    async def _serve(
        self,
        mode: Mode,
        writer: Writer,
        job_nursery: trio.Nursery,
        task_status: trio.TaskStatus[None],
    ) -> None:
        """Start the supervisor and the housekeeping, recover, report
        started, and wait for :meth:`shutdown`."""
        supervisor = Supervisor(
            writer,
            self._execute,
            self.clock,
            max_running=self.settings.max_running,
            job_timeout=self.settings.job_timeout,
            progress_interval=self.settings.progress_interval,
            pool=self.pool,
            priority_aging=self.settings.priority_aging,
            key_concurrency=self.settings.key_concurrency,
            jitter=self._retry_jitter,
            max_backoff=self.settings.max_delay,
        )
        self._stopping.apply_to(supervisor)
        await job_nursery.start(supervisor.run)
        if self.housekeeping.retention_on:
            job_nursery.start_soon(self.housekeeping.enforce_retention, writer)
        job_nursery.start_soon(self.housekeeping.take_snapshots, writer, mode)
        if self.transparency.signer is not None:
            job_nursery.start_soon(self.transparency.run)
        self.fanout.supervisor = supervisor
        # Its jobs can record nothing once the journal is lost for good (a
        # node's are another's by now): stop them, and start none.
        self.health.on_stop_for_good.append(lambda error: supervisor.abandon())
        mode.recover(
            job_nursery, supervisor, self._rerun_safe, self.health.stop_for_good
        )
        try:
            await writer.flush()
        except JournalUnavailable as error:
            # The recovery's events are kept (retry=True) and written once
            # the journal takes writes; meanwhile readiness says why not.
            log.warning("recovery not yet durable: %s", error)
        if self.startup.shutdown_asked:
            # shutdown() came during that flush, before it could reach the
            # supervisor: drain here.
            await supervisor.shutdown(self.settings.shutdown_timeout)
        self._writer, self._supervisor = writer, supervisor
        job_nursery.start_soon(self.schedules.run)
        task_status.started()
        await self._stopping.stopped.wait()

    def stop_intake(self) -> None:
        """Refuse new jobs from now on (503 ``shutdown in progress``), ahead
        of :meth:`shutdown`: a server calls this as soon as it is told to
        stop, because it serves the requests still arriving on open
        connections for a while before it runs :meth:`shutdown`."""
        self._stopping.stop_intake(self._supervisor)

    def hurry(self) -> None:
        """Interrupt the running jobs now instead of waiting for them
        (:meth:`shutdown`'s wait ends, or is skipped if it has not begun);
        they are recorded as interrupted, as at the end of the wait."""
        self._stopping.hurry(self._supervisor)

    async def shutdown(self) -> None:
        """Stop intake, drain running jobs (up to ``shutdown_timeout``, or
        until :meth:`hurry`), then interrupt the rest, flush the journal and
        let :meth:`run` return (during the start-up replay: stop replaying).
        See :mod:`.stopping`."""
        await self._stopping.shutdown(
            self._writer, self._supervisor, self._opening.mode
        )

    async def flush(self) -> None:
        """Wait until every event recorded so far is durable.

        Raises:
            JournalUnavailable: some of it did not reach the journal.
        """
        writer, _, _ = self._parts()
        await writer.flush()

    async def snapshot(self) -> None:
        """Write a snapshot of the views now (see ``Housekeeping.snapshot``)."""
        writer, _, mode = self._parts()
        await self.housekeeping.snapshot(writer, mode)

    # -- health ---------------------------------------------------------------

    def statistics(self) -> RuntimeStatistics:
        """Counters of the writer and supervisor (None before :meth:`run`)."""
        return RuntimeStatistics(
            writer=self._writer.statistics() if self._writer else None,
            supervisor=self._supervisor.statistics() if self._supervisor else None,
        )

    def readiness(self) -> Readiness:
        """Whether jobs are served now: the replay is over and the journal
        is writable; else why not (for ``/_eventjobs/ready``)."""
        stopping = self._stopping.stopped.is_set() or self.stopping
        return self.health.readiness(self.startup, self._writer, stopping=stopping)

    @property
    def running(self) -> bool:
        """Whether :meth:`run` has recovered and serves commands (it may
        since have begun to shut down)."""
        return self._writer is not None

    @property
    def fatal(self) -> BaseException | None:
        """The error that keeps the runtime from ever serving, if any."""
        return self.health.fatal

    @property
    def stopping(self) -> bool:
        """Whether :meth:`shutdown` (or :meth:`stop_intake`) has begun (new
        jobs are refused)."""
        return self._stopping.intake_stopped or (
            self._supervisor is not None and self._supervisor.stopping
        )

    def _parts(self) -> tuple[Writer, Supervisor, Mode]:
        mode = self._opening.mode
        if self._writer is None or self._supervisor is None or mode is None:
            raise NotRunning(
                "the job runtime is not running: serve the app through its ASGI "
                "lifespan (hypercorn does; in tests use app.test_app())"
            )
        return self._writer, self._supervisor, mode

    # -- what else the HTTP layer asks ------------------------------------------

    def lend_pool(self) -> None:
        """Make the worker-process pool what ``eventjobs.run_in_process``
        uses in the current task (a synchronous request's handler; a job's
        actor lends it to its job itself)."""
        CURRENT_POOL.set(self.pool)
