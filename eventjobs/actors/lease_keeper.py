"""The lease keeper of a node: one of several servers on a PostgreSQL journal.

It:

1. renews this node's lease every twentieth of it (setting the node's
   clock by the database's as it does, :mod:`.node_clock`), and after a failure
   keeps trying (a short back-off) while the lease may still be live by the
   database's clock; a node whose lease has run out, or that another node
   fenced, stops for good (``on_fenced``, saying which); so does one that
   finds the journal damaged;
2. every third of the lease, fences the nodes whose lease has expired and takes over every unfinished
   job no live node holds (:meth:`NodeJournal.take_over`), then recovers
   them as a restarted single server would: a queued job runs here; a
   running one is recorded ``cancelled`` when a stop was asked for,
   ``retrying`` (then runs here after its back-off) when it asked for
   retries and has attempts left, ``requeued`` (then runs here) on a
   rerun-safe route, else ``interrupted`` (:mod:`eventjobs.recovery`);
3. recovers *strays*: jobs this node holds in the journal but neither runs
   nor has queued (an append whose commit reached the database but whose
   reply was lost, so the caller was told 503).

The renewal (1) has a task and a database connection of its own, so that
steps 2 and 3, or reads holding every pooled connection, never delay it.
While the node drains for shutdown it only renews (it takes on no jobs it
would not run). Cancellation: stops between steps; what was recorded stays.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio

from ..errors import JournalCorrupt, JournalUnavailable, NodeFenced, ShuttingDown
from ..events import JobCancelled, JobRequeued, JobRetrying
from ..journal import TakenJob
from ..projection import JobView
from ..recovery import NODE_LOST_REASON, StopAsked, Unfinished, recover
from ..lifecycle import Phase
from ..referee import Rejected, phase_of
from .node_clock import NodeClock
from .node_writer import NodeWriter
from .supervisor import Supervisor
from .writing import LONGEST_BACKOFF, Backoff, Ticket

log = logging.getLogger("eventjobs.runtime")

__all__ = ["NODE_LOST_REASON", "RENEWALS_PER_LEASE", "LeaseKeeper"]

#: Renewals per lease while the database answers; after a failure the
#: tries come faster (a back-off from 0.1 s capped at the same interval).
#: Often, so that the lease left when an outage begins is nearly whole:
#: the renewal is one UPDATE of one row.
RENEWALS_PER_LEASE = 20


class LeaseKeeper:
    """See the module docstring.

    Args:
        writer: the node's writer (its journal has joined).
        supervisor: where recovered jobs run.
        lease: seconds (see :data:`RENEWALS_PER_LEASE`).
        clock: the node's clock (event times); each renewal sets it by the
            database's clock.
        rerun_safe: whether a job found running may run again.
        on_fenced: called once with the error when this node must stop.
    """

    def __init__(
        self,
        writer: NodeWriter,
        supervisor: Supervisor,
        *,
        lease: float,
        clock: NodeClock,
        rerun_safe: Callable[[JobView], bool],
        on_fenced: Callable[[BaseException], None],
    ) -> None:
        self._writer = writer
        self._journal = writer.journal
        self._table = writer.table
        self._supervisor = supervisor
        self._lease = lease
        self._clock = clock
        self._rerun_safe = rerun_safe
        self._on_fenced = on_fenced
        #: Strays seen on the last pass (recovered if seen again).
        self._suspects: set[int] = set()
        #: ``on_fenced`` was called (once is enough).
        self._stopped = False

    async def run(self) -> None:
        """Keep the lease until cancelled, or until this node is fenced.

        Renewing runs in a task of its own: a take-over or a look for
        strays that waits (for a pooled connection, which long reads may
        all hold; for the journal's lock) must not hold the renewal back,
        or a live node loses its lease."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._take_over_forever, nursery.cancel_scope)
            await self._renew_forever()
            nursery.cancel_scope.cancel()

    async def _renew_forever(self) -> None:
        """Renew every :data:`RENEWALS_PER_LEASE`-th of the lease; after a
        failure, try again after a short back-off (capped at that interval)
        for as long as the lease may still be live by the database's clock.

        The database set the lease to run out one lease after the last
        renewal that succeeded committed, which was before that renewal's
        answer came back here: so once a whole lease has passed here since
        that answer, the lease has run out there too, and the node stops.
        Until then any try that reaches the database renews it, so an
        outage is survived when it ends, and one more try gets through,
        before that point (docs/deployment.md gives the figures)."""
        interval = self._lease / RENEWALS_PER_LEASE
        backoff = Backoff(longest=min(interval, LONGEST_BACKOFF))
        renewed_at = trio.current_time()
        failures = 0
        while True:
            try:
                await self._renew()
            except JournalUnavailable as error:
                if trio.current_time() - renewed_at < self._lease:
                    if not failures:  # once per outage, not once per try
                        log.warning(
                            "renewing the node's lease failed (trying again until "
                            "%g s after the last renewal): %s",
                            self._lease,
                            error,
                        )
                    failures += 1
                    await backoff.wait()
                    continue
                self._fenced(
                    NodeFenced(
                        f"this server (node {self._writer.node} of the PostgreSQL journal "
                        f"{self._journal.location}) lost its lease: it could not renew it "
                        f"within its lease of {self._lease:g} s ({error}), so the lease has "
                        "run out by the database's clock as well; it records nothing more "
                        "and stops (restart it to rejoin as a new node; the jobs it held "
                        "go to the next node that looks)"
                    )
                )
                return
            except (NodeFenced, JournalCorrupt) as error:
                self._fenced(error)
                return
            now = trio.current_time()
            if failures:
                log.warning(
                    "the node's lease is renewed again, %.1f s after the last renewal "
                    "(%d tries failed)",
                    now - renewed_at,
                    failures,
                )
            renewed_at, failures = now, 0
            backoff.reset()
            await trio.sleep(interval)

    async def _take_over_forever(self, scope: trio.CancelScope) -> None:
        while True:
            try:
                if not self._supervisor.stopping:
                    await self._take_over()
                    await self._recover_strays()
            except JournalUnavailable as error:
                log.warning(
                    "taking over the jobs of nodes that are gone failed: %s", error
                )
            except (NodeFenced, JournalCorrupt) as error:
                self._fenced(error)
                scope.cancel()
                return
            await trio.sleep(self._lease / 3)

    def _fenced(self, error: BaseException) -> None:
        if not self._stopped:
            self._stopped = True
            self._on_fenced(error)

    async def _renew(self) -> None:
        if await self._clock.read(self._journal.renew_lease) is not None:
            return
        try:
            reason = await self._journal.lost_lease()
        except JournalUnavailable:
            reason = (
                f"this server (node {self._writer.node} of the PostgreSQL journal "
                f"{self._journal.location}) lost its lease: the database refused to "
                f"renew it (it ran out, or another node fenced it); it records nothing "
                "more and stops (restart it to rejoin as a new node)"
            )
        raise NodeFenced(reason)

    async def _take_over(self) -> None:
        taken = await self._journal.take_over()
        if taken:
            await self._writer.catch_up()
            await self._recover(taken)

    async def _recover_strays(self) -> None:
        """A job is taken for a stray only when found so on two passes in a
        row, everything recorded flushed before each: a job that just ended
        has its end in the journal by then."""
        try:
            await self._writer.flush()
        except JournalUnavailable:
            return
        held = await self._journal.held()
        strays = {
            job_id for job_id, _phase in held if not self._supervisor.holds(job_id)
        }
        confirmed = [
            TakenJob(
                job_id, phase, cancelling=bool(self._table.jobs[job_id].cancelling)
            )
            for job_id, phase in held
            if job_id in strays & self._suspects and job_id in self._table.jobs
        ]
        if confirmed:
            await self._writer.catch_up()
            await self._recover(confirmed)
        self._suspects = strays - self._suspects

    async def _recover(self, taken: list[TakenJob]) -> None:
        """Apply the recovery rules (:mod:`eventjobs.recovery`) to *taken*."""
        requeued: list[Ticket] = []
        for job in taken:
            view = self._table.jobs.get(job.job_id)
            if not isinstance(view, JobView):
                continue  # finished meanwhile
            running = phase_of(job.phase) is Phase.RUNNING
            found = Unfinished(
                job.job_id,
                running=running,
                rerun_safe=running and self._rerun_safe(view),
                stop_asked=StopAsked(job.cancelled_by)
                if running and job.cancelling
                else None,
                # As at a single server's restart: a job with attempts left retries.
                attempt=view.attempt,
                retries=view.retries,
            )
            recovery = recover(
                found,
                now=self._clock(),
                reason=NODE_LOST_REASON,
                backoff=self._supervisor.backoff(view),
            )
            if recovery.event is None:
                log.warning(
                    "job %d: taken over from a node that is gone: runs here", job.job_id
                )
                self._enqueue(job.job_id)
                continue
            if isinstance(recovery.event, JobRequeued):
                log.warning(
                    "job %d: its node is gone while it ran: runs again here", job.job_id
                )
            elif isinstance(recovery.event, JobRetrying):
                log.warning(
                    "job %d: its node is gone while attempt %d ran: retries here",
                    job.job_id,
                    view.attempt,
                )
            elif not isinstance(recovery.event, JobCancelled):
                log.warning(
                    "job %d: its node is gone while it ran: interrupted", job.job_id
                )
            ticket = self._writer.record_nowait(recovery.event, retry=True)
            if recovery.run:
                requeued.append(ticket)
        for ticket in requeued:
            try:
                record = await ticket.durable()
            except Rejected:
                continue
            self._enqueue(record.event.job_id)

    def _enqueue(self, job_id: int) -> None:
        try:
            self._supervisor.enqueue(job_id)
        except ShuttingDown:
            pass  # held by this node, which is leaving: the next node takes it
