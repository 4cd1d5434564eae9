"""The projection: folds journal records into the job table the API reads.

Deterministic and free of I/O and clock reads: the same records in the same
order always give the same table, so replaying any prefix of a journal
rebuilds the state the live server had at that position. That property is
the audit trail, the crash recovery and the main test oracle at once.

For speed the table is updated in place (replaying a long journal must not
copy it per event); only the one actor that owns a table applies records to
it. :func:`fold` gives the pure-function view of the same thing.

Job phases (how a job gets to each):

- ``QUEUED``: its ``queued`` event was recorded; it waits for a run slot.
- ``RUNNING``: ``started`` was recorded; its handler is running. A job of a
  rerun-safe route found running at start-up goes back to ``QUEUED``
  (``requeued``).
- ``FINISHED``: ``done``, ``cancelled``, ``timed_out`` or ``interrupted`` was
  recorded; its result is stored until it is fetched or deleted.

A running job also carries its latest ``progress`` report and whether it is
*cancelling* (a stop was asked for, its work has yet to return).

Independently, a job is *visible* (listed, fetchable, cancellable by its
owner) from ``queued`` until ``fetched`` or ``deleted``; fire-and-forget jobs
are never visible. A job leaves the table once it is finished and invisible.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterable, Iterator

import attrs

from .errors import IllegalTransition
from .events import (
    Event,
    JobCancelled,
    JobCancelling,
    JobDeleted,
    JobDone,
    JobFetched,
    JobInterrupted,
    JobProgressed,
    JobQueued,
    JobRequeued,
    JobStarted,
    JobTimedOut,
    Owner,
    RecordedRequest,
    RecordedResponse,
    type_name,
)
from .identity import Caller
from .journal import Recorded


class Phase(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"


# No weakref slot: a million stored results each save its 8 bytes.
@attrs.frozen(kw_only=True, weakref_slot=False)
class JobView:
    """What the server knows of one job."""

    job_id: int
    owner: Owner
    store: bool
    #: The request's method and path, kept for listings and the HEAD rule.
    method: str
    path: str
    #: When it was queued (unix seconds).
    created: float
    phase: Phase
    #: Listed and reachable by its owner; false once fetched or deleted, and
    #: always false for fire-and-forget jobs.
    visible: bool
    #: The request to run; kept only while the job has yet to finish.
    request: RecordedRequest | None
    started: float | None = None
    finished: float | None = None
    #: The stored result's status, once finished and visible (with
    #: ``finished``, what identifies the result in comparisons: the body
    #: below may live in memory or on disk).
    status: int | None = None
    #: The stored result itself, while it is in memory: from the moment the
    #: job ends until its record is durable in a journal that can read it
    #: back (then ``result_at`` says where), or for good with the memory
    #: journal. Not part of the view's identity.
    response: RecordedResponse | None = attrs.field(default=None, eq=False)
    #: Where the journal keeps the record with the stored result (see
    #: :attr:`Recorded.location`), once it does.
    result_at: int | None = attrs.field(default=None, eq=False)
    #: The latest recorded progress report while running: (fraction, message).
    progress: tuple[float, str] | None = None
    #: A stop was asked for and the job's work has not returned yet.
    cancelling: bool = False

    @property
    def pending(self) -> bool:
        return self.phase is not Phase.FINISHED

    @property
    def stamp(self) -> float:
        """Creation time while pending, completion time once done (spec 3)."""
        return self.finished if self.finished is not None else self.created


@attrs.define
class JobTable:
    """The live views: every job not yet forgotten, keyed by id.

    Invariants: ``jobs`` is ordered by id (ids only grow, and dicts keep
    insertion order); ``queued_count`` and ``running_count`` count the jobs in
    those phases; ``position`` is the sequence number of the last record
    applied.
    """

    jobs: dict[int, JobView] = attrs.Factory(dict)
    #: The highest job id ever queued: new ids continue above it.
    last_job_id: int = 0
    position: int = 0
    queued_count: int = 0
    running_count: int = 0

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
        if job is not None and held is not None and job.response is held:
            self.jobs[job.job_id] = attrs.evolve(job, response=None, result_at=record.location)

    def _apply_event(self, record: Recorded) -> None:
        event = record.event
        if isinstance(event, JobQueued):
            if event.job_id <= self.last_job_id:
                raise IllegalTransition(
                    f"job {event.job_id}: queued again, or below the last id "
                    f"{self.last_job_id} (ids only grow)"
                )
            self.last_job_id = event.job_id
            self.jobs[event.job_id] = JobView(
                job_id=event.job_id,
                owner=event.owner,
                store=event.store,
                # Interned: a million stored results share a few routes.
                method=sys.intern(event.request.method),
                path=sys.intern(event.request.path),
                created=event.time,
                phase=Phase.QUEUED,
                visible=event.store,
                request=event.request,
            )
            self.queued_count += 1
            return

        job = self.jobs.get(event.job_id)
        if job is None:
            raise IllegalTransition(
                f"job {event.job_id}: {type_name(event)!r} for a job that is not in the "
                "table (never queued, or already fetched or deleted)"
            )
        match event:
            case JobStarted():
                self._require(job, event, Phase.QUEUED)
                self._replace(job, phase=Phase.RUNNING, started=event.time)
            case JobRequeued():
                self._require(job, event, Phase.RUNNING)
                self._replace(job, phase=Phase.QUEUED, started=None, progress=None, cancelling=False)
            case JobProgressed():
                self._require(job, event, Phase.RUNNING)
                self._replace(job, progress=(event.fraction, event.message))
            case JobCancelling():
                self._require(job, event, Phase.RUNNING)
                if job.cancelling:
                    raise IllegalTransition(f"job {job.job_id}: 'cancelling' recorded twice")
                self._replace(job, cancelling=True)
            case JobDone() | JobCancelled() | JobInterrupted() | JobTimedOut():
                if isinstance(event, JobInterrupted | JobTimedOut):
                    self._require(job, event, Phase.RUNNING)
                else:
                    self._require(job, event, Phase.QUEUED, Phase.RUNNING)
                stored = job.visible
                on_disk = stored and record.location is not None
                self._replace(
                    job,
                    phase=Phase.FINISHED,
                    finished=event.time,
                    request=None,
                    status=event.response.status if stored else None,
                    response=event.response if stored and not on_disk else None,
                    result_at=record.location if on_disk else None,
                    progress=None,
                    cancelling=False,
                )
            case JobFetched():
                self._require(job, event, Phase.FINISHED)
                self._require_visible(job, event)
                self._replace(job, visible=False)
            case JobDeleted():
                self._require_visible(job, event)
                self._replace(
                    job, visible=False, status=None, response=None, result_at=None
                )
            case _:
                raise AssertionError(f"unhandled event {event!r}")

    @staticmethod
    def _require(job: JobView, event: Event, *phases: Phase) -> None:
        if job.phase not in phases:
            raise IllegalTransition(
                f"job {job.job_id}: {type_name(event)!r} cannot follow phase "
                f"{job.phase.value!r}"
            )

    @staticmethod
    def _require_visible(job: JobView, event: Event) -> None:
        if not job.visible:
            raise IllegalTransition(
                f"job {job.job_id}: {type_name(event)!r} for a job that was already "
                "fetched or deleted, or is fire-and-forget"
            )

    def _replace(self, job: JobView, **changes: object) -> None:
        new = attrs.evolve(job, **changes)  # type: ignore[misc]
        for phase, delta in ((job.phase, -1), (new.phase, +1)):
            if phase is Phase.QUEUED:
                self.queued_count += delta
            elif phase is Phase.RUNNING:
                self.running_count += delta
        if new.phase is Phase.FINISHED and not new.visible:
            del self.jobs[job.job_id]
        else:
            self.jobs[job.job_id] = new

    def reset_to(self, other: JobTable) -> None:
        """Become a copy of *other* (in place: every holder sees the change)."""
        self.jobs = dict(other.jobs)
        self.last_job_id = other.last_job_id
        self.position = other.position
        self.queued_count = other.queued_count
        self.running_count = other.running_count

    # -- queries ------------------------------------------------------------

    def find(self, job_id: int, caller: Caller) -> JobView | None:
        """The job *caller* may see under *job_id*, or None (404 in the API)."""
        job = self.jobs.get(job_id)
        if job is None or not job.visible or not caller.owns(job.owner):
            return None
        return job

    def visible_to(self, caller: Caller) -> Iterator[JobView]:
        """The caller's visible jobs, ascending by id."""
        for job in self.jobs.values():
            if job.visible and caller.owns(job.owner):
                yield job

    def unfinished(self, phase: Phase) -> list[JobView]:
        """Jobs in *phase* (visible or not), ascending by id."""
        return [job for job in self.jobs.values() if job.phase is phase]


def fold(records: Iterable[Recorded], table: JobTable | None = None) -> JobTable:
    """The table after applying *records* to *table* (a new one by default)."""
    table = JobTable() if table is None else table
    for record in records:
        table.apply(record)
    return table
