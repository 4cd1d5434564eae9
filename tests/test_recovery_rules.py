"""The recovery rules (eventjobs/recovery.py), each on its own."""

from eventjobs.events import JobCancelled, JobInterrupted, JobRequeued
from eventjobs.recovery import RESTART_REASON, Recovery, StopAsked, Unfinished, recover


def test_a_queued_job_runs_again_and_records_nothing():
    assert recover(
        Unfinished(7, running=False), now=1.0, reason=RESTART_REASON
    ) == Recovery(None, run=True)


def test_a_running_job_whose_stop_was_asked_is_cancelled_by_who_asked():
    found = Unfinished(7, running=True, rerun_safe=True, stop_asked=StopAsked("ann"))
    recovery = recover(found, now=2.0, reason=RESTART_REASON)
    assert isinstance(recovery.event, JobCancelled)
    assert (recovery.event.job_id, recovery.event.by, recovery.event.time) == (
        7,
        "ann",
        2.0,
    )
    assert recovery.event.response.status == 410
    assert not recovery.run


def test_a_running_job_on_a_rerun_safe_route_is_requeued_and_runs():
    recovery = recover(
        Unfinished(7, running=True, rerun_safe=True), now=3.0, reason="why"
    )
    assert recovery == Recovery(JobRequeued(job_id=7, time=3.0, reason="why"), run=True)


def test_any_other_running_job_is_interrupted_with_the_503_result():
    recovery = recover(Unfinished(7, running=True), now=4.0, reason="why")
    assert isinstance(recovery.event, JobInterrupted)
    assert (recovery.event.reason, recovery.event.response.status) == ("why", 503)
    assert not recovery.run
