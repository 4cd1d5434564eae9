"""The supervisor and its job actors: where jobs actually run.

The supervisor owns the job nursery, which outlives every HTTP request (a
client that disconnects cancels its request, never a job). It starts queued
jobs at most ``max_running`` at a time: the highest priority first (a job's
``x-eventjobs-priority``, plus one level per ``priority_aging`` seconds it
has waited, so that low priorities never starve), first in, first out
among equals. A job with a start time (``x-eventjobs-delay`` or
``-not-before``) waits, queued, until then: a timer of the dispatcher, in
trio's clock, for as long as the wall clock says is left. A job with an
``x-eventjobs-concurrency-key`` whose owner already runs ``key_concurrency``
jobs with that key is set aside, still queued, until one of them ends; the
jobs set aside for a key come back one at a time, the highest priority
first, then the oldest. (The count is this server's: on several nodes each
enforces it for the jobs it runs.) Each job runs
as an actor: one task that records ``started``, runs the request in its own
:class:`trio.CancelScope`, and records how it ended:

- the handler answered -> ``done`` with that response;
- a client cancelled it -> ``cancelled`` with the 410 result;
- it ran past its timeout -> ``timed_out`` with the 504 result;
- the server stopped it -> ``interrupted`` with the 503 result.

A job that asked for retries (``x-eventjobs-retries``) whose attempt ended
with a 5xx, a timeout or an interruption, with attempts left
(:mod:`eventjobs.retries`), records ``retrying`` instead, with the time its
next attempt may start (the back-off, its jitter from ``jitter``), and waits
for it as a delayed job does. A cancel ends it as ever: no retry.

A job's timeout is its request's ``x-eventjobs-timeout`` header, else the
server's ``job_timeout``; it becomes the deadline of the job's cancel scope,
counted from the moment the job starts. The job's :class:`JobHandle` is put
in the task's context (``CURRENT_JOB``), with the worker-process pool
(``CURRENT_POOL``), for the helpers a handler calls.

A job's failure is data (the executor turns a raising handler into a stored
500); an exception escaping the executor is a bug in eventjobs and crashes
the supervisor, after the job is recorded as interrupted.
"""

from __future__ import annotations

import bisect
import heapq
import logging
import math
import random
from collections import deque
from collections.abc import Awaitable, Callable

import attrs
import trio

from ..errors import JournalUnavailable, ShuttingDown
from ..events import (
    JobCancelled,
    JobDone,
    JobInterrupted,
    JobRetrying,
    JobStarted,
    JobTimedOut,
    Owner,
    RecordedResponse,
)
from ..headers import job_timeout
from ..projection import JobView, Phase
from ..referee import Rejected
from ..results import cancelled_result, interrupted_result, timed_out_result
from ..retries import (
    INTERRUPTED,
    SERVER_ERROR,
    TIMEOUT,
    attempts_left,
    backoff,
    retryable_status,
)
from .handle import CURRENT_JOB, CURRENT_POOL, JobHandle
from .process_pool import ProcessPool
from .writing import Ticket, Writer

log = logging.getLogger("eventjobs.supervisor")

#: Runs a job's recorded request and returns its response. It must turn the
#: handler's own failures into a response; what it raises is treated as a bug.
Executor = Callable[[JobView], Awaitable[RecordedResponse]]

Clock = Callable[[], float]

SHUTDOWN_REASON = "the server shut down while the job ran"

#: How long after a delayed job's start time its timer fires (seconds).
TIMER_SLACK = 0.001


@attrs.frozen
class SupervisorStatistics:
    running: int
    waiting_for_slot: int
    max_running: int


