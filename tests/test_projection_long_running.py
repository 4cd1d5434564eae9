"""The projection of the long-running events: progress, cancelling, timed_out."""

from __future__ import annotations

import copy

import pytest

from eventjobs.errors import IllegalTransition
from eventjobs.events import JobCancelling, JobProgressed, JobTimedOut, RecordedResponse
from eventjobs.projection import Phase
from tests.test_projection import (
    apply,
    cancelled,
    done,
    fetched,
    queued,
    started,
    table_after,
)

TIMED_OUT = RecordedResponse(status=504, body=b'{"code":504}')


def progress(
    job_id: int, fraction: float = 0.5, message: str = "half"
) -> JobProgressed:
    return JobProgressed(job_id=job_id, time=11.5, fraction=fraction, message=message)


def cancelling(job_id: int, reason: str = "cancel") -> JobCancelling:
    return JobCancelling(job_id=job_id, time=11.6, by="alice", reason=reason)


def timed_out(job_id: int) -> JobTimedOut:
    return JobTimedOut(job_id=job_id, time=12.0, timeout=2.5, response=TIMED_OUT)


def test_progress_keeps_the_latest_report():
    """`progress` sets the running job's latest (fraction, message)."""
    table = table_after(
        queued(1), started(1), progress(1, 0.25, "a"), progress(1, 0.75, "b")
    )
    assert table.jobs[1].progress == (0.75, "b")


def test_cancelling_marks_a_running_job_still_pending():
    """`cancelling` flags the job; it stays RUNNING and pending."""
    job = table_after(queued(1), started(1), cancelling(1)).jobs[1]
    assert (job.cancelling, job.phase, job.pending) == (True, Phase.RUNNING, True)


def test_cancelled_after_cancelling_finishes_and_clears_the_flag():
    """`cancelled` after `cancelling` finishes the job; flag and progress are dropped."""
    job = table_after(
        queued(1), started(1), progress(1), cancelling(1), cancelled(1)
    ).jobs[1]
    assert (job.phase, job.cancelling, job.progress) == (Phase.FINISHED, False, None)


def test_timed_out_finishes_a_running_job_with_its_result():
    """`timed_out` stores the 504 result and frees the running slot."""
    table = table_after(queued(1), started(1), timed_out(1))
    assert (table.jobs[1].phase, table.jobs[1].response) == (Phase.FINISHED, TIMED_OUT)
    assert table.running_count == 0


def test_timed_out_job_result_can_be_fetched():
    """A timed-out job's result is fetched like any other."""
    assert table_after(queued(1), started(1), timed_out(1), fetched(1)).jobs == {}


ILLEGAL = {
    "progress-while-queued": ([queued(1)], progress(1)),
    "progress-after-done": ([queued(1), started(1), done(1)], progress(1)),
    "cancelling-while-queued": ([queued(1)], cancelling(1)),
    "cancelling-twice": (
        [queued(1), started(1), cancelling(1)],
        cancelling(1, "timeout"),
    ),
    "cancelling-after-cancelled": (
        [queued(1), started(1), cancelled(1)],
        cancelling(1),
    ),
    "timed-out-while-queued": ([queued(1)], timed_out(1)),
    "timed-out-after-done": ([queued(1), started(1), done(1)], timed_out(1)),
    "done-after-timed-out": ([queued(1), started(1), timed_out(1)], done(1)),
}


@pytest.mark.parametrize("history, event", ILLEGAL.values(), ids=ILLEGAL.keys())
def test_illegal_long_running_transition_is_refused(history, event):
    """A long-running event out of place raises and leaves the table as it was."""
    table = table_after(*history)
    before = copy.deepcopy(table)
    with pytest.raises(IllegalTransition):
        apply(table, event)
    assert table == before
