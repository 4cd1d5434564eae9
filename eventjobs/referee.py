"""The referee: which events a job's state admits, for several nodes at once.

When several servers (nodes) share one journal, none of them can decide
alone whether an event may be recorded: each one's view of the jobs lags
the others'. So the journal decides, in the transaction that appends: it
keeps each live job's :class:`JobState` and admits an event only if
:func:`judge` does. Two nodes racing to fetch one result both send a
``fetched``; the first is admitted, the second rejected (the API answers
404, as it would have had the other fetch come first).

The rules are the lifecycle's (:mod:`eventjobs.lifecycle`), on the little
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

from .errors import EventJobsError, IllegalTransition
from .events import Event, JobQueued, ScheduleAdded, type_name
from .lifecycle import Phase, transition

#: The phases as stored in a :class:`JobState` (and in the PostgreSQL
#: journal's ``job_state`` table): the lifecycle's phase values. Read one
#: back with :func:`phase_of`.
QUEUED: Final = Phase.QUEUED.value
RUNNING: Final = Phase.RUNNING.value
FINISHED: Final = Phase.FINISHED.value
_PHASES: Final = {phase.value: phase for phase in Phase}

#: The node a trusted writer acts as (a copy, a migration): any job's node.
ANY_NODE: Final = 0


class Rejected(EventJobsError):
    """The journal refused an event: the job's state does not admit it (it
    changed on another node first), or the node no longer holds the job.
    Nothing was recorded."""


class KeyTaken(Rejected):
    """The journal refused a ``queued`` event: its owner used its
    ``Idempotency-Key`` within the window already, for job :attr:`job_id`
    (perhaps on another node, perhaps a moment before). Nothing was
    recorded; the submission's answer is that first job."""

    def __init__(self, key: str, job_id: int) -> None:
        super().__init__(f"Idempotency-Key {key!r} was used first by job {job_id}")
        self.key = key
        self.job_id = job_id


@attrs.frozen
class JobState:
    """What the referee keeps of a live job.

    ``phase`` is the stored name of its :class:`~eventjobs.lifecycle.Phase`
    (:data:`QUEUED`, :data:`RUNNING` or :data:`FINISHED`); ``node`` is the
    node that holds it (queued it, or recovered it); ``visible`` is false
    once deleted (or for fire-and-forget jobs); ``cancelling`` is true once
    a stop was asked for while it ran.
    """

    phase: str
    visible: bool
    node: int
    cancelling: bool = False


def phase_of(stored: str) -> Phase:
    """The lifecycle phase whose stored name is *stored* (see :data:`QUEUED`).

    Raises:
        ValueError: *stored* names no phase.
    """
    phase = _PHASES.get(stored)
    if phase is None:
        raise ValueError(
            f"unknown stored phase {stored!r} (expected one of {', '.join(_PHASES)})"
        )
    return phase


def judge(state: JobState | None, event: Event, node: int) -> JobState | None:
    """The job's state after *event*, recorded by *node*; None once the job
    is forgotten (finished and invisible).

    *state* is None for a job the referee does not hold (new, or forgotten).
    The lifecycle decides whether the event follows; the referee adds that
    an event only the holder may record (:attr:`~eventjobs.lifecycle.Step.holder_only`)
    comes from the node that holds the job, or from :data:`ANY_NODE`.

    Raises:
        Rejected: the event does not follow; the message says why.
    """
    try:
        if state is None:
            step = transition(None, event)
        else:
            phase = phase_of(state.phase)
            step = transition(
                phase, event, visible=state.visible, cancelling=state.cancelling
            )
    except IllegalTransition as error:
        raise Rejected(str(error)) from None
    except ValueError as error:  # a damaged state: phase_of names it
        raise Rejected(f"job {event.job_id}: {error}") from None
    if isinstance(event, JobQueued):
        return JobState(QUEUED, visible=step.visible, node=node)
    if isinstance(event, ScheduleAdded):
        return JobState(FINISHED, visible=True, node=node)
    assert state is not None  # the lifecycle admits only a queued for an unknown job
    if step.holder_only and node != ANY_NODE and state.node != node:
        raise Rejected(
            f"job {event.job_id}: {type_name(event)!r} from node {node}, but node "
            f"{state.node} holds the job"
        )
    if step.phase is None:
        return None
    new = JobState(step.phase.value, step.visible, state.node, step.cancelling)
    return state if new == state else new
