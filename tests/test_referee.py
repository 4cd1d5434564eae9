"""The referee admits exactly what the projection accepts, and guards the
holder of a running job (tests for eventjobs/referee.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventjobs.errors import IllegalTransition
from eventjobs.events import (
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
    RecordedRequest,
    RecordedResponse,
    ScheduleAdded,
    ScheduleRemoved,
)
from eventjobs.journal import Recorded
from eventjobs.projection import JobTable
from eventjobs.lifecycle import Phase
from eventjobs.referee import (
    ANY_NODE,
    FINISHED,
    QUEUED,
    RUNNING,
    JobState,
    Rejected,
    judge,
    phase_of,
)

RESPONSE = RecordedResponse(status=200)
REQUEST = RecordedRequest(method="GET", path="/x")


def event_of(kind: str, job_id: int, store: bool = True):
    return {
        "queued": lambda: JobQueued(
            job_id=job_id, time=1, owner=None, store=store, request=REQUEST
        ),
        "started": lambda: JobStarted(job_id=job_id, time=1),
        "requeued": lambda: JobRequeued(job_id=job_id, time=1, reason="r"),
        "retrying": lambda: JobRetrying(
            job_id=job_id,
            time=1,
            attempt=1,
            reason="server_error",
            status=500,
            not_before=2,
        ),
        "progress": lambda: JobProgressed(
            job_id=job_id, time=1, fraction=0.5, message=""
        ),
        "cancelling": lambda: JobCancelling(
            job_id=job_id, time=1, by=None, reason="cancel"
        ),
        "done": lambda: JobDone(job_id=job_id, time=1, response=RESPONSE),
        "cancelled": lambda: JobCancelled(
            job_id=job_id, time=1, by=None, response=RESPONSE
        ),
        "interrupted": lambda: JobInterrupted(
            job_id=job_id, time=1, reason="r", response=RESPONSE
        ),
        "timed_out": lambda: JobTimedOut(
            job_id=job_id, time=1, timeout=1, response=RESPONSE
        ),
        "fetched": lambda: JobFetched(job_id=job_id, time=1, by=None),
        "deleted": lambda: JobDeleted(job_id=job_id, time=1, by=None, reason="id"),
        "schedule_added": lambda: ScheduleAdded(
            job_id=job_id, time=1, owner=None, request=REQUEST, every=60
        ),
        "schedule_removed": lambda: ScheduleRemoved(job_id=job_id, time=1, by=None),
    }[kind]()


#: Every kind but ``queued``: the journal gives each ``queued`` a fresh id
#: (tests/postgres), so one never meets a state.
KINDS = [
    "started",
    "requeued",
    "progress",
    "cancelling",
    "done",
    "cancelled",
    "interrupted",
    "timed_out",
    "fetched",
    "deleted",
]


@settings(max_examples=400, deadline=None)
@given(st.booleans(), st.lists(st.sampled_from(KINDS), max_size=12))
def test_the_referee_admits_exactly_what_the_projection_accepts(store, kinds):
    """For any sequence of events on one job (queued first), each event is
    admitted by the referee if and only if the projection accepts it, and
    both then agree on the job's phase, visibility and cancelling flag."""
    table = JobTable()
    table.apply(Recorded(1, event_of("queued", 1, store)))
    state = judge(None, event_of("queued", 1, store), node=7)
    for kind in kinds:
        event = event_of(kind, 1, store)
        try:
            table.apply(Recorded(table.position + 1, event))
            accepted = True
        except IllegalTransition:
            accepted = False
        try:
            state = judge(state, event, node=7)
            admitted = True
        except Rejected:
            admitted = False
        assert admitted == accepted, (kind, state)
        job = table.jobs.get(1)
        if job is None:
            assert state is None
        else:
            assert state is not None
            assert state.phase == job.phase.value
            assert state.visible == job.visible
            assert state.cancelling == job.cancelling


def test_only_the_holder_records_a_running_jobs_progress_and_end():
    running = JobState(RUNNING, visible=True, node=1)
    for kind in (
        "progress",
        "done",
        "interrupted",
        "timed_out",
        "requeued",
        "cancelled",
    ):
        with pytest.raises(Rejected, match="node 1 holds the job"):
            judge(running, event_of(kind, 5), node=2)
        assert (
            judge(running, event_of(kind, 5), node=ANY_NODE) != running
            or kind == "progress"
        )


def test_only_the_holder_claims_a_queued_job_but_anyone_cancels_it():
    queued = JobState(QUEUED, visible=True, node=1)
    with pytest.raises(Rejected):
        judge(queued, event_of("started", 5), node=2)
    assert judge(queued, event_of("started", 5), node=1) == JobState(RUNNING, True, 1)
    assert judge(queued, event_of("cancelled", 5), node=2) == JobState(
        FINISHED, True, 1
    )


def test_anyone_asks_a_running_job_to_stop_once():
    running = JobState(RUNNING, visible=True, node=1)
    asked = judge(running, event_of("cancelling", 5), node=2)
    assert asked == JobState(RUNNING, True, 1, cancelling=True)
    with pytest.raises(Rejected, match="already asked"):
        judge(asked, event_of("cancelling", 5), node=1)


def test_a_job_is_queued_once():
    with pytest.raises(Rejected, match="queued twice"):
        judge(JobState(FINISHED, visible=True, node=1), event_of("queued", 5), node=1)


def test_a_second_fetch_is_rejected():
    finished = JobState(FINISHED, visible=True, node=1)
    assert judge(finished, event_of("fetched", 5), node=2) is None
    with pytest.raises(Rejected, match="gone or unknown"):
        judge(None, event_of("fetched", 5), node=1)


def test_stored_phase_names_map_to_the_lifecycle_phases():

    assert [phase_of(name) for name in (QUEUED, RUNNING, FINISHED)] == list(Phase)
    with pytest.raises(ValueError, match="unknown stored phase 'done'"):
        phase_of("done")
    with pytest.raises(Rejected, match="job 5: unknown stored phase 'done'"):
        judge(JobState("done", visible=True, node=1), event_of("fetched", 5), node=1)
