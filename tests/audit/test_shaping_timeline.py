"""``journal show`` and ``journal log`` tell what a client asked of a job's
shape (key, start time, priority) on its ``queued`` line."""

from __future__ import annotations

from eventjobs.audit.timeline import JobInfo, detail
from eventjobs.events import JobQueued, RecordedRequest

REQUEST = RecordedRequest(method="POST", path="/_admin/echo", body=b"x")


def line(**shape: object) -> str:
    event = JobQueued(
        job_id=1, time=100.0, owner=None, store=True, request=REQUEST, **shape
    )
    job = JobInfo(1)
    job.method, job.path = "POST", "/_admin/echo"
    return detail(event, job)


def test_a_plain_submission_reads_as_before():
    assert line().endswith("(1 B body, store)")


def test_the_shape_is_on_the_queued_line():
    text = line(idempotency_key="k-1", not_before=700.0, priority=3)
    assert text.endswith(
        "(1 B body, store, Idempotency-Key k-1, not before +600.000s, priority +3)"
    )
