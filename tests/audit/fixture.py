"""A fixed journal for the audit tests: fixed events, fixed times, no clock.

Three users' jobs covering every event type: a job run, fetched; a job
cancelled while queued and then deleted; a fire-and-forget job; a job
interrupted; a job requeued and still queued; a job running; a job deleted
by retention; a binary body.
"""

from __future__ import annotations

from pathlib import Path

import trio

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
from eventjobs.journal import FileJournal, Recorded

T0 = 1_764_417_600.0  # 2025-11-29T12:00:00Z
JSON = (("content-type", "application/json; charset=utf-8"),)


def _queued(
    job: int,
    at: float,
    owner: str | None,
    method: str,
    path: str,
    *,
    query: str = "",
    body: bytes = b"",
    store: bool = True,
) -> JobQueued:
    return JobQueued(
        job_id=job,
        time=T0 + at,
        owner=owner,
        store=store,
        request=RecordedRequest(
            method=method,
            path=path,
            query_string=query,
            headers=(("host", "127.0.0.1:8529"),),
            body=body,
            client="192.0.2.7",
        ),
    )


def _ok(body: bytes) -> RecordedResponse:
    return RecordedResponse(status=200, headers=JSON, body=body)


EVENTS: tuple[Event, ...] = (
    _queued(1, 0.0, "alice", "POST", "/_admin/sleep", query="duration=2"),
    JobStarted(job_id=1, time=T0 + 0.25),
    _queued(
        2,
        1.0,
        "bob",
        "PUT",
        "/_db/shop/_api/cursor",
        body=b'{"query":"FOR d IN c RETURN d"}',
    ),
    JobDone(
        job_id=1,
        time=T0 + 2.25,
        response=_ok(b'{"code":200,"duration":2,"error":false}'),
    ),
    JobCancelled(
        job_id=2,
        time=T0 + 3.0,
        by="root",
        response=RecordedResponse(
            status=410, headers=JSON, body=b'{"code":410,"error":true}'
        ),
    ),
    JobFetched(job_id=1, time=T0 + 4.0, by="alice"),
    _queued(
        3, 5.0, None, "POST", "/_api/document/c", body=b"\xff\xfe binary", store=False
    ),
    JobStarted(job_id=3, time=T0 + 5.5),
    JobDone(job_id=3, time=T0 + 6.0, response=_ok(b'{"_key":"1"}')),
    _queued(4, 7.0, "alice", "GET", "/_admin/sleep", query="duration=60"),
    JobStarted(job_id=4, time=T0 + 8.0),
    JobInterrupted(
        job_id=4,
        time=T0 + 10.0,
        reason="the server stopped while the job ran",
        response=RecordedResponse(status=503, headers=JSON, body=b'{"code":503}'),
    ),
    JobDeleted(job_id=2, time=T0 + 11.0, by="bob", reason="id"),
    _queued(5, 12.0, "bob", "POST", "/_api/import", body=b"[1,2,3]"),
    JobStarted(job_id=5, time=T0 + 12.5),
    JobRequeued(job_id=5, time=T0 + 13.0, reason="found running at start-up"),
    _queued(6, 14.0, "carol", "GET", "/_api/version"),
    JobStarted(job_id=6, time=T0 + 14.5),
    JobDone(job_id=6, time=T0 + 15.0, response=_ok(b'{"version":"3.12"}')),
    JobDeleted(job_id=4, time=T0 + 20.0, by=None, reason="ttl"),
    _queued(7, 21.0, "carol", "GET", "/_admin/sleep", query="duration=5"),
    JobStarted(job_id=7, time=T0 + 21.5),
)


def records() -> list[Recorded]:
    return [Recorded(seq, event) for seq, event in enumerate(EVENTS, start=1)]


def write_journal(directory: Path, *, segment_bytes: int = 8 << 20) -> Path:
    """Write :data:`EVENTS` as a file journal in *directory*; return it."""

    async def write() -> None:
        journal = FileJournal.open(directory, segment_bytes=segment_bytes)
        try:
            for record in records():  # one batch each, as the server mostly does
                await journal.append([record])
        finally:
            await journal.aclose()

    trio.run(write)
    return directory


def write_pruned_journal(directory: Path) -> int:
    """:data:`EVENTS` in small segments, snapshot at the end, old segments
    pruned; return the last pruned sequence number."""
    from eventjobs.journal.pruning import prune
    from eventjobs.projection import fold
    from eventjobs.snapshot_codec import encode_snapshot

    write_journal(directory, segment_bytes=1500)

    async def snapshot() -> None:
        journal = FileJournal.open(directory)
        try:
            await journal.save_snapshot(len(EVENTS), *encode_snapshot(fold(records())))
        finally:
            await journal.aclose()

    trio.run(snapshot)
    return prune(directory, before=T0 + 1000).through_seq
