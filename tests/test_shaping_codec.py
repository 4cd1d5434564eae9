"""The shape a client asks of a job (idempotency key, start time, priority)
in the journal's lines and in snapshots: written only when asked for, read
back from old lines without it, refused when damaged."""

from __future__ import annotations

import pytest

from eventjobs.codec import decode_event, encode_event
from eventjobs.errors import CodecError
from eventjobs.events import JobQueued, RecordedRequest
from eventjobs.journal import Recorded
from eventjobs.projection import fold
from eventjobs.snapshot_codec import decode_table, encode_snapshot

REQUEST = RecordedRequest(method="POST", path="/_admin/echo", body=b"x")


def queued(job_id: int = 1, **shape: object) -> JobQueued:
    return JobQueued(
        job_id=job_id, time=100.0, owner="alice", store=True, request=REQUEST, **shape
    )


def test_a_plain_submission_is_written_as_before():
    data = encode_event(queued())
    assert set(data) == {"type", "v", "job", "time", "owner", "store", "request"}


def test_an_old_line_reads_with_the_defaults():
    data = encode_event(queued())
    assert decode_event(data) == queued()


def test_the_shape_round_trips():
    event = queued(idempotency_key="k-1", not_before=160.5, priority=-3)
    data = encode_event(event)
    assert (data["idempotency_key"], data["not_before"], data["priority"]) == (
        "k-1",
        160.5,
        -3,
    )
    assert decode_event(data) == event


@pytest.mark.parametrize(
    "field, value",
    [
        ("priority", 11),
        ("priority", "1"),
        ("priority", True),
        ("not_before", "soon"),
        ("idempotency_key", "has space"),
        ("idempotency_key", 7),
        ("idempotency_key", "k" * 256),
    ],
)
def test_a_damaged_shape_is_refused_naming_the_field(field, value):
    data = encode_event(queued())
    data[field] = value
    with pytest.raises(CodecError, match=field):
        decode_event(data)


def test_a_snapshot_keeps_the_keys_and_each_jobs_shape():
    records = [
        Recorded(1, queued(1, idempotency_key="a", priority=4, not_before=200.0)),
        Recorded(2, queued(2)),
    ]
    table = fold(records)
    header, jobs = encode_snapshot(table)
    restored = decode_table(header, list(jobs))
    assert restored.keys == table.keys and list(restored.keys) == [("alice", "a")]
    assert (restored.jobs[1].priority, restored.jobs[1].not_before) == (4, 200.0)
    assert (restored.jobs[2].priority, restored.jobs[2].not_before) == (0, None)
    assert restored == table


def test_a_snapshot_without_keys_has_no_keys_field():
    header, _jobs = encode_snapshot(fold([Recorded(1, queued())]))
    assert "keys" not in header


def test_a_damaged_key_entry_in_a_snapshot_is_refused():
    header, jobs = encode_snapshot(fold([Recorded(1, queued(idempotency_key="a"))]))
    header["keys"][0][5] = "not hex"
    with pytest.raises(CodecError, match="digest"):
        decode_table(header, list(jobs))


def test_a_concurrency_key_round_trips_in_lines_and_snapshots():
    event = queued(concurrency_key="customer-7")
    data = encode_event(event)
    assert data["concurrency_key"] == "customer-7"
    assert decode_event(data) == event
    assert "concurrency_key" not in encode_event(queued())
    header, jobs = encode_snapshot(fold([Recorded(1, event), Recorded(2, queued(2))]))
    restored = decode_table(header, list(jobs))
    assert restored.jobs[1].concurrency_key == "customer-7"
    assert restored.jobs[2].concurrency_key is None


@pytest.mark.parametrize("value", ["has space", 7, "", "k" * 256])
def test_a_damaged_concurrency_key_is_refused(value):
    data = encode_event(queued())
    data["concurrency_key"] = value
    with pytest.raises(CodecError, match="concurrency_key"):
        decode_event(data)
