"""Big and binary bodies in the file journal: exact, compact, and old lines
still read."""

from __future__ import annotations

import json
import os

import pytest

from eventjobs.codec import encode_event
from eventjobs.events import JobDone, JobQueued, RecordedRequest, RecordedResponse
from eventjobs.journal import FileJournal, Recorded
from eventjobs.journal.lines import GENESIS_HASH, encode_record, seal
from eventjobs.journal.segments import list_segments

MIB = 1 << 20

#: A record as eventjobs wrote it before bodies of control characters were
#: stored as base64: zero bytes (and non-ASCII text) as ``\u`` escapes.
OLD_LINE = (
    b'{"seq":1,"prev":"0000000000000000000000000000000000000000000000000000000000000000",'
    b'"type":"done","v":1,"job":1,"time":1764412345.25,"response":{"status":200,'
    b'"headers":[["content-type","application/octet-stream"]],"body":{"encoding":"utf-8",'
    b'"data":"\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000'
    b'\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000gr\\u00fc\\u00dfe"}},'
    b'"hash":"85afa9a9c6fe2bcbfb8118aed243c09f4faacbef0cb332ebfd63e6af881420db"}\n'
)


def done(body: bytes, job_id: int = 1) -> JobDone:
    return JobDone(
        job_id=job_id,
        time=1_764_412_345.25,
        response=RecordedResponse(
            status=200,
            headers=(("content-type", "application/octet-stream"),),
            body=body,
        ),
    )


def queued(body: bytes, job_id: int = 1) -> JobQueued:
    return JobQueued(
        job_id=job_id,
        time=1_764_412_345.0,
        owner="grüße",  # non-ASCII elsewhere in the record: json's spelling
        store=True,
        request=RecordedRequest(method="PUT", path="/_admin/echo", body=body),
    )


BODIES = {
    "zero bytes": b"\x00" * MIB,
    "random": os.urandom(MIB),
    "text": b"plain text " * (MIB // 11),
    "json": b'{"a": "b"}' * (MIB // 10),
    "non-ascii": ("Grüße, 事件 😀 " * (MIB // 24)).encode(),
}


async def test_a_journal_of_the_old_body_spelling_still_reads(tmp_path):
    """Lines written before the change read back as they were, and the
    journal goes on after them in the new spelling."""
    (tmp_path / "segment-00000000000000000001.jsonl").write_bytes(OLD_LINE)
    journal = FileJournal.open(tmp_path)
    (record,) = journal.read()
    assert record.event.response.body == b"\x00" * 16 + "grüße".encode()
    await journal.append([Recorded(2, done(b"\x00" * 1000, job_id=2))])
    assert [r.event.response.body for r in journal.read()] == [
        b"\x00" * 16 + "grüße".encode(),
        b"\x00" * 1000,
    ]
    await journal.aclose()
    assert b'"encoding":"base64"' in list_segments(tmp_path)[0].path.read_bytes()


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
async def test_big_bodies_come_back_exactly_in_at_most_4_3_of_their_size(
    tmp_path, body
):
    """A request and a result of 1 MiB each: the segment holds both in at
    most 4/3 of their size plus the records' fields, and they read back
    byte for byte, also after a restart. (Zero bytes spelled as text took
    6 times their size.)"""
    journal = FileJournal.open(tmp_path)
    await journal.append([Recorded(1, queued(body)), Recorded(2, done(body))])
    await journal.aclose()
    size = list_segments(tmp_path)[0].path.stat().st_size
    assert size <= 2 * len(body) * 4 / 3 + 1024, size / len(body)
    reopened = FileJournal.open(tmp_path)
    first, second = reopened.read()
    assert first.event.request.body == body
    assert second.event.response.body == body
    assert reopened.read_at(second.location).event.response.body == body
    await reopened.aclose()


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
@pytest.mark.parametrize("event", [queued, done])
def test_a_big_bodys_line_is_the_sealed_dict_byte_for_byte(event, body):
    """Writing the body into the line (not serialising it as a str) gives
    exactly the line ``seal`` gives for the whole record, and its hash."""
    record = Recorded(7, event(body))
    whole = seal({"seq": 7, "prev": GENESIS_HASH, **encode_event(record.event)})
    assert encode_record(record, GENESIS_HASH) == whole


def test_the_marks_text_in_a_header_does_not_confuse_the_line():
    """A header value that looks like the body's place holder: the line is
    still the sealed dict (the record is then serialised the plain way)."""
    from eventjobs.journal import lines

    mark = lines._BODY_MARK
    request = RecordedRequest(
        method="PUT", path="/", headers=(("x-mark", mark),), body=b"\x00" * MIB
    )
    record = Recorded(
        1, JobQueued(job_id=1, time=1.0, owner=None, store=True, request=request)
    )
    line, digest = encode_record(record, GENESIS_HASH)
    assert (line, digest) == seal(
        {"seq": 1, "prev": GENESIS_HASH, **encode_event(record.event)}
    )
    assert json.loads(line)["request"]["headers"] == [["x-mark", mark]]


def test_what_orjson_reads_otherwise_is_read_as_json_reads_it(tmp_path):
    """Reading goes through orjson, which gives floats for integers beyond
    64 bits: such a record (valid, if absurd) still reads exactly, by the
    full reading and by a stored result's read-back."""
    from eventjobs.journal.lines import parse_record
    from eventjobs.journal.segments import location, read_at

    job_id = 2**70
    event = encode_event(done(b"\x01" * 100_000, job_id=1))
    line, _digest = seal({"seq": 1, "prev": GENESIS_HASH, **event, "job": job_id})
    (tmp_path / "segment-00000000000000000001.jsonl").write_bytes(bytes(line) + b"\n")
    record, _ = parse_record(bytes(line), "here", 1, GENESIS_HASH)
    assert record.event.job_id == job_id
    assert read_at(tmp_path, location(1, 0)).event.job_id == job_id
