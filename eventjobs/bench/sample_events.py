"""Realistic events for the benchmarks that bypass HTTP: an echo job's life.

Sizes match what the server records for the submit load of :mod:`.lua`
(a ~170-byte JSON request body, the echo handler's ~450-byte answer).
"""

from __future__ import annotations

from ..events import (
    Event,
    JobDone,
    JobFetched,
    JobQueued,
    JobStarted,
    RecordedRequest,
    RecordedResponse,
)
from .lua import SUBMIT_BODY, SUBMIT_PATH

REQUEST = RecordedRequest(
    method="PUT",
    path=SUBMIT_PATH,
    query_string="",
    headers=(
        ("host", "127.0.0.1:8529"),
        ("content-length", str(len(SUBMIT_BODY))),
        ("content-type", "application/json"),
    ),
    body=SUBMIT_BODY.encode(),
    client="127.0.0.1",
)

RESPONSE = RecordedResponse(
    status=200,
    headers=(("content-type", "application/json; charset=utf-8"),),
    body=(
        b'{"body":'
        + SUBMIT_BODY.replace('"', '\\"').encode()[:200]
        + b'","bodyEncoding":"utf-8",'
        b'"database":"_system","headers":{"content-length":"170","content-type":'
        b'"application/json","host":"127.0.0.1:8529"},"method":"PUT","path":"/_admin/echo",'
        b'"query":{},"user":null}'
    ),
)

#: Events per job in :func:`job_life`.
EVENTS_PER_JOB = 4


def queued(job_id: int, time: float) -> JobQueued:
    return JobQueued(job_id=job_id, time=time, owner=None, store=True, request=REQUEST)


def job_life(job_id: int, time: float) -> list[Event]:
    """queued, started, done, fetched: the four events of a complete job."""
    return [
        queued(job_id, time),
        JobStarted(job_id=job_id, time=time + 0.001),
        JobDone(job_id=job_id, time=time + 0.002, response=RESPONSE),
        JobFetched(job_id=job_id, time=time + 0.003, by=None),
    ]
