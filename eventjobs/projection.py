"""The projection: folds journal records into the job table the API reads.

Deterministic and free of I/O and clock reads: the same records in the same
order always give the same table, so replaying any prefix of a journal
rebuilds the state the live server had at that position. That property is
the audit trail, the crash recovery and the main test oracle at once.

For speed the table is updated in place (replaying a long journal must not
copy it per event); only the one actor that owns a table applies records to
it. :func:`fold` gives the pure-function view of the same thing.

Which events a job's state admits, and where each takes it (its phase,
whether it is visible, whether a stop was asked for), is the lifecycle's to
say (:func:`eventjobs.lifecycle.transition`); the table keeps, besides, what
the API shows of each job: its request, its times, its latest ``progress``
report and, once it ends, its result (until it is fetched or deleted).

Two shapes of view, for memory: a pending job is a :class:`JobView` (its
request, progress, ...); a finished job is a :class:`FinishedJob`, which
keeps only what status, fetch, listings, retention and the audit tools read.
A server can hold a million stored results, and each one's view is most of
what it costs (docs/durability.md, "Memory"). Both answer the same
attributes, so readers need not tell them apart.

A job leaves the table once the lifecycle forgets it (finished and
invisible).

Besides the jobs, the table indexes the ``Idempotency-Key`` of every
submission that sent one (:class:`KeyUse`, by owner and key): the key
outlives its job (a fetched or deleted job does not free it), until the
runtime forgets the keys older than its window (:meth:`JobTable.forget_keys_before`).

And it keeps the recurring schedules (:class:`ScheduleView`, by id: their
ids are job ids, see :class:`~eventjobs.events.ScheduleAdded`), each with
the time of its latest firing, from the ``queued`` events that name it.
"""

from __future__ import annotations

import hashlib
import math
import struct
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import attrs
from typing import ClassVar, Literal

from .errors import IllegalTransition
from .events import (
    JobProgressed,
    JobQueued,
    JobRequeued,
    JobRetrying,
    JobStarted,
    Owner,
    RecordedRequest,
    RecordedResponse,
    ScheduleAdded,
    ScheduleRemoved,
)
from .identity import Caller
from .lifecycle import (  # Phase: re-exported
    FINISHED,
    QUEUED,
    Phase,
    result_of,
    transition,
)
from .records import Recorded


# No weakref slot: nothing refers to views weakly.
@attrs.frozen(kw_only=True, weakref_slot=False)
class JobView:
    """What the server knows of a pending job: queued or running.

    A job that finishes with its result stored becomes a
    :class:`FinishedJob`; one that finishes invisible is forgotten.
    """

    job_id: int
    owner: Owner
    store: bool
    #: The request's method and path, kept for listings and the HEAD rule.
    method: str
    path: str
    #: When it was queued (unix seconds).
    created: float
    #: ``QUEUED`` or ``RUNNING``.
    phase: Literal[Phase.QUEUED, Phase.RUNNING]
    #: Listed and reachable by its owner; false once deleted, and always
    #: false for fire-and-forget jobs.
    visible: bool
    #: The request to run.
    request: RecordedRequest
    started: float | None = None
    #: The latest recorded progress report while running: (fraction, message).
    progress: tuple[float, str] | None = None
    #: A stop was asked for and the job's work has not returned yet.
    cancelling: bool = False
    #: -10 to 10: among jobs waiting for a slot, higher ones start first.
    priority: int = 0
    #: It does not start before this time (unix seconds); None: at once.
    not_before: float | None = None
    #: With the owner: at most ``key_concurrency`` such jobs run at once.
    concurrency_key: str | None = None
    #: The attempt running, or waiting to run (from 1), of ``retries`` + 1
    #: at most, each after a back-off based on ``retry_delay``.
    attempt: int = 1
    retries: int = 0
    retry_delay: float = 1.0

    # What only a finished job has (see FinishedJob), for readers of either.
    pending: ClassVar[Literal[True]] = True
    finished = None
    status = None
    response = None
    result_at = None

    @property
    def stamp(self) -> float:
        """The creation time, while pending (spec 3)."""
        return self.created


#: A finished job's times (created, started, finished) packed in one bytes
#: object; a started time that is NaN stands for "never started" (event
#: times are always finite).
_TIMES = struct.Struct("<ddd")
_TIME = struct.Struct("<d")


