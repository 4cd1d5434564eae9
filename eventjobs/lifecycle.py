"""A job's lifecycle: its phases, the events that move it, the events that
end it. Pure: no I/O, no clock.

This is the one place that says what each kind of event means for a job's
state. The projection (:mod:`eventjobs.projection`) and the referee
(:mod:`eventjobs.referee`) follow :func:`transition`; the audit commands,
the metrics, the job log and the long-poll waiters ask :func:`ends_job`,
:func:`hides_job`, :func:`stops_pending` and :func:`result_of` instead of
listing event classes. A new kind of event is described here (and in
:mod:`eventjobs.events` and :mod:`eventjobs.codec`), nowhere else.

The state of a job, as far as the lifecycle goes, is three things:

- its :class:`Phase`: ``QUEUED`` (waits for a run slot), ``RUNNING`` (its
  handler runs) or ``FINISHED`` (its result is stored);
- whether it is *visible*: listed and reachable by its owner, from
  ``queued`` (with ``store``) until ``fetched`` or ``deleted``;
- whether it is *cancelling*: a stop was asked for while it ran and its work
  has yet to return.

A job that is finished and invisible is *forgotten*: nothing more can
happen to it. So a fetched or deleted result is forgotten at once, and a
job deleted while pending (or fire-and-forget) is forgotten when it ends.

Which node may record an event matters only when several servers share a
journal: a :class:`Step` says whether only the node that holds the job may
(its start, progress and end: fencing), or anyone (a cancel of a queued
job, a stop request, a fetch, a delete).
"""

from __future__ import annotations

import enum
from typing import Final, TypeGuard

import attrs

from .errors import IllegalTransition
from .events import (
    TYPE_NAMES,
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
    JobRetrying,
    JobStarted,
    JobTimedOut,
    RecordedResponse,
    ScheduleAdded,
    ScheduleRemoved,
)


class Phase(enum.Enum):
    """Where a job is in its life.

    The values are stored names (the PostgreSQL journal's ``job_state``
    table through :mod:`eventjobs.referee`, and snapshots): never change one.
    """

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"


QUEUED: Final = Phase.QUEUED
RUNNING: Final = Phase.RUNNING
FINISHED: Final = Phase.FINISHED

#: The events that end a job: each carries the job's result.
Ending = JobDone | JobCancelled | JobInterrupted | JobTimedOut


@attrs.frozen(weakref_slot=False)
class Step:
    """A job's lifecycle state after an event (see :func:`transition`).

    ``phase`` is None once the job is forgotten (then ``visible`` and
    ``cancelling`` are false). ``holder_only`` says that only the node that
    holds the job may record the event.
    """

    phase: Phase | None
    visible: bool
    cancelling: bool
    holder_only: bool


@attrs.frozen(weakref_slot=False)
class _Rule:
    """What one kind of event does.

    ``moves`` maps each phase the event may follow to the phase it leads to;
    ``anyone`` lists the phases in which any node may record it (in the
    others only the job's holder may). ``ends`` marks the events that end a
    job; ``hides`` those after which its owner no longer sees it (they need a
    visible job). ``cancelling`` is what the event makes of the cancelling
    flag: True sets it (and needs it unset), False clears it, None keeps it.
    """

    moves: dict[Phase, Phase]
    anyone: frozenset[Phase] = frozenset()
    ends: bool = False
    hides: bool = False
    cancelling: bool | None = None


_PENDING: Final = frozenset({QUEUED, RUNNING})
_ALL: Final = frozenset(Phase)

#: Every kind of event but ``queued`` (which begins a job: see transition).
_RULES: Final[dict[type[Event], _Rule]] = {
    JobStarted: _Rule({QUEUED: RUNNING}),
    # Back to the queue at start-up (rerun-safe routes): a stop asked for
    # the old run does not apply to the next one.
    JobRequeued: _Rule({RUNNING: QUEUED}, cancelling=False),
    # An attempt failed and retries are left: queued for the next one (a
    # cancel ends the job instead, so no stop is pending here).
    JobRetrying: _Rule({RUNNING: QUEUED}, cancelling=False),
    JobProgressed: _Rule({RUNNING: RUNNING}),
    # Anyone may ask a running job to stop (a cancel on any node); only the
    # first request counts.
    JobCancelling: _Rule({RUNNING: RUNNING}, anyone=_ALL, cancelling=True),
    JobDone: _Rule(dict.fromkeys(_PENDING, FINISHED), ends=True, cancelling=False),
    # A queued job is cancelled by whoever asks; a running one by its holder.
    JobCancelled: _Rule(
        dict.fromkeys(_PENDING, FINISHED),
        anyone=frozenset({QUEUED}),
        ends=True,
        cancelling=False,
    ),
    JobInterrupted: _Rule({RUNNING: FINISHED}, ends=True, cancelling=False),
    JobTimedOut: _Rule({RUNNING: FINISHED}, ends=True, cancelling=False),
    JobFetched: _Rule({FINISHED: FINISHED}, anyone=_ALL, hides=True),
    # A deleted pending job runs on (the spec says so) and is forgotten when
    # it ends; a finished one is forgotten at once.
    JobDeleted: _Rule({phase: phase for phase in Phase}, anyone=_ALL, hides=True),
    # A recurring schedule has an id of the job ids and a state of its own
    # kind: FINISHED (nothing runs under its id, no node holds it for
    # recovery) and visible (its owner sees it) from ``schedule_added``
    # (see transition) until ``schedule_removed`` forgets it.
    ScheduleRemoved: _Rule({FINISHED: FINISHED}, anyone=_ALL, hides=True),
}

