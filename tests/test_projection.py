"""The projection: JobTable.apply for every legal and illegal transition."""

from __future__ import annotations

import copy

import pytest

from eventjobs.errors import IllegalTransition
from eventjobs.events import (
    Event,
    JobCancelled,
    JobDeleted,
    JobDone,
    JobFetched,
    JobInterrupted,
    JobQueued,
    JobRequeued,
    JobStarted,
    RecordedRequest,
    RecordedResponse,
)
from eventjobs.identity import ANONYMOUS, Caller
from eventjobs.journal import Recorded
from eventjobs.projection import JobTable, Phase, fold

REQUEST = RecordedRequest(method="GET", path="/_admin/sleep", query_string="duration=1")
OK = RecordedResponse(status=200, headers=(("content-type", "text/plain"),), body=b"ok")
GONE = RecordedResponse(status=410, body=b'{"code":410}')
UNAVAILABLE = RecordedResponse(status=503, body=b'{"code":503}')


def queued(
    job_id: int, time: float = 10.0, *, store: bool = True, owner: str | None = None
):
    return JobQueued(
        job_id=job_id, time=time, owner=owner, store=store, request=REQUEST
    )


def started(job_id: int, time: float = 11.0) -> JobStarted:
    return JobStarted(job_id=job_id, time=time)


def done(job_id: int, time: float = 12.0) -> JobDone:
    return JobDone(job_id=job_id, time=time, response=OK)


def cancelled(job_id: int, time: float = 12.0) -> JobCancelled:
    return JobCancelled(job_id=job_id, time=time, by=None, response=GONE)


def interrupted(job_id: int, time: float = 12.0) -> JobInterrupted:
    return JobInterrupted(
        job_id=job_id, time=time, reason="shutdown", response=UNAVAILABLE
    )


def requeued(job_id: int, time: float = 12.0) -> JobRequeued:
    return JobRequeued(job_id=job_id, time=time, reason="restart")


def fetched(job_id: int, time: float = 13.0) -> JobFetched:
    return JobFetched(job_id=job_id, time=time, by=None)


def deleted(job_id: int, time: float = 13.0) -> JobDeleted:
    return JobDeleted(job_id=job_id, time=time, by=None, reason="id")


def table_after(*events: Event) -> JobTable:
    return fold(Recorded(seq, event) for seq, event in enumerate(events, start=1))


def apply(table: JobTable, event: Event) -> None:
    table.apply(Recorded(table.position + 1, event))


# -- legal transitions ---------------------------------------------------------------


def test_queued_adds_visible_queued_job():
    """`queued` puts a visible job in phase QUEUED with its request and time."""
    job = table_after(queued(1, 10.0, owner="alice")).jobs[1]
    assert (job.phase, job.visible, job.owner, job.created) == (
        Phase.QUEUED,
        True,
        "alice",
        10.0,
    )
    assert (job.request, job.method, job.path) == (REQUEST, "GET", "/_admin/sleep")


def test_queued_counts_and_sets_last_job_id():
    """`queued` raises queued_count and sets last_job_id to the new id."""
    table = table_after(queued(1), queued(5))
    assert (table.queued_count, table.running_count, table.last_job_id) == (2, 0, 5)


def test_started_makes_job_running():
    """`started` moves a queued job to RUNNING and records the start time."""
    table = table_after(queued(1), started(1, 11.0))
    assert (table.jobs[1].phase, table.jobs[1].started) == (Phase.RUNNING, 11.0)
    assert (table.queued_count, table.running_count) == (0, 1)


def test_done_finishes_running_job_with_its_response():
    """`done` stores the response, drops the request and records the finish time."""
    table = table_after(queued(1), started(1), done(1, 12.0))
    job = table.jobs[1]
    assert (job.phase, job.response, job.request, job.finished) == (
        Phase.FINISHED,
        OK,
        None,
        12.0,
    )
    assert (table.queued_count, table.running_count) == (0, 0)


def test_cancelled_queued_job_finishes_without_starting():
    """`cancelled` on a queued job stores the 410 result; it never started."""
    table = table_after(queued(1), cancelled(1))
    job = table.jobs[1]
    assert (job.phase, job.response, job.started) == (Phase.FINISHED, GONE, None)
    assert table.queued_count == 0


def test_cancelled_running_job_finishes_with_410():
    """`cancelled` on a running job stores the 410 result."""
    table = table_after(queued(1), started(1), cancelled(1))
    assert (table.jobs[1].phase, table.jobs[1].response) == (Phase.FINISHED, GONE)
    assert table.running_count == 0