# Slots only: a million stored results each pay for every slot of this class,
# so it has none a finished job does not need (no weakref, no request, no
# progress). What every finished view has in common (visible, stored, no
# request, ...) is a class attribute instead of a slot; its three times are
# one bytes object (57 bytes, where three floats and their slots take 88).
@attrs.frozen(kw_only=True, weakref_slot=False, repr=False)
class FinishedJob:
    """What the server keeps of a finished job whose result is stored.

    It answers every attribute of :class:`JobView`. A finished job is in the
    table only while its result waits to be fetched: once fetched or
    deleted it is forgotten (fire-and-forget jobs, never visible, are
    forgotten as they finish), so ``visible`` and ``store`` are always true.
    Make one with :meth:`of`.
    """

    job_id: int
    owner: Owner
    #: Interned, as in :class:`JobView`.
    method: str
    path: str
    #: ``created``, ``started`` and ``finished``, packed (see ``_TIMES``).
    times: bytes
    #: The stored result's status: with ``finished``, what identifies the
    #: result in comparisons.
    status: int
    #: The stored result: the response itself while it is in memory, else
    #: where the journal keeps its record (an int, see
    #: :attr:`Recorded.location`). One slot for the two, since a result is
    #: always in exactly one place. Not part of the view's identity.
    result: RecordedResponse | int = attrs.field(eq=False)

    phase: ClassVar[Literal[Phase.FINISHED]] = Phase.FINISHED
    visible = True
    store = True
    pending: ClassVar[Literal[False]] = False
    request = None
    progress = None
    cancelling = False
    priority = 0
    not_before = None
    concurrency_key = None
    attempt = 1
    retries = 0
    retry_delay = 1.0

    @classmethod
    def of(
        cls,
        *,
        job_id: int,
        owner: Owner,
        method: str,
        path: str,
        created: float,
        started: float | None,
        finished: float,
        status: int,
        result: RecordedResponse | int,
    ) -> FinishedJob:
        return cls(
            job_id=job_id,
            owner=owner,
            method=method,
            path=path,
            times=_TIMES.pack(
                created, math.nan if started is None else started, finished
            ),
            status=status,
            result=result,
        )

    @property
    def created(self) -> float:
        """When it was queued (unix seconds)."""
        return _TIME.unpack_from(self.times, 0)[0]

    @property
    def started(self) -> float | None:
        """When it started; None when it was cancelled while still queued."""
        started: float = _TIME.unpack_from(self.times, 8)[0]
        return None if math.isnan(started) else started

    @property
    def finished(self) -> float:
        """When it finished (unix seconds)."""
        return _TIME.unpack_from(self.times, 16)[0]

    @property
    def stamp(self) -> float:
        """The completion time (spec 3)."""
        return self.finished

    @property
    def response(self) -> RecordedResponse | None:
        """The stored result, while it is in memory (see :attr:`JobView`)."""
        result = self.result
        return None if isinstance(result, int) else result

    @property
    def result_at(self) -> int | None:
        """Where the journal keeps the result's record, once it does."""
        result = self.result
        return result if isinstance(result, int) else None

    def __repr__(self) -> str:
        return (
            f"FinishedJob(job_id={self.job_id!r}, owner={self.owner!r}, method={self.method!r}, "
            f"path={self.path!r}, created={self.created!r}, started={self.started!r}, "
            f"finished={self.finished!r}, status={self.status!r}, result={self.result!r})"
        )


#: A job's view in either shape.
View = JobView | FinishedJob


@attrs.frozen(kw_only=True, weakref_slot=False)
class ScheduleView:
    """A recurring schedule as its ``schedule_added`` said, and the firing
    time of the latest job it submitted (None before the first)."""

    schedule_id: int
    owner: Owner
    created: float
    request: RecordedRequest
    cron: str | None = None
    every: float | None = None
    timezone: str | None = None
    catch_up: str = "latest"
    last_fired: float | None = None

    @classmethod
    def of(cls, event: ScheduleAdded) -> ScheduleView:
        return cls(
            schedule_id=event.job_id,
            owner=event.owner,
            created=event.time,
            request=event.request,
            cron=event.cron,
            every=event.every,
            timezone=event.timezone,
            catch_up=event.catch_up,
        )


