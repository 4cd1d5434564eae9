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


def test_a_running_job_with_retries_left_is_retried_after_its_back_off():
    from eventjobs.events import JobRetrying

    found = Unfinished(7, running=True, rerun_safe=True, attempt=2, retries=3)
    recovery = recover(found, now=100.0, reason=RESTART_REASON, backoff=8.0)
    assert recovery == Recovery(
        JobRetrying(
            job_id=7,
            time=100.0,
            attempt=2,
            reason="interrupted",
            status=503,
            not_before=108.0,
        ),
        run=True,
    )


def test_a_job_whose_retries_are_used_up_is_interrupted_even_if_rerun_safe():
    from eventjobs.events import JobInterrupted

    found = Unfinished(7, running=True, rerun_safe=True, attempt=3, retries=2)
    recovery = recover(found, now=1.0, reason=RESTART_REASON, backoff=8.0)
    assert isinstance(recovery.event, JobInterrupted) and not recovery.run


def test_a_stop_asked_for_beats_the_retries():
    from eventjobs.events import JobCancelled

    found = Unfinished(7, running=True, stop_asked=StopAsked("alice"), retries=5)
    recovery = recover(found, now=1.0, reason=RESTART_REASON)
    assert isinstance(recovery.event, JobCancelled) and not recovery.run
