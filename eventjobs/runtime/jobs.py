"""Commands and queries on jobs: what the job API asks of the runtime.

Commands turn a client's request into events (through the writer) and wait
until they are durable; what differs between a single server and a node is
asked of the runtime's mode (:mod:`.modes`). Queries answer from the table,
which holds every job that is pending or whose result is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import attrs
import trio

from ..actors.supervisor import Supervisor
from ..actors.writing import Writer
from ..errors import (
    IdempotencyConflict,
    NotRunning,
    QueueFull,
    QuotaExceeded,
    ShuttingDown,
)
from ..events import (
    JobDeleted,
    JobFetched,
    JobQueued,
    RecordedRequest,
    RecordedResponse,
)
from ..identity import Caller
from ..records import Recorded
from ..projection import JobTable, KeyUse, View, request_digest
from ..referee import KeyTaken, Rejected
from ..settings import Settings
from .fanout import Fanout
from .modes import Mode

Parts = Callable[[], tuple[Writer, Supervisor, Mode]]


class Jobs:
    """See the module docstring.

    Args:
        settings: the limits a submission is held to.
        clock: wall-clock unix seconds, for event times.
        table: the runtime's job table (the same object for its whole life).
        parts: the running writer, supervisor and mode; raises
            :class:`NotRunning` before the runtime runs.
        fanout: where long-poll waiters and observers are kept.
    """

    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], float],
        table: JobTable,
        parts: Parts,
        fanout: Fanout,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.table = table
        self._parts = parts
        self._fanout = fanout

    # -- commands -------------------------------------------------------------

    async def submit(
        self,
        request: RecordedRequest,
        caller: Caller,
        *,
        store: bool,
        idempotency_key: str | None = None,
        not_before: float | None = None,
        priority: int = 0,
        schedule: int | None = None,
        schedule_time: float | None = None,
        concurrency_key: str | None = None,
        retries: int = 0,
        retry_delay: float = 1.0,
    ) -> int:
        """Queue *request* as a job of *caller*; return its id once durable.

        With *idempotency_key* (already checked to be a valid key) that the
        caller used within ``idempotency_window`` for the same request
        (:func:`~eventjobs.projection.request_digest`), nothing is recorded:
        the first job's id is returned once its ``queued`` is durable. The
        look-up and the record are one step (no yield in between), so two
        identical submissions racing make one job; on a node, the journal's
        transaction checks the key again, for every node
        (:class:`~eventjobs.referee.KeyTaken`). *not_before*,
        *priority*, *concurrency_key*, *retries* and *retry_delay* are
        recorded with the job for the supervisor; *schedule* and
        *schedule_time* name the schedule firing the job is.

        Raises:
            IdempotencyConflict: the key was used with another request;
                nothing was recorded.
            ShuttingDown: the server is stopping; nothing was recorded.
            QueueFull: ``max_queued`` jobs are waiting; nothing was recorded.
            QuotaExceeded: *store* and the caller already holds
                ``max_results_per_user`` stored results; nothing was recorded.
            JournalUnavailable: the ``queued`` event did not reach the journal.

        Cancellation: the job stays queued; only the wait for the disk stops.
        """
        writer, supervisor, mode = self._parts()
        if supervisor.stopping:
            raise ShuttingDown("shutdown in progress")
        if idempotency_key is not None:
            # On a node, first see what the other nodes have recorded.
            await mode.sync(None)
            first = self._first_use(caller, idempotency_key, request, store)
            if first is not None:
                # Answered once the first submission's 202 could be: the
                # whole batch it went in with is durable.
                await writer.flush()
                return first.job_id
        if self.table.queued_count >= self.settings.max_queued:
            raise QueueFull("queue is full")
        quota = self.settings.max_results_per_user
        if store and quota is not None and self.results_held(caller) >= quota:
            raise QuotaExceeded(
                f"result quota reached: user {caller.name!r} already holds {quota} stored "
                "job results; fetch or delete some first"
            )
        queued = JobQueued(
            job_id=0,
            time=self.clock(),
            owner=caller.name,
            store=store,
            request=request,
            idempotency_key=idempotency_key,
            not_before=not_before,
            priority=priority,
            schedule=schedule,
            schedule_time=schedule_time,
            concurrency_key=concurrency_key,
            retries=retries,
            retry_delay=retry_delay,
        )
        try:
            return await mode.submit(supervisor, queued)
        except KeyTaken as taken:
            # A node: another node (or this one, a moment before) recorded
            # the key first, which the journal's transaction saw and this
            # table had not yet. Answer as the look-up above would have.
            await mode.sync(None)
            first = self._first_use(caller, taken.key, request, store)
            return taken.job_id if first is None else first.job_id

    def _first_use(
        self, caller: Caller, key: str, request: RecordedRequest, store: bool
    ) -> KeyUse | None:
        """The caller's earlier submission with *key* within the window, or
        None; forgets the keys whose window has passed.

        Raises:
            IdempotencyConflict: that submission was another request.
        """
        since = self.clock() - self.settings.idempotency_window
        self.table.forget_keys_before(since)
        first = self.table.key_use(caller.name, key, since)
        if first is not None and (
            first.digest != request_digest(request) or first.store != store
        ):
            raise IdempotencyConflict(
                f"Idempotency-Key {key!r} was already used for another request "
                f"(job {first.job_id}): the method, path, query, body and "
                "x-arango-async must be the same to get that job back; use a new key "
                "for a new request"
            )
        return first

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
        try:
            _, _, mode = self._parts()
        except NotRunning:
            return
        await mode.sync(job_id)

    async def fetch(self, job_id: int, caller: Caller) -> View | None:
        """Take a finished job's result (once); a pending job is returned as is.

        Returns None when the caller has no such job. A finished job is
        recorded ``fetched`` and is gone once this returns.
        """
        writer, _, _ = self._parts()
        job = self.table.find(job_id, caller)
        if job is None or job.pending:
            return job
        if job.response is None:
            # The body lies in the journal: read it back, then look again,
            # since another fetch or a delete may have come meanwhile.
            response = await self._read_result(job)
            found = self.table.find(job_id, caller)
            if found is None or found.pending:
                return None  # a finished job never becomes pending again
            job = attrs.evolve(found, result=response)
        try:
            await writer.record(
                JobFetched(job_id=job_id, time=self.clock(), by=caller.name)
            )
        except Rejected:
            return None  # fetched or deleted on another node first
        return job

    async def _read_result(self, job: View) -> RecordedResponse:
        assert job.result_at is not None, f"job {job.job_id} has its result nowhere"
        _, _, mode = self._parts()
        journal, where = mode.journal, job.result_at
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
        _, supervisor, mode = self._parts()
        job = self.table.find(job_id, caller)
        if job is None:
            return False
        await mode.cancel(supervisor, job, caller)
        return True

    async def delete(self, job_id: int, caller: Caller) -> bool:
        """Remove the caller's job (its work, if any, goes on); False if none."""
        if self.table.find(job_id, caller) is None:
            return False
        _, _, mode = self._parts()
        return await mode.delete(job_id, caller)

    async def delete_all(self, caller: Caller) -> None:
        """Remove every job of the caller's, pending ones included."""
        await self._delete(
            [job.job_id for job in self.table.visible_to(caller)], caller, "all"
        )

    async def delete_expired(self, caller: Caller, stamp: float) -> None:
        """Remove the caller's jobs whose stamp is strictly below *stamp*."""
        ids = [job.job_id for job in self.table.visible_to(caller) if job.stamp < stamp]
        await self._delete(ids, caller, "expired")

    async def _delete(self, job_ids: list[int], caller: Caller, reason: str) -> None:
        writer, _, _ = self._parts()
        now = self.clock()
        for job_id in job_ids:
            writer.record_nowait(
                JobDeleted(job_id=job_id, time=now, by=caller.name, reason=reason)
            )
        await writer.flush()

    # -- queries ----------------------------------------------------------------

    def results_held(self, caller: Caller) -> int:
        """Stored results (pending or done, not fetched or deleted) the caller owns.

        Owned, not visible: a superuser's quota counts only their own jobs.
        """
        return sum(
            1
            for job in self.table.jobs.values()
            if job.visible and job.owner == caller.name
        )

    def status(self, job_id: int, caller: Caller) -> View | None:
        """The caller's job, or None when it is unknown to them."""
        return self.table.find(job_id, caller)

    def visible_jobs(self, caller: Caller) -> Iterator[View]:
        """The caller's jobs (a superuser's: everyone's), ascending by id."""
        return self.table.visible_to(caller)

    def owned_ids(self, caller: Caller) -> set[int]:
        """Ids of every job of the caller's in the table (pending, or with a
        stored result; fire-and-forget ones included)."""
        return {
            job.job_id for job in self.table.jobs.values() if job.owner == caller.name
        }

    @property
    def position(self) -> int:
        """The sequence number of the newest record in the table."""
        return self.table.position

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

    async def wait_finished(self, job_id: int, caller: Caller, seconds: float) -> None:
        """Return once the caller's job is no longer pending (finished,
        fetched, deleted or unknown), or after *seconds*, whichever is first.

        Cancellation: returns nothing and leaves nothing behind but, at most,
        one event per job that is set and dropped when the job ends.
        """
        job = self.table.find(job_id, caller)
        if job is None or not job.pending:
            return
        await self._fanout.wait_pending(job_id, seconds)

    def add_observer(self, observer: Callable[[Recorded], None]) -> None:
        """Call *observer* with every record appended from now on, once it is
        durable, in journal order (``record.seq`` is its sequence number).

        An event whose append failed and that was lost (its request was
        answered 503) is never seen; one the writer kept and appended again
        is seen once, with the sequence number it got. The table may
        already be ahead of the record (it applies events as they are
        recorded).

        It runs in the writer's task between an append and the next: it must
        not raise, yield or take long (hand the record on, e.g. with a
        channel's ``send_nowait``). Observers stay for the runtime's life.
        """
        self._fanout.add_observer(observer)