def test_interrupted_running_job_finishes_with_its_result():
    """`interrupted` on a running job stores the 503 result."""
    table = table_after(queued(1), started(1), interrupted(1))
    assert (table.jobs[1].phase, table.jobs[1].response) == (
        Phase.FINISHED,
        UNAVAILABLE,
    )
    assert table.running_count == 0


@pytest.mark.parametrize("ending", [done, cancelled, interrupted])
def test_fetched_removes_finished_job(ending):
    """`fetched` takes a finished job out of the table."""
    table = table_after(queued(1), started(1), ending(1), fetched(1))
    assert table.jobs == {}


def test_fetched_keeps_last_job_id():
    """A job leaving the table does not lower last_job_id (ids are never reused)."""
    assert table_after(queued(1), started(1), done(1), fetched(1)).last_job_id == 1


def test_deleted_finished_job_is_removed():
    """`deleted` takes a finished job out of the table."""
    assert table_after(queued(1), started(1), done(1), deleted(1)).jobs == {}


def test_deleted_queued_job_stays_invisible():
    """A job deleted while queued stays in the table, invisible, still queued."""
    table = table_after(queued(1), deleted(1))
    job = table.jobs[1]
    assert (job.phase, job.visible, job.request) == (Phase.QUEUED, False, REQUEST)
    assert table.queued_count == 1


def test_deleted_pending_job_can_still_run():
    """A deleted queued job may still start (its work goes on)."""
    table = table_after(queued(1), deleted(1), started(1))
    assert (table.jobs[1].phase, table.running_count) == (Phase.RUNNING, 1)


def test_deleted_running_job_stays_invisible_while_running():
    """A job deleted while running stays in the table, invisible, counted running."""
    table = table_after(queued(1), started(1), deleted(1))
    assert (table.jobs[1].phase, table.jobs[1].visible, table.running_count) == (
        Phase.RUNNING,
        False,
        1,
    )


@pytest.mark.parametrize("ending", [done, cancelled, interrupted])
def test_deleted_pending_job_leaves_table_when_it_finishes(ending):
    """A deleted job leaves the table once it finishes; its result is discarded."""
    table = table_after(queued(1), started(1), deleted(1), ending(1))
    assert table.jobs == {}
    assert table.running_count == 0


def test_deleted_pending_job_is_not_found():
    """A deleted pending job is neither found nor listed."""
    table = table_after(queued(1), deleted(1))
    assert table.find(1, ANONYMOUS) is None
    assert list(table.visible_to(ANONYMOUS)) == []


def test_position_is_seq_of_last_record():
    """position counts the records applied."""
    assert table_after(queued(1), started(1), queued(2)).position == 3


def test_jobs_are_listed_ascending_by_id():
    """visible_to lists jobs ascending by id."""
    table = table_after(queued(3), queued(7), queued(9), started(7), done(7))
    assert [job.job_id for job in table.visible_to(ANONYMOUS)] == [3, 7, 9]


def test_fold_onto_table_continues_it():
    """fold(records, table) continues from the table's position."""
    table = table_after(queued(1))
    fold([Recorded(2, started(1))], table)
    assert table == table_after(queued(1), started(1))


# -- fire and forget --------------------------------------------------------------------


def test_fire_and_forget_job_is_never_visible():
    """A `store: false` job is never found nor listed, queued or running."""
    table = table_after(queued(1, store=False))
    assert (table.find(1, ANONYMOUS), list(table.visible_to(ANONYMOUS))) == (None, [])
    apply(table, started(1))
    assert (table.find(1, ANONYMOUS), list(table.visible_to(ANONYMOUS))) == (None, [])


def test_fire_and_forget_job_is_still_scheduled():
    """A `store: false` job is counted and listed among the jobs to run."""
    table = table_after(queued(1, store=False))
    assert table.queued_count == 1
    assert [job.job_id for job in table.unfinished(Phase.QUEUED)] == [1]


@pytest.mark.parametrize("ending", [done, interrupted])
def test_fire_and_forget_job_leaves_table_when_finished(ending):
    """A `store: false` job is gone from the table once it finishes."""
    table = table_after(queued(1, store=False), started(1), ending(1))
    assert table.jobs == {}
    assert (table.queued_count, table.running_count) == (0, 0)


# -- ownership --------------------------------------------------------------------------------


def test_other_users_job_is_not_found():
    """A non-superuser does not find or list another user's job."""
    table = table_after(queued(1, owner="bob"))
    alice = Caller("alice")
    assert (table.find(1, alice), list(table.visible_to(alice))) == (None, [])