class Supervisor:
    """Starts, limits, cancels and stops job actors.

    Start it with ``await nursery.start(supervisor.run)``; stop it with
    :meth:`shutdown`.
    """

    def __init__(
        self,
        writer: Writer,
        execute: Executor,
        clock: Clock,
        *,
        max_running: int,
        job_timeout: float = 0.0,
        progress_interval: float = 1.0,
        pool: ProcessPool | None = None,
        priority_aging: float = 0.0,
        key_concurrency: int = 1,
        jitter: Callable[[], float] = random.random,
        max_backoff: float = 30 * 86400.0,
    ) -> None:
        self._writer = writer
        self._table = writer.table
        self._execute = execute
        self._clock = clock
        self._max_running = max_running
        self._slots = trio.Semaphore(max_running)
        #: Jobs ready to start, by their own priority, each level first in,
        #: first out (the oldest of a level has aged most: only the heads
        #: are compared).
        self._levels: dict[int, deque[int]] = {}
        self._ready_count = 0
        #: (start time, id) of jobs that may not start yet, soonest first.
        self._delayed: list[tuple[float, int]] = []
        #: Set when a job is enqueued: wakes a dispatcher waiting for one.
        self._enqueued = trio.Event()
        self._priority_aging = priority_aging
        self._key_concurrency = key_concurrency
        self._jitter = jitter
        self._max_backoff = max_backoff
        #: (owner, concurrency key) -> how many of its jobs run here now.
        self._key_running: dict[tuple[Owner, str], int] = {}
        #: (owner, concurrency key) -> its jobs set aside for want of a key
        #: slot, as (-priority, id): the best first.
        self._key_waiting: dict[tuple[Owner, str], list[tuple[int, int]]] = {}
        self._job_timeout = job_timeout
        self._progress_interval = progress_interval
        self._pool = pool
        self._running: dict[int, JobHandle] = {}
        #: Ids enqueued and not yet dispatched.
        self._waiting: set[int] = set()
        self._all_stopped = trio.Event()
        self._all_stopped.set()
        self._stopping = False
        #: Set by :meth:`hurry`: :meth:`shutdown` does not wait for jobs.
        self._hurried = False
        #: :meth:`shutdown`'s wait for running jobs, while it waits.
        self._drain: trio.CancelScope | None = None
        #: Set by :meth:`abandon`: nothing starts any more.
        self._abandoned = False
        self._nursery: trio.Nursery | None = None

    def __repr__(self) -> str:
        state = "stopping" if self._stopping else "running"
        return (
            f"<Supervisor {state} running={len(self._running)}/{self._max_running} "
            f"queued={self._table.queued_count}>"
        )

    def statistics(self) -> SupervisorStatistics:
        return SupervisorStatistics(
            running=len(self._running),
            waiting_for_slot=self._ready_count,
            max_running=self._max_running,
        )

    @property
    def stopping(self) -> bool:
        return self._stopping

    def enqueue(self, job_id: int) -> None:
        """Schedule a queued job to run once a slot is free and its start
        time (if any) has come, in priority order (module docstring).

        Raises:
            ShuttingDown: :meth:`shutdown` has begun.
        """
        if self._stopping:
            raise ShuttingDown("shutdown in progress")
        self._waiting.add(job_id)
        self._push(job_id)

    def _push(self, job_id: int) -> None:
        job = self._table.jobs.get(job_id)
        start = None if job is None else job.not_before
        if start is not None and start > self._clock():
            heapq.heappush(self._delayed, (start, job_id))
            self._enqueued.set()
            return
        self._ready(job_id, 0 if job is None else job.priority)

    def _ready(self, job_id: int, priority: int, *, by_age: bool = False) -> None:
        level = self._levels.get(priority)
        if level is None:
            level = self._levels[priority] = deque()
        if by_age:
            # Back from a wait for its key: ahead of the younger jobs of its
            # level (ids only grow), so first in, first out still holds.
            bisect.insort(level, job_id)
        else:
            level.append(job_id)
        self._ready_count += 1
        self._enqueued.set()

    def _pop_ready(self) -> int | None:
        """The job to start now, taken off the queue, or None (none is ready)."""
        while True:
            job_id = self._pop_best()
            if job_id is None:
                return None
            key = self._key_of(job_id)
            if key is None or self._key_running.get(key, 0) < self._key_concurrency:
                return job_id
            # Its key's slots are taken: set aside until one frees, and look
            # again (the next best may have another key, or none).
            job = self._table.jobs.get(job_id)
            heapq.heappush(
                self._key_waiting.setdefault(key, []),
                (-(0 if job is None else job.priority), job_id),
            )

    def _pop_best(self) -> int | None:
        """The best ready job by priority, taken off the queue, or None."""
        now = self._clock()
        delayed = self._delayed
        while delayed and delayed[0][0] <= now:
            _start, job_id = heapq.heappop(delayed)
            job = self._table.jobs.get(job_id)
            self._ready(job_id, 0 if job is None else job.priority)
        best: tuple[float, int] | None = None
        best_level: deque[int] | None = None
        for priority, level in self._levels.items():
            if not level:
                continue
            rank = (self._effective(level[0], priority, now), -level[0])
            if best is None or rank > best:
                best, best_level = rank, level
        if best_level is None:
            return None
        self._ready_count -= 1
        return best_level.popleft()

    def _key_of(self, job_id: int) -> tuple[Owner, str] | None:
        """The (owner, concurrency key) of a job still queued, or None."""
        job = self._table.jobs.get(job_id)
        if job is None or job.concurrency_key is None or job.phase is not Phase.QUEUED:
            return None
        return job.owner, job.concurrency_key

    def _key_slot_taken(self, key: tuple[Owner, str]) -> None:
        self._key_running[key] = self._key_running.get(key, 0) + 1

    def _key_slot_freed(self, key: tuple[Owner, str]) -> None:
        """One of *key*'s jobs ended here: the best job set aside for it (if
        any, and still queued) is ready again."""
        left = self._key_running[key] - 1
        if left:
            self._key_running[key] = left
        else:
            del self._key_running[key]
        waiting = self._key_waiting.get(key)
        while waiting:
            priority, job_id = heapq.heappop(waiting)
            if self._key_of(job_id) is not None:  # else cancelled meanwhile
                self._ready(job_id, -priority, by_age=True)
                break
        if not waiting:
            self._key_waiting.pop(key, None)

    def _effective(self, job_id: int, priority: int, now: float) -> float:
        """*priority* plus one level per ``priority_aging`` seconds waited
        (since the job was queued, or since its start time)."""
        aging = self._priority_aging
        job = self._table.jobs.get(job_id)
        if aging <= 0 or job is None:
            return priority
        since = max(job.created, job.not_before or job.created)
        return priority + max(0, math.floor((now - since) / aging))

    async def _next_ready(self) -> int:
        """Wait for a job that may start (module docstring), and take it."""
        while True:
            self._enqueued = trio.Event()
            job_id = self._pop_ready()
            if job_id is not None:
                return job_id
            # Nothing ready: wait for an enqueue, or the soonest start time
            # (a little after it: the two clocks round differently, and a
            # timer that woke a hair early would only set itself again).
            wait = self._delayed[0][0] - self._clock() if self._delayed else math.inf
            with trio.move_on_after(max(wait, 0.0) + TIMER_SLACK):
                await self._enqueued.wait()

    def enqueue_when_durable(self, ticket: Ticket) -> None:
        """Enqueue the job a ``queued`` *ticket* records once it is in the
        journal (for a submission whose caller stopped waiting); nothing if
        it does not get there, or the supervisor is stopping by then."""
        if self._nursery is not None:
            self._nursery.start_soon(self._enqueue_later, ticket)

    async def _enqueue_later(self, ticket: Ticket) -> None:
        try:
            record = await ticket.durable()
        except (Rejected, JournalUnavailable):
            return
        if not self._stopping:
            self.enqueue(record.event.job_id)

    def backoff(self, job: JobView) -> float:
        """Seconds *job* waits before the attempt after its current one
        (:func:`eventjobs.retries.backoff`, with this supervisor's jitter)."""
        return backoff(job.attempt, job.retry_delay, self._jitter(), self._max_backoff)

    def holds(self, job_id: int) -> bool:
        """Whether *job_id* waits for a slot here or runs here."""
        return job_id in self._waiting or job_id in self._running

    def cancel_running(self, job_id: int, by: Owner, *, recorded: bool = False) -> None:
        """Ask a running job to stop; it records ``cancelled`` once it has.

        Cancelling twice is harmless: the first canceller is the one recorded
        (and a job already stopping for its timeout is recorded as timed out).
        *recorded*: the request is already in the journal as ``cancelling``
        (a cancel on a node of a shared journal), so the job does not record
        it again. A job not running here is left alone.
        """
        running = self._running.get(job_id)
        if running is not None:
            running.cancel(by, recorded=recorded)

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Dispatch queued jobs to actors until :meth:`shutdown` completes.

        Cancellation: running actors are cancelled with the nursery and each
        records its job as interrupted before it ends.
        """
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._interrupt_when_torn_down)
            task_status.started()
            while True:
                await self._writer.wait_healthy()  # no starts while appends fail
                await self._slots.acquire()
                self._dispatch(nursery, await self._next_ready())
                # Then start every job that is ready now, without yielding in
                # between: one job per pass of the scheduler left jobs queued
                # behind free slots while clients polled (docs/performance.md).
                while True:
                    try:
                        self._slots.acquire_nowait()
                    except trio.WouldBlock:
                        break
                    job_id = self._pop_ready()
                    if job_id is None:
                        self._slots.release()
                        break
                    self._dispatch(nursery, job_id)

    def _dispatch(self, nursery: trio.Nursery, job_id: int) -> None:
        """Start *job_id*'s actor in the slot just taken (or give it back)."""
        self._waiting.discard(job_id)
        if self._table.jobs.get(job_id) is None or self._stopping or self._abandoned:
            self._slots.release()
            return
        key = self._key_of(job_id)
        if key is not None:
            self._key_slot_taken(key)  # now, before another pick sees the count
        nursery.start_soon(self._run_job, job_id, key, name=f"job {job_id}")

    def abandon(self) -> None:
        """The journal can record nothing more from this server (its node
        was fenced, or another server took the journal): start no job, and
        stop the running ones at once. They are not this server's to run
        any more (another node has taken them over), and how they end can
        no longer be recorded. :meth:`shutdown` still ends the supervisor.
        """
        self._abandoned = True
        for running in list(self._running.values()):
            running.interrupt()

    def stop_intake(self) -> None:
        """Take no new job from now on, as :meth:`shutdown` does first (for
        a server told to stop before it runs :meth:`shutdown`):
        :meth:`enqueue` raises :class:`ShuttingDown` and nothing queued
        starts. Queued jobs stay queued."""
        self._stopping = True

    def hurry(self) -> None:
        """End :meth:`shutdown`'s wait for running jobs now (or skip it, if
        it has not begun): they are interrupted at once."""
        self._hurried = True
        if self._drain is not None:
            self._drain.cancel()

    async def shutdown(self, timeout: float) -> None:
        """Stop in layers: take no new jobs, let running ones finish for up to
        *timeout* seconds, then cancel the rest (recorded as interrupted).

        Jobs still queued stay queued in the journal and run after a restart.
        """
        self._stopping = True
        with trio.move_on_after(0 if self._hurried else timeout) as self._drain:
            await self._wait_all_stopped()
        self._drain = None
        for running in self._running.values():
            running.interrupt()
        await self._wait_all_stopped()
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    async def _interrupt_when_torn_down(self) -> None:
        """When the job nursery is cancelled (the end of :meth:`shutdown`, or
        the server torn down from outside without it), interrupt every job
        still running: a job waiting, shielded, for a thread that cannot be
        stopped would otherwise hold the teardown until the thread returns."""
        try:
            await trio.sleep_forever()
        finally:
            for running in list(self._running.values()):
                running.interrupt()

    async def _wait_all_stopped(self) -> None:
        while self._running:
            await self._all_stopped.wait()

    async def _run_job(self, job_id: int, key: tuple[Owner, str] | None) -> None:
        try:
            await self._act(job_id)
        finally:
            self._slots.release()
            if key is not None:
                self._key_slot_freed(key)

    async def _act(self, job_id: int) -> None:
        """The job actor: run one job from ``queued`` to its end."""
        job = self._table.jobs.get(job_id)
        # Re-checked here, in the same step that records `started`: a cancel
        # may have finished the job after the dispatcher picked it.
        if (
            job is None
            or job.phase is not Phase.QUEUED
            or self._stopping
            or self._abandoned
        ):
            return
        assert self._nursery is not None
        timeout = job_timeout(
            job.request.headers if job.request else (), self._job_timeout
        )
        running = JobHandle(
            job_id,
            self._writer,
            self._clock,
            self._nursery,
            progress_interval=self._progress_interval,
            timeout=timeout,
        )
        CURRENT_JOB.set(running)
        CURRENT_POOL.set(self._pool)
        if not self._running:
            self._all_stopped = trio.Event()  # set again when the last job ends
        self._running[job_id] = running
        ended = False
        try:
            started = self._writer.record_nowait(
                JobStarted(job_id=job_id, time=self._clock(), attempt=job.attempt)
            )
            response: RecordedResponse | None = None
            with running.scope:
                # Run nothing before `started` is durable: a crash before that
                # point leaves the job queued, so it runs again, never twice
                # in a way the journal cannot tell.
                await started.durable()
                if timeout is not None:
                    # Counted from here: the job's own run time, not its wait
                    # in the queue or for the disk.
                    running.scope.deadline = trio.current_time() + timeout
                response = await self._execute(job)
            self._record_end(job_id, running, response)
            ended = True
        except Rejected as error:
            # A node of a shared journal: the job was cancelled, or taken
            # over by another node, before it could start here. Not ours.
            log.info("job %d not started here: %s", job_id, error)
            ended = True
        except JournalUnavailable as error:
            # `started` did not reach the journal, so the handler never ran;
            # the rebuilt table has the job queued again: queue it again.
            log.warning("job %d not started: %s", job_id, error)
            ended = True
            job = self._table.jobs.get(job_id)
            if (
                job is not None
                and job.phase is Phase.QUEUED
                and not (self._stopping or self._abandoned)
            ):
                self._waiting.add(job_id)
                self._push(job_id)
        finally:
            if not ended:
                # Torn down from outside (the server's nursery was cancelled).
                running.end()
                self._record_interrupted(job_id)
            del self._running[job_id]
            if not self._running:
                self._all_stopped.set()

    def _record_end(
        self, job_id: int, running: JobHandle, response: RecordedResponse | None
    ) -> None:
        running.end()  # the last progress report goes before the end
        now = self._clock()
        reason = running.stop_reason
        if self._retry(job_id, response, reason, now):
            return
        if response is not None:
            # It answered; a cancel that came too late changes nothing.
            self._writer.record_nowait(
                JobDone(job_id=job_id, time=now, response=response), retry=True
            )
        elif reason == "shutdown":
            self._record_interrupted(job_id)
        elif reason == "cancel":
            self._writer.record_nowait(
                JobCancelled(
                    job_id=job_id,
                    time=now,
                    by=running.cancelled_by,
                    response=cancelled_result(),
                ),
                retry=True,
            )
        elif reason == "timeout":
            timeout = running.timeout if running.timeout is not None else 0.0
            self._writer.record_nowait(
                JobTimedOut(
                    job_id=job_id,
                    time=now,
                    timeout=timeout,
                    response=timed_out_result(timeout),
                ),
                retry=True,
            )
        else:
            raise AssertionError(
                f"job {job_id} ended with neither a response nor a cancel"
            )

    def _retry(
        self,
        job_id: int,
        response: RecordedResponse | None,
        stop_reason: str | None,
        now: float,
    ) -> bool:
        """Record ``retrying`` and queue the job for its next attempt, when
        it asked for retries, has attempts left, and this attempt ended in
        a way another may cure (module docstring); False otherwise."""
        job = self._table.jobs.get(job_id)
        if not isinstance(job, JobView) or not job.retries:
            return False
        if job.store and not job.visible:
            return False  # deleted while it ran: nobody wants another attempt
        if not attempts_left(job.attempt, job.retries):
            return False
        if response is not None:
            if not retryable_status(response.status):
                return False
            why, status = SERVER_ERROR, response.status
        elif stop_reason == "timeout":
            why, status = TIMEOUT, timed_out_result(0.0).status
        elif stop_reason == "shutdown":
            why, status = INTERRUPTED, interrupted_result().status
        else:
            return False  # cancelled: the retrying stops
        self._writer.record_nowait(
            JobRetrying(
                job_id=job_id,
                time=now,
                attempt=job.attempt,
                reason=why,
                status=status,
                not_before=now + self.backoff(job),
            ),
            retry=True,
        )
        if not (self._stopping or self._abandoned):
            # Queued again in the table already (the writer applied it):
            # its start time keeps it waiting for the back-off. (Stopping:
            # it stays queued in the journal and runs after a restart.)
            self._waiting.add(job_id)
            self._push(job_id)
        return True

    def _record_interrupted(self, job_id: int) -> None:
        try:
            self._writer.record_nowait(
                JobInterrupted(
                    job_id=job_id,
                    time=self._clock(),
                    reason=SHUTDOWN_REASON,
                    response=interrupted_result(),
                ),
                retry=True,
            )
        except JournalUnavailable:
            pass  # resolved at the restart, from what did reach the journal
