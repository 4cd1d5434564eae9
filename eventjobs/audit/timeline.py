"""What each event means for an auditor: who caused it and what matters. Pure.

:class:`JobFacts` follows jobs through a stream of records so that later
events can be described with the job's owner and request line, and so that
queue wait and run time can be measured.
"""

from __future__ import annotations

import attrs

from ..events import (
    Event,
    JobCancelled,
    JobCancelling,
    JobDeleted,
    JobDone,
    JobFetched,
    JobInterrupted,
    JobProgressed,
    JobQueued,
    ScheduleAdded,
    ScheduleRemoved,
    JobRequeued,
    JobRetrying,
    JobStarted,
    JobTimedOut,
    type_name,
)
from ..lifecycle import QUEUED, RUNNING, ends_job
from .tables import iso

#: The actor of events the server causes by itself (start, finish, ...).
SERVER = "(server)"


@attrs.define
class JobInfo:
    """What the journal told us so far about one job."""

    job_id: int
    owner: str | None = None
    method: str = "?"
    path: str = "?"
    query: str = ""
    store: bool = True
    queued: float | None = None
    started: float | None = None
    finished: float | None = None
    status: int | None = None
    #: Final fate: the latest phase (``queued``, ``running``), or the name
    #: of the latest event that ended the job, asked it to stop, or hid it.
    state: str = "unknown"
    #: The id is a recurring schedule's (``schedule_added``), not a job's.
    schedule: bool = False

    @property
    def request_line(self) -> str:
        return f"{self.method} {self.path}" + (f"?{self.query}" if self.query else "")

    @property
    def queue_wait(self) -> float | None:
        """From queued to (the last) start; None if it never started."""
        if self.queued is None or self.started is None:
            return None
        return self.started - self.queued

    @property
    def run_time(self) -> float | None:
        """From (the last) start to its finish; None if it did not run to one."""
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started


@attrs.define
class JobFacts:
    """Jobs seen so far, by id. Jobs queued before a pruned journal's first
    record are known only from their later events (method and path ``?``)."""

    jobs: dict[int, JobInfo] = attrs.Factory(dict)

    def observe(self, event: Event) -> JobInfo:
        """Take *event* into account; return its job's facts after it."""
        job = self.jobs.get(event.job_id)
        if job is None:
            job = self.jobs[event.job_id] = JobInfo(event.job_id)
        if ends_job(event):
            job.finished, job.status = event.time, event.response.status
            job.state = type_name(event)
            return job
        match event:
            case JobQueued():
                job.owner, job.store, job.queued = event.owner, event.store, event.time
                job.method, job.path = event.request.method, event.request.path
                job.query = event.request.query_string
                job.state = QUEUED.value
            case JobStarted():
                job.started, job.state = event.time, RUNNING.value
            case JobRequeued() | JobRetrying():
                job.started, job.state = None, QUEUED.value
            case JobCancelling() | JobFetched() | JobDeleted():
                job.state = type_name(event)
            case ScheduleAdded():
                job.owner, job.queued, job.schedule = event.owner, event.time, True
                job.method, job.path = event.request.method, event.request.path
                job.query = event.request.query_string
                job.state = "schedule"
            case ScheduleRemoved():
                job.schedule, job.state = True, type_name(event)
        return job


def actor(event: Event, job: JobInfo) -> str:
    """Who caused *event*: the owner for ``queued``, ``by`` for fetched,
    cancelled and deleted (retention deletes have none: the server), and the
    server for everything it does by itself."""
    match event:
        case JobQueued() | ScheduleAdded():
            return "-" if event.owner is None else event.owner
        case JobFetched() | JobCancelled() | ScheduleRemoved():
            return "-" if event.by is None else event.by
        case JobCancelling():
            if event.by is None and event.reason == "timeout":
                return SERVER
            return "-" if event.by is None else event.by
        case JobDeleted():
            if event.by is None and event.reason in ("ttl", "max-results"):
                return SERVER
            return "-" if event.by is None else event.by
    return SERVER


def detail(event: Event, job: JobInfo) -> str:
    """The facts of *event* that matter, on one line."""
    match event:
        case JobQueued():
            mode = "store" if event.store else "fire-and-forget"
            # What the client asked of the job's shape, when it asked.
            if event.idempotency_key is not None:
                mode += f", Idempotency-Key {event.idempotency_key}"
            if event.not_before is not None:
                mode += f", not before +{event.not_before - event.time:.3f}s"
            if event.priority:
                mode += f", priority {event.priority:+d}"
            if event.schedule is not None and event.schedule_time is not None:
                mode += f", schedule {event.schedule} due {iso(event.schedule_time)}"
            if event.concurrency_key is not None:
                mode += f", concurrency key {event.concurrency_key}"
            if event.retries:
                mode += f", {event.retries} retries (delay {event.retry_delay:g}s)"
            return f"{job.request_line} ({len(event.request.body)} B body, {mode})"
        case JobStarted():
            waited = (
                f"after {event.time - job.queued:.3f}s in queue"
                if job.queued is not None
                else ""
            )
            if event.attempt > 1:
                return f"attempt {event.attempt}, {waited}".rstrip(", ")
            return waited
        case JobDone():
            return f"status {event.response.status}, {len(event.response.body)} B body"
        case JobCancelled():
            return f"status {event.response.status}"
        case JobInterrupted():
            return f"status {event.response.status}: {event.reason}"
        case JobRequeued():
            return event.reason
        case JobRetrying():
            return (
                f"attempt {event.attempt} ended ({event.reason}, status {event.status}); "
                f"the next not before +{event.not_before - event.time:.3f}s"
            )
        case JobProgressed():
            return f"{event.fraction:.0%} {event.message}".rstrip()
        case JobCancelling():
            return f"reason {event.reason}: stopping, its work has yet to return"
        case JobTimedOut():
            return f"status {event.response.status}: ran past its {event.timeout:g}s timeout"
        case JobFetched():
            return "result taken"
        case JobDeleted():
            return f"reason {event.reason}"
        case ScheduleAdded():
            when = (
                f"every {event.every:g}s"
                if event.every is not None
                else f"cron {event.cron!r} in {event.timezone or 'UTC'}"
            )
            return f"{job.request_line} {when}, catch_up {event.catch_up}"
        case ScheduleRemoved():
            return "fires no more"
    return ""
