"""The retry rules (eventjobs.retries) and the ``retrying`` event in the
lifecycle and the journal's lines."""

from __future__ import annotations

import pytest

from eventjobs.codec import decode_event, encode_event
from eventjobs.errors import CodecError, IllegalTransition
from eventjobs.events import JobQueued, JobRetrying, JobStarted, RecordedRequest
from eventjobs.lifecycle import QUEUED, RUNNING, transition
from eventjobs.retries import attempts_left, backoff, unsafe_reason

RETRYING = JobRetrying(
    job_id=3, time=10.0, attempt=2, reason="server_error", status=502, not_before=14.0
)


def test_the_back_off_doubles_scaled_by_the_jitter_and_capped():
    assert [backoff(k, 1.0, 1.0, 1e9) for k in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff(3, 2.0, 0.0, 1e9) == 4.0  # half of 2 * 2**2
    assert backoff(30, 1.0, 1.0, 3600.0) == 3600.0
    assert backoff(1000, 1.0, 1.0, 60.0) == 60.0  # no overflow


def test_attempts_left():
    assert attempts_left(1, 1) and not attempts_left(2, 1)
    assert not attempts_left(1, 0)


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"])
def test_idempotent_methods_may_retry(method):
    assert unsafe_reason(method, rerun_safe=False, idempotency_key=False) is None


def test_a_post_may_retry_only_when_rerun_safe_or_keyed():
    assert unsafe_reason("POST", rerun_safe=False, idempotency_key=False)
    assert unsafe_reason("POST", rerun_safe=True, idempotency_key=False) is None
    assert unsafe_reason("PATCH", rerun_safe=False, idempotency_key=True) is None


def test_retrying_takes_a_running_job_back_to_the_queue():
    step = transition(RUNNING, RETRYING, visible=True, cancelling=True)
    assert (step.phase, step.visible, step.cancelling) == (QUEUED, True, False)
    assert step.holder_only
    with pytest.raises(IllegalTransition):
        transition(QUEUED, RETRYING, visible=True)


def test_the_retry_events_round_trip():
    assert decode_event(encode_event(RETRYING)) == RETRYING
    started = JobStarted(job_id=3, time=1.0, attempt=4)
    assert decode_event(encode_event(started)) == started
    assert "attempt" not in encode_event(JobStarted(job_id=3, time=1.0))
    request = RecordedRequest(method="GET", path="/x")
    queued = JobQueued(
        job_id=3,
        time=1.0,
        owner=None,
        store=True,
        request=request,
        retries=4,
        retry_delay=2.5,
    )
    data = encode_event(queued)
    assert (data["retries"], data["retry_delay"]) == (4, 2.5)
    assert decode_event(data) == queued
    plain = encode_event(
        JobQueued(job_id=3, time=1.0, owner=None, store=True, request=request)
    )
    assert "retries" not in plain and "retry_delay" not in plain


@pytest.mark.parametrize(
    "field, value", [("attempt", 0), ("status", 42), ("not_before", "soon")]
)
def test_a_damaged_retrying_line_is_refused(field, value):
    data = encode_event(RETRYING)
    data[field] = value
    with pytest.raises(CodecError, match=field):
        decode_event(data)


def test_a_damaged_retries_field_is_refused():
    request = RecordedRequest(method="GET", path="/x")
    data = encode_event(
        JobQueued(
            job_id=3, time=1.0, owner=None, store=True, request=request, retries=2
        )
    )
    data["retries"] = 21
    with pytest.raises(CodecError, match="retries"):
        decode_event(data)
