"""The recovery rules: what becomes of a job found unfinished that nobody runs.

A single server applies them at start-up to what its journal holds; a node
applies them to the jobs it takes over from a node that is gone (or to its
own strays). Pure: the caller records the event and runs the job.

- a job left queued runs again;
- a job left running whose stop was asked for (``cancelling``, and who asked
  is known) is recorded ``cancelled``, with the 410 result;
- a job left running that asked for retries (``x-eventjobs-retries``) and
  has attempts left is recorded ``retrying`` (why: ``interrupted``), then
  runs again after its back-off;
- one whose retries are used up is recorded ``interrupted``, even on a
  rerun-safe route (the client said how many attempts it wants);
- a job left running on a rerun-safe route is recorded ``requeued``, then
  runs again;
- any other job left running is recorded ``interrupted``, with the 503
  result: never pending forever.
"""

from __future__ import annotations

import attrs

from .events import (
    Event,
    JobCancelled,
    JobInterrupted,
    JobRequeued,
    JobRetrying,
    Owner,
)
from .results import cancelled_result, interrupted_result
from .retries import INTERRUPTED, attempts_left

#: Why a single server interrupts (or runs again) a job it finds running at start-up.
RESTART_REASON = "the server stopped while the job ran (found at start-up)"
#: Why a node interrupts (or runs again) a job it took over.
NODE_LOST_REASON = (
    "the server running the job stopped or lost its lease (found by another node)"
)


@attrs.frozen
class StopAsked:
    """A stop was asked for (``cancelling`` recorded), by *by*."""

    by: Owner


@attrs.frozen
class Unfinished:
    """A job found unfinished: queued, or running (started) with nobody
    running it any more; *stop_asked* when a running job's ``cancelling``
    is known with who asked. *attempt* is the attempt that ran (from 1) of
    at most *retries* + 1."""

    job_id: int
    running: bool
    rerun_safe: bool = False
    stop_asked: StopAsked | None = None
    attempt: int = 1
    retries: int = 0


@attrs.frozen
class Recovery:
    """What to do: record *event* (if any, kept until it is written), then
    run the job when *run* (after the event is durable)."""

    event: Event | None
    run: bool


def recover(
    job: Unfinished, *, now: float, reason: str, backoff: float = 0.0
) -> Recovery:
    """The recovery of *job* by the rules of the module docstring; *reason*
    is the ``requeued`` or ``interrupted`` event's reason, *now* its time;
    *backoff* the seconds a job that retries waits before its next attempt
    (:func:`eventjobs.retries.backoff`)."""
    if not job.running:
        return Recovery(None, run=True)
    if job.stop_asked is not None:
        cancelled = JobCancelled(
            job_id=job.job_id,
            time=now,
            by=job.stop_asked.by,
            response=cancelled_result(),
        )
        return Recovery(cancelled, run=False)
    if job.retries and attempts_left(job.attempt, job.retries):
        retrying = JobRetrying(
            job_id=job.job_id,
            time=now,
            attempt=job.attempt,
            reason=INTERRUPTED,
            status=interrupted_result().status,
            not_before=now + backoff,
        )
        return Recovery(retrying, run=True)
    if job.rerun_safe and not job.retries:
        return Recovery(
            JobRequeued(job_id=job.job_id, time=now, reason=reason), run=True
        )
    interrupted = JobInterrupted(
        job_id=job.job_id, time=now, reason=reason, response=interrupted_result()
    )
    return Recovery(interrupted, run=False)
