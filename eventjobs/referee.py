"""The referee: which events a job's state admits, for several nodes at once.

When several servers (nodes) share one journal, none of them can decide
alone whether an event may be recorded: each one's view of the jobs lags
the others'. So the journal decides, in the transaction that appends: it
keeps each live job's :class:`JobState` and admits an event only if
:func:`judge` does. Two nodes racing to fetch one result both send a
``fetched``; the first is admitted, the second rejected (the API answers
404, as it would have had the other fetch come first).

The rules are the projection's (:mod:`eventjobs.projection`), on the little
a job's state needs, plus who may act for a running job: only the node that
holds it. A job belongs to the node that queued it, which runs it; a node
that dies loses its jobs to the node that recovers them (the journal moves
them, see :mod:`eventjobs.journal.pg_cluster`). So a node whose jobs were
taken can no longer record their progress or their end (fencing).

Pure: no I/O, no clock. ``tests/test_referee.py`` checks that it admits
exactly what the projection accepts.
"""

from __future__ import annotations

from typing import Final

import attrs

from .errors import EventJobsError
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
    type_name,
)

QUEUED: Final = "queued"
RUNNING: Final = "running"
FINISHED: Final = "finished"

#: The node a trusted writer acts as (a copy, a migration): any job's node.
ANY_NODE: Final = 0


class Rejected(EventJobsError):
    """The journal refused an event: the job's state does not admit it (it
    changed on another node first), or the node no longer holds the job.
    Nothing was recorded."""


@attrs.frozen
class JobState:
    """What the referee keeps of a live job.

    ``node`` is the node that holds it (queued it, or recovered it);
    ``visible`` is false once deleted (or for fire-and-forget jobs);
    ``cancelling`` is true once a stop was asked for while it ran.
    """

    phase: str
    visible: bool
    node: int
    cancelling: bool = False


def judge(state: JobState | None, event: Event, node: int) -> JobState | None:
    """The job's state after *event*, recorded by *node*; None once the job
    is forgotten (finished and invisible).

    *state* is None for a job the referee does not hold (new, or forgotten).

    Raises:
        Rejected: the event does not follow; the message says why.
    """
    name = type_name(event)
    if isinstance(event, JobQueued):
        if state is not None:
            raise Rejected(f"job {event.job_id}: queued twice")
        return JobState(QUEUED, visible=event.store, node=node)
    if state is None:
        raise Rejected(f"job {event.job_id}: {name!r} for a job that is gone or unknown")
    match event:
        case JobStarted():
            _require(state, event, node, QUEUED, holder=True)
            return attrs.evolve(state, phase=RUNNING)
        case JobRequeued():
            _require(state, event, node, RUNNING, holder=True)
            return attrs.evolve(state, phase=QUEUED, cancelling=False)
        case JobProgressed():
            _require(state, event, node, RUNNING, holder=True)
            return state
        case JobCancelling():
            # Anyone may ask a running job to stop (a cancel on any node);
            # only the first request counts.
            _require(state, event, node, RUNNING)
            if state.cancelling:
                raise Rejected(f"job {event.job_id}: a stop was already asked for")
            return attrs.evolve(state, cancelling=True)
        case JobCancelled() if state.phase == QUEUED:
            return _finish(state)  # a queued job is cancelled by whoever asks
        case JobDone() | JobCancelled():
            _require(state, event, node, QUEUED, RUNNING, holder=True)
            return _finish(state)
        case JobInterrupted() | JobTimedOut():
            _require(state, event, node, RUNNING, holder=True)
            return _finish(state)
        case JobFetched():
            _require(state, event, node, FINISHED)
            _require_visible(state, event)
            return None
        case JobDeleted():
            _require_visible(state, event)
            return attrs.evolve(state, visible=False) if state.phase != FINISHED else None
        case _:
            raise AssertionError(f"unhandled event {event!r}")


def _finish(state: JobState) -> JobState | None:
    if not state.visible:
        return None  # deleted while pending, or fire-and-forget: forgotten
    return attrs.evolve(state, phase=FINISHED, cancelling=False)


def _require(state: JobState, event: Event, node: int, *phases: str, holder: bool = False) -> None:
    if state.phase not in phases:
        raise Rejected(
            f"job {event.job_id}: {type_name(event)!r} cannot follow phase {state.phase!r}"
        )
    if holder and node != ANY_NODE and state.node != node:
        raise Rejected(
            f"job {event.job_id}: {type_name(event)!r} from node {node}, but node "
            f"{state.node} holds the job"
        )


def _require_visible(state: JobState, event: Event) -> None:
    if not state.visible:
        raise Rejected(
            f"job {event.job_id}: {type_name(event)!r} for a job that was deleted or is "
            "fire-and-forget"
        )