def test_superuser_finds_every_job():
    """A superuser finds another user's job."""
    table = table_after(queued(1, owner="bob"))
    assert table.find(1, Caller("root", superuser=True)) is table.jobs[1]


# -- stamps -----------------------------------------------------------------------------------------


def test_stamp_of_queued_job_is_creation_time():
    """A queued job's stamp is when it was queued."""
    assert table_after(queued(1, 10.0)).jobs[1].stamp == 10.0


def test_stamp_of_running_job_is_creation_time():
    """A running job's stamp is still when it was queued, not when it started."""
    assert table_after(queued(1, 10.0), started(1, 11.0)).jobs[1].stamp == 10.0


@pytest.mark.parametrize("ending", [done, cancelled, interrupted])
def test_stamp_of_finished_job_is_completion_time(ending):
    """A finished job's stamp is when it finished."""
    table = table_after(queued(1, 10.0), started(1, 11.0), ending(1, 12.5))
    assert table.jobs[1].stamp == 12.5


def test_stamp_of_job_cancelled_before_start_is_cancel_time():
    """A job cancelled while queued is stamped with the cancel time."""
    assert table_after(queued(1, 10.0), cancelled(1, 20.0)).jobs[1].stamp == 20.0


def test_pending_covers_queued_and_running_only():
    """`pending` is true while queued or running and false once finished."""
    table = table_after(
        queued(1), queued(2), started(2), queued(3), started(3), done(3)
    )
    assert [table.jobs[i].pending for i in (1, 2, 3)] == [True, True, False]


def test_requeued_puts_a_running_job_back_in_the_queue():
    """`requeued` moves a running job back to QUEUED, keeping its request."""
    table = table_after(queued(1), started(1), requeued(1))
    job = table.jobs[1]
    assert (job.phase, job.started, job.request) == (Phase.QUEUED, None, REQUEST)
    assert (table.queued_count, table.running_count) == (1, 0)
    apply(table, started(1, 20.0))
    assert table.jobs[1].phase is Phase.RUNNING


# -- illegal transitions ----------------------------------------------------------------------


ILLEGAL = {
    "done-after-fetched": ([queued(1), started(1), done(1), fetched(1)], done(1)),
    "done-twice": ([queued(1), started(1), done(1)], done(1)),
    "two-started": ([queued(1), started(1)], started(1)),
    "started-after-cancelled": ([queued(1), cancelled(1)], started(1)),
    "started-after-done": ([queued(1), started(1), done(1)], started(1)),
    "cancelled-after-done": ([queued(1), started(1), done(1)], cancelled(1)),
    "interrupted-while-queued": ([queued(1)], interrupted(1)),
    "requeued-while-queued": ([queued(1)], requeued(1)),
    "requeued-after-done": ([queued(1), started(1), done(1)], requeued(1)),
    "fetched-while-queued": ([queued(1)], fetched(1)),
    "fetched-while-running": ([queued(1), started(1)], fetched(1)),
    "fetched-twice": ([queued(1), started(1), done(1), fetched(1)], fetched(1)),
    "fetched-after-deleted": ([queued(1), started(1), done(1), deleted(1)], fetched(1)),
    "fetched-deleted-pending-job": ([queued(1), deleted(1), started(1)], fetched(1)),
    "deleted-twice-while-pending": ([queued(1), deleted(1)], deleted(1)),
    "deleted-fire-and-forget": ([queued(1, store=False)], deleted(1)),
    "started-for-unknown-job": ([], started(5)),
    "done-for-unknown-job": ([queued(1), started(1)], done(2)),
    "queued-same-id-again": ([queued(1)], queued(1)),
    "queued-lower-id": ([queued(4)], queued(3)),
    "queued-id-of-job-gone": ([queued(1), started(1), done(1), fetched(1)], queued(1)),
}


@pytest.mark.parametrize("history, event", ILLEGAL.values(), ids=ILLEGAL.keys())
def test_illegal_transition_is_refused_and_changes_nothing(history, event):
    """An event that does not follow the job's state raises and leaves the table as it was."""
    table = table_after(*history)
    before = copy.deepcopy(table)
    with pytest.raises(IllegalTransition):
        apply(table, event)
    assert table == before


@pytest.mark.parametrize(
    "seq", [0, 1, 2, 4], ids=["zero", "behind", "repeat-position", "gap"]
)
def test_record_out_of_position_is_refused_and_changes_nothing(seq):
    """A record whose seq is not position + 1 raises and leaves the table as it was."""
    table = table_after(queued(1), queued(2))
    before = copy.deepcopy(table)
    with pytest.raises(IllegalTransition, match="applied at position 2"):
        table.apply(Recorded(seq, started(1)))
    assert table == before
