"""The events of a job's life: frozen value objects, nothing else.

Every state change of a job is one of these events, appended to the journal.
They are plain data: no I/O, no clock reads, no serialisation (that lives in
:mod:`eventjobs.codec`). Names are past tense and each class is registered
under a stable type name that is written to disk and never changes.

A job's life (see ``docs/architecture.md`` for the diagram)::

    queued ──> started ──> done ──────> fetched
       │  ^        │  ├──> cancelled      (or deleted)
       │  │        │  └──> timed_out
       │  │        ├─────> interrupted
       │  └────────┴─────  requeued (at start-up, rerun-safe routes only)
       │  └────────┴─────  retrying (an attempt failed; retries are left)
       └─────────────────> cancelled

``deleted`` may come at any point after ``queued``: it hides the job from its
owner; work already under way still runs to its end (its result discarded).
While a job runs it may also record ``progress`` (any number of times) and
``cancelling`` (once: a stop was asked for but the work cannot be interrupted,
so the job is still running until it returns).
"""

from __future__ import annotations

from typing import Final

import attrs

#: The owner (or actor) of a request when authentication is off. ArangoDB then
#: treats every request as a superuser's; we record ``None`` so the journal
#: says plainly that nobody was authenticated.
Owner = str | None

Headers = tuple[tuple[str, str], ...]


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """An HTTP request as it will be replayed by the job, credentials removed.

    ``path`` is the path as the client sent it (database prefix included) and
    ``query_string`` the raw query without the ``?``. Header names are
    lower-case, values decoded as latin-1 (what HTTP allows on the wire).
    ``client`` is the address the request came from, when the server knew it.
    """

    method: str
    path: str
    query_string: str = ""
    headers: Headers = ()
    body: bytes = b""
    client: str | None = None


@attrs.frozen(kw_only=True)
class RecordedResponse:
    """A job's result: what its handler answered, exactly."""

    status: int
    headers: Headers = ()
    body: bytes = b""


@attrs.frozen(kw_only=True)
class JobQueued:
    """A request with ``x-arango-async`` was accepted (before its 202 is sent).

    ``store`` is true for ``x-arango-async: store`` (the result is kept) and
    false for ``x-arango-async: true`` (fire and forget: never listed, never
    fetchable, recorded only for the audit trail).

    What the client asked of the job's shape (absent from journals written
    before these existed, and from every submission that does not ask):

    - ``idempotency_key``: the request's ``Idempotency-Key``; the same owner
      sending it again within the idempotency window gets this job back.
    - ``not_before``: the job does not start before this time (unix seconds).
    - ``priority``: -10 to 10; among jobs waiting for a run slot, a higher
      one starts first.
    - ``schedule`` and ``schedule_time``: the job is the firing of that
      recurring schedule (:class:`ScheduleAdded`) due at that time (unix
      seconds).
    - ``concurrency_key``: the request's ``x-eventjobs-concurrency-key``;
      at most ``key_concurrency`` jobs of the same owner and key run at once.
    - ``retries`` and ``retry_delay``: ``x-eventjobs-retries`` and
      ``-retry-delay``; an attempt that fails (:mod:`eventjobs.retries`)
      runs again, at most ``retries`` more times.
    """

    job_id: int
    time: float
    owner: Owner
    store: bool
    request: RecordedRequest
    idempotency_key: str | None = None
    not_before: float | None = None
    priority: int = 0
    schedule: int | None = None
    schedule_time: float | None = None
    concurrency_key: str | None = None
    retries: int = 0
    retry_delay: float = 1.0


@attrs.frozen(kw_only=True)
class JobStarted:
    """The job's actor began running the request; ``attempt`` counts from 1
    (above 1 only for a job with retries that is trying again)."""

    job_id: int
    time: float
    attempt: int = 1


@attrs.frozen(kw_only=True)
class JobDone:
    """The handler produced a response (any status, errors included)."""

    job_id: int
    time: float
    response: RecordedResponse


@attrs.frozen(kw_only=True)
class JobCancelled:
    """The job stopped because of a cancel, or was cancelled before it started.

    ``by`` is who asked; ``response`` is the 410 result the owner will fetch.
    """

    job_id: int
    time: float
    by: Owner
    response: RecordedResponse


@attrs.frozen(kw_only=True)
class JobInterrupted:
    """The server stopped while the job ran; its result is a 503 saying so.

    Recorded at shutdown for jobs that were still running when the drain
    deadline passed, and at start-up for jobs the previous run left started
    but unfinished (a crash). ``reason`` says which.
    """

    job_id: int
    time: float
    reason: str
    response: RecordedResponse