@attrs.frozen(weakref_slot=False)
class KeyUse:
    """The first submission an owner sent with one ``Idempotency-Key``:
    its job, when it was queued, whether its result is stored, and the
    digest of its request (:func:`request_digest`), so that the same key
    with another request can be told from a repeat."""

    job_id: int
    time: float
    store: bool
    digest: bytes


def request_digest(request: RecordedRequest) -> bytes:
    """What makes two submissions "the same request" for an
    ``Idempotency-Key``: method, path, query and body (headers are not
    part of it: a retry may well carry another date or trace id)."""
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string):
        encoded = part.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "little") + encoded)
    digest.update(request.body)
    return digest.digest()


@attrs.define
class JobTable:
    """The live views: every job not yet forgotten, keyed by id.

    Invariants: ``jobs`` is ordered by id (ids only grow, and dicts keep
    insertion order); ``queued_count``, ``running_count`` and
    ``finished_count`` count the jobs in those phases; ``position`` is the
    sequence number of the last record applied; every finished job's id is
    in ``_finish_order``, in the order the jobs finished.
    """

    jobs: dict[int, View] = attrs.Factory(dict)
    #: The highest job id ever queued: new ids continue above it.
    last_job_id: int = 0
    position: int = 0
    queued_count: int = 0
    running_count: int = 0
    #: Stored results held (finished jobs).
    finished_count: int = attrs.field(default=0, eq=False)
    #: Ids of finished jobs as they finished (see :meth:`finished_in_order`),
    #: so that retention reads the oldest results without a scan. Ids of
    #: jobs fetched or deleted since stay until passed at the front, or until
    #: they outnumber the rest (then the deque is compacted): 8 bytes an id,
    #: where a dict would take some 40.
    _finish_order: deque[int] = attrs.field(factory=deque, eq=False, repr=False)
    #: (owner, key) -> the first submission with that ``Idempotency-Key``,
    #: in the order they were queued. Not part of the table's identity: the
    #: runtime forgets old keys by its clock (:meth:`forget_keys_before`),
    #: so a live table may hold fewer than a replay of the same records.
    keys: dict[tuple[Owner, str], KeyUse] = attrs.field(
        factory=dict, eq=False, repr=False
    )
    #: The recurring schedules not removed, by id (ascending).
    schedules: dict[int, ScheduleView] = attrs.Factory(dict)

    def apply(self, record: Recorded) -> None:
        """Fold one record into the table.

        Raises:
            IllegalTransition: the record does not follow the journal position
                or the job's state; the table is left unchanged.
        """
        if record.seq != self.position + 1:
            raise IllegalTransition(
                f"record {record.seq} applied at position {self.position}"
            )
        self._apply_event(record)
        self.position = record.seq

    def locate(self, record: Recorded) -> None:
        """Let the result *record* holds be read from the journal from now on.

        Called once *record* is durable where ``record.location`` says; drops
        the body from memory. Changes nothing else (and nothing if the result
        has gone meanwhile).
        """
        job = self.jobs.get(record.event.job_id)
        held = getattr(record.event, "response", None)
        if (
            isinstance(job, FinishedJob)
            and held is not None
            and job.result is held
            and record.location is not None
        ):
            self.jobs[job.job_id] = attrs.evolve(job, result=record.location)

    def _apply_event(self, record: Recorded) -> None:
        event = record.event
        if isinstance(event, ScheduleAdded | ScheduleRemoved):
            self._apply_schedule_event(event)
            return
        if isinstance(event, JobQueued):
            if event.job_id <= self.last_job_id:
                raise IllegalTransition(
                    f"job {event.job_id}: queued again, or below the last id "
                    f"{self.last_job_id} (ids only grow)"
                )
            step = transition(None, event)
            self.last_job_id = event.job_id
            if event.idempotency_key is not None:
                # The first use holds (a repeat is never recorded as a job).
                self.keys.setdefault(
                    (event.owner, event.idempotency_key),
                    KeyUse(
                        event.job_id,
                        event.time,
                        event.store,
                        request_digest(event.request),
                    ),
                )
            self.jobs[event.job_id] = JobView(
                job_id=event.job_id,
                # Interned: a million stored results share a few owners and routes.
                owner=None if event.owner is None else sys.intern(event.owner),
                store=event.store,
                method=sys.intern(event.request.method),
                path=sys.intern(event.request.path),
                created=event.time,
                phase=QUEUED,
                visible=step.visible,
                request=event.request,
                priority=event.priority,
                not_before=event.not_before,
                concurrency_key=event.concurrency_key,
                retries=event.retries,
                retry_delay=event.retry_delay,
            )
            self.queued_count += 1
            if event.schedule is not None and event.schedule_time is not None:
                schedule = self.schedules.get(event.schedule)
                # A removed schedule's firing still counts as a job.
                if schedule is not None and (
                    schedule.last_fired is None
                    or event.schedule_time > schedule.last_fired
                ):
                    self.schedules[event.schedule] = attrs.evolve(
                        schedule, last_fired=event.schedule_time
                    )
            return

        job = self.jobs.get(event.job_id)
        if job is None:
            transition(None, event)  # raises: the job is gone or unknown
            raise AssertionError(f"the lifecycle admitted {event!r} for an unknown job")
        # The lifecycle says where the job goes (or raises); what follows is
        # what the view keeps of it.
        step = transition(
            job.phase, event, visible=job.visible, cancelling=job.cancelling
        )
        if step.phase is None:  # fetched, deleted, or finished invisible: forgotten
            self._put(job, None)
        elif step.phase is FINISHED:
            if job.pending:
                self._finish(job, record)
        else:
            changes: dict[str, Any] = {}
            if step.phase is not job.phase:
                changes["phase"] = step.phase
            if step.visible is not job.visible:
                changes["visible"] = step.visible
            if step.cancelling is not job.cancelling:
                changes["cancelling"] = step.cancelling
            match event:
                case JobStarted():
                    changes["started"] = event.time
                case JobRequeued():
                    changes["started"] = changes["progress"] = None
                case JobRetrying():
                    changes["started"] = changes["progress"] = None
                    changes["attempt"] = event.attempt + 1
                    changes["not_before"] = event.not_before
                case JobProgressed():
                    changes["progress"] = (event.fraction, event.message)
            self._replace(job, **changes)

    def _apply_schedule_event(self, event: ScheduleAdded | ScheduleRemoved) -> None:
        if isinstance(event, ScheduleAdded):
            if event.job_id <= self.last_job_id:
                raise IllegalTransition(
                    f"schedule {event.job_id}: id below the last id "
                    f"{self.last_job_id} (ids only grow)"
                )
            transition(None, event)
            self.last_job_id = event.job_id
            self.schedules[event.job_id] = ScheduleView.of(event)
            return
        if event.job_id not in self.schedules:
            raise IllegalTransition(
                f"schedule {event.job_id}: 'schedule_removed' for a schedule that is "
                "gone or unknown"
            )
        del self.schedules[event.job_id]

    def _finish(self, job: View, record: Recorded) -> None:
        """*job* ended with *record*, its result stored: keep the result."""
        response = result_of(record.event)
        assert response is not None, (
            f"the lifecycle finished a job with {record.event!r}"
        )
        self._put(
            job,
            FinishedJob.of(
                job_id=job.job_id,
                owner=job.owner,
                method=job.method,
                path=job.path,
                created=job.created,
                started=job.started,
                finished=record.event.time,
                status=response.status,
                # In memory until a journal that can read it back holds it
                # durably (then ``locate``), or for good.
                result=response if record.location is None else record.location,
            ),
        )

    def _replace(self, job: View, **changes: Any) -> None:
        self._put(job, attrs.evolve(job, **changes))

    def _put(self, job: View, new: View | None) -> None:
        """Replace *job* by *new*, or forget it (None), keeping the counts."""
        for phase, delta in ((job.phase, -1), (None if new is None else new.phase, +1)):
            if phase is Phase.QUEUED:
                self.queued_count += delta
            elif phase is Phase.RUNNING:
                self.running_count += delta
        if new is None:
            del self.jobs[job.job_id]
        else:
            self.jobs[job.job_id] = new
        was_finished = job.phase is Phase.FINISHED
        if new is not None and new.phase is Phase.FINISHED and not was_finished:
            self._finish_order.append(job.job_id)
            self.finished_count += 1
        elif was_finished and new is None:
            self.finished_count -= 1
            # Amortised O(1): ids of forgotten jobs cost memory until passed.
            if len(self._finish_order) > 2 * self.finished_count + 1024:
                self._finish_order = deque(
                    job_id for job_id in self._finish_order if job_id in self.jobs
                )

    def reset_to(self, other: JobTable) -> None:
        """Become *other* (in place: every holder sees the change), taking
        over its views: *other* must not be used afterwards. (Not copied: with
        a million stored results the copy alone would be 40 MB more.)"""
        self.jobs = other.jobs
        self.last_job_id = other.last_job_id
        self.position = other.position
        self.queued_count = other.queued_count
        self.running_count = other.running_count
        self.finished_count = other.finished_count
        self._finish_order = other._finish_order
        self.keys = other.keys
        self.schedules = other.schedules

    def forget_keys_before(self, time: float) -> None:
        """Forget the ``Idempotency-Key`` uses queued before *time* (their
        window has passed). Cheap when there are none: the oldest come first."""
        keys = self.keys
        while keys:
            oldest = next(iter(keys))
            if keys[oldest].time >= time:
                break
            del keys[oldest]

    def key_use(self, owner: Owner, key: str, since: float) -> KeyUse | None:
        """The first submission of *owner* with *key* queued at *since* or
        later, or None."""
        use = self.keys.get((owner, key))
        return use if use is not None and use.time >= since else None

    def index_finished(self) -> None:
        """Order the finished jobs by completion time (then table order, which
        is id order) and count them: for a table whose ``jobs`` were filled
        directly (a snapshot)."""
        finished = [job for job in self.jobs.values() if isinstance(job, FinishedJob)]
        # A float key, not a (time, id) tuple: the sort is stable, and with a
        # million results the tuples alone would add some 80 MB to the peak.
        finished.sort(key=_finished_at)
        self._finish_order = deque(job.job_id for job in finished)
        self.finished_count = len(finished)

    # -- queries ------------------------------------------------------------

    def find(self, job_id: int, caller: Caller) -> View | None:
        """The job *caller* may see under *job_id*, or None (404 in the API)."""
        job = self.jobs.get(job_id)
        if job is None or not job.visible or not caller.owns(job.owner):
            return None
        return job

    def find_schedule(self, schedule_id: int, caller: Caller) -> ScheduleView | None:
        """The schedule *caller* may see under *schedule_id*, or None (404)."""
        schedule = self.schedules.get(schedule_id)
        if schedule is None or not caller.owns(schedule.owner):
            return None
        return schedule

    def schedules_of(self, caller: Caller) -> list[ScheduleView]:
        """The caller's schedules (a superuser's: everyone's), ascending by id."""
        return [s for s in self.schedules.values() if caller.owns(s.owner)]

    def visible_to(self, caller: Caller) -> Iterator[View]:
        """The caller's visible jobs, ascending by id."""
        for job in self.jobs.values():
            if job.visible and caller.owns(job.owner):
                yield job

    def finished_in_order(self) -> Iterator[FinishedJob]:
        """The stored results in the order they finished (journal order;
        after a snapshot, by completion time). Cheap to stop early: the
        oldest come first, with no scan of the rest. Do not change the table
        while iterating."""
        order = self._finish_order
        # Forget the ids of jobs fetched or deleted at the front for good.
        while order and not isinstance(self.jobs.get(order[0]), FinishedJob):
            order.popleft()
        for job_id in order:
            job = self.jobs.get(job_id)
            if isinstance(job, FinishedJob):
                yield job

    def unfinished(self, phase: Phase) -> list[JobView]:
        """Pending jobs in *phase* (visible or not), ascending by id."""
        return [
            job
            for job in self.jobs.values()
            if isinstance(job, JobView) and job.phase is phase
        ]


def fold(records: Iterable[Recorded], table: JobTable | None = None) -> JobTable:
    """The table after applying *records* to *table* (a new one by default)."""
    table = JobTable() if table is None else table
    for record in records:
        table.apply(record)
    return table


def _finished_at(job: FinishedJob) -> float:
    return job.finished