_ENDING: Final = frozenset(kind for kind, rule in _RULES.items() if rule.ends)
_HIDING: Final = frozenset(kind for kind, rule in _RULES.items() if rule.hides)
_STOPPING: Final = _ENDING | _HIDING


def is_schedule_event(event: Event) -> bool:
    """Whether *event* is about a recurring schedule (``schedule_added``,
    ``schedule_removed``) rather than a job: its ``job_id`` is the
    schedule's id."""
    return isinstance(event, ScheduleAdded | ScheduleRemoved)


def ends_job(event: Event) -> TypeGuard[Ending]:
    """Whether *event* ends its job (done, cancelled, timed out,
    interrupted): the job is finished, and the event carries its result."""
    return type(event) in _ENDING


def hides_job(event: Event) -> bool:
    """Whether *event* takes its job out of its owner's view (fetched,
    deleted): nothing of it is listed or reachable afterwards."""
    return type(event) in _HIDING


def stops_pending(event: Event) -> bool:
    """Whether, after *event*, its job is no longer pending to its owner: it
    ended, or it was fetched or deleted (what a long poll waits for)."""
    return type(event) in _STOPPING


def result_of(event: Event) -> RecordedResponse | None:
    """The result *event* carries: the response of an event that ends a
    job, None for every other event."""
    return event.response if ends_job(event) else None


def transition(
    phase: Phase | None,
    event: Event,
    *,
    visible: bool = False,
    cancelling: bool = False,
) -> Step:
    """The job's state after *event*, from *phase*, *visible* and
    *cancelling* before it; *phase* is None for a job not known (new, or
    forgotten).

    Raises:
        IllegalTransition: *event* does not follow that state; the message
            names the job, the event and why.
    """
    # Every legal step but queued's is computed once (below): replaying a
    # journal costs one lookup per event here.
    step = _STEPS.get((type(event), phase, visible, cancelling))
    if step is not None:
        return step
    if isinstance(event, JobQueued):
        if phase is not None:
            raise IllegalTransition(f"job {event.job_id}: queued twice")
        return _QUEUED_STORED if event.store else _QUEUED_UNSTORED
    if isinstance(event, ScheduleAdded):
        if phase is not None:
            raise IllegalTransition(f"schedule {event.job_id}: id already in use")
        return _SCHEDULE_ADDED
    return _step(type(event), event.job_id, phase, visible, cancelling)


def _step(
    kind: type[Event], job_id: int, phase: Phase | None, visible: bool, cancelling: bool
) -> Step:
    """:func:`transition` of an event of *kind* (not ``queued``), from the rules."""
    name = TYPE_NAMES[kind]
    if phase is None:
        raise IllegalTransition(
            f"job {job_id}: {name!r} for a job that is gone or unknown "
            "(never queued, or already fetched or deleted)"
        )
    rule = _RULES.get(kind)
    if rule is None:
        raise AssertionError(f"no lifecycle rule for {name!r} events")
    after = rule.moves.get(phase)
    if after is None:
        raise IllegalTransition(
            f"job {job_id}: {name!r} cannot follow phase {phase.value!r}"
        )
    if rule.hides:
        if not visible:
            raise IllegalTransition(
                f"job {job_id}: {name!r} for a job that was already fetched or deleted, "
                "or is fire-and-forget"
            )
        visible = False
    if rule.cancelling is not None:
        if rule.cancelling and cancelling:
            raise IllegalTransition(
                f"job {job_id}: {name!r} recorded twice (a stop was already asked for)"
            )
        cancelling = rule.cancelling
    holder_only = phase not in rule.anyone
    if after is FINISHED and not visible:
        return Step(None, visible=False, cancelling=False, holder_only=holder_only)
    return Step(after, visible=visible, cancelling=cancelling, holder_only=holder_only)


def _legal_steps() -> dict[tuple[type[Event], Phase | None, bool, bool], Step]:
    steps: dict[tuple[type[Event], Phase | None, bool, bool], Step] = {}
    for kind in _RULES:
        for phase in Phase:
            for visible in (False, True):
                for cancelling in (False, True):
                    try:
                        steps[kind, phase, visible, cancelling] = _step(
                            kind, 0, phase, visible, cancelling
                        )
                    except IllegalTransition:
                        pass
    return steps


_STEPS: Final = _legal_steps()
_QUEUED_STORED: Final = Step(QUEUED, visible=True, cancelling=False, holder_only=True)
_SCHEDULE_ADDED: Final = Step(
    FINISHED, visible=True, cancelling=False, holder_only=False
)
_QUEUED_UNSTORED: Final = Step(
    QUEUED, visible=False, cancelling=False, holder_only=True
)