@attrs.frozen(kw_only=True)
class JobRequeued:
    """A job found started but unfinished at start-up goes back to the queue.

    Only for jobs whose route declared itself safe to run again
    (:func:`eventjobs.rerun_safe`); others are recorded ``interrupted``.
    """

    job_id: int
    time: float
    reason: str


@attrs.frozen(kw_only=True)
class JobRetrying:
    """Attempt ``attempt`` (from 1) of a job with retries ended in a way
    another attempt may cure, and attempts are left: the job is queued
    again and does not start before ``not_before`` (its back-off).

    ``reason`` is why the attempt ended: ``"server_error"`` (its result's
    ``status`` was 5xx), ``"timeout"`` (504) or ``"interrupted"`` (the
    server stopped or crashed while it ran: 503). The attempt's result
    itself is not kept: the stored result is the last attempt's.
    """

    job_id: int
    time: float
    attempt: int
    reason: str
    status: int
    not_before: float


@attrs.frozen(kw_only=True)
class JobFetched:
    """A client took the job's result with ``PUT /_api/job/{id}``."""

    job_id: int
    time: float
    by: Owner


@attrs.frozen(kw_only=True)
class JobDeleted:
    """A client removed the job (by id, ``all`` or ``expired``).

    ``reason`` is the command that removed it: ``"id"``, ``"all"`` or
    ``"expired"``. A job deleted while pending keeps running; its result is
    discarded when it finishes.
    """

    job_id: int
    time: float
    by: Owner
    reason: str


@attrs.frozen(kw_only=True)
class JobProgressed:
    """A running job reported how far it is: *fraction* in [0, 1] and a short
    *message*. Reports are throttled before they are recorded."""

    job_id: int
    time: float
    fraction: float
    message: str


@attrs.frozen(kw_only=True)
class JobCancelling:
    """A stop was asked for, but the job's work cannot be interrupted (a
    thread): the job goes on running until that work returns, and only then
    records ``cancelled`` or ``timed_out``.

    ``by`` is who asked (for a timeout, nobody: ``None``); ``reason`` is
    ``"cancel"`` or ``"timeout"``.
    """

    job_id: int
    time: float
    by: Owner
    reason: str


@attrs.frozen(kw_only=True)
class JobTimedOut:
    """The job ran longer than its timeout and was stopped; ``timeout`` is the
    limit in seconds and ``response`` the 504 result saying so."""

    job_id: int
    time: float
    timeout: float
    response: RecordedResponse


@attrs.frozen(kw_only=True)
class ScheduleAdded:
    """A recurring schedule was added: at each firing the server submits
    *request* as a stored job of *owner* (``JobQueued.schedule`` names it).

    ``job_id`` is the schedule's id: schedules take their ids from the job
    ids (one sequence, so a record always has one subject, and no job ever
    has a schedule's id). Exactly one of ``cron`` (five fields, read in
    ``timezone``, an IANA name; UTC when None) and ``every`` (seconds; the
    first firing one interval after ``time``) is set. ``catch_up`` says which
    firings missed while no server ran are made up: ``"latest"`` (one),
    ``"all"`` or ``"none"``.
    """

    job_id: int
    time: float
    owner: Owner
    request: RecordedRequest
    cron: str | None = None
    every: float | None = None
    timezone: str | None = None
    catch_up: str = "latest"


@attrs.frozen(kw_only=True)
class ScheduleRemoved:
    """A recurring schedule was removed (``by`` asked): it fires no more.
    Jobs it submitted before are left as they are."""

    job_id: int
    time: float
    by: Owner


Event = (
    JobQueued
    | JobStarted
    | JobDone
    | JobCancelled
    | JobInterrupted
    | JobRequeued
    | JobRetrying
    | JobFetched
    | JobDeleted
    | JobProgressed
    | JobCancelling
    | JobTimedOut
    | ScheduleAdded
    | ScheduleRemoved
)

#: Stable type names, as written to the journal. Never rename an entry.
EVENT_TYPES: Final[dict[str, type[Event]]] = {
    "queued": JobQueued,
    "started": JobStarted,
    "done": JobDone,
    "cancelled": JobCancelled,
    "interrupted": JobInterrupted,
    "requeued": JobRequeued,
    "fetched": JobFetched,
    "deleted": JobDeleted,
    "progress": JobProgressed,
    "cancelling": JobCancelling,
    "timed_out": JobTimedOut,
    "schedule_added": ScheduleAdded,
    "schedule_removed": ScheduleRemoved,
    "retrying": JobRetrying,
}

TYPE_NAMES: Final[dict[type[Event], str]] = {
    cls: name for name, cls in EVENT_TYPES.items()
}


def type_name(event: Event) -> str:
    """The stable journal name of *event*'s type (``"queued"``, ...)."""
    return TYPE_NAMES[type(event)]
