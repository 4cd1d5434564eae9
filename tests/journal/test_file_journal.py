"""The file journal's own duties: damage detection, the lock, failed writes.

The shared behaviour (append, read, conflicts, reopen) is in the contract
suite; these tests edit the files on disk the way crashes, disks and people
do, and check that nothing is skipped silently.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import eventjobs.journal.file as file_module
from eventjobs.journal import lines
from eventjobs.codec import encode_event
from eventjobs.events import JobFetched
from tests import strategies
from eventjobs.errors import ConfigError, JournalCorrupt, JournalUnavailable
from eventjobs.journal import FileJournal
from tests.journal.contract import SAMPLE_EVENTS, numbered

# SAMPLE_EVENTS[2] is a `done` whose body is "\u2603 snow": line 3 of the file.
EDITABLE_LINE = 3


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "journal"


async def write_sample(directory: Path) -> Path:
    """Write SAMPLE_EVENTS (in two batches) and close; return the segment file."""
    journal = FileJournal.open(directory)
    try:
        await journal.append(numbered(SAMPLE_EVENTS[:3]))
        await journal.append(numbered(SAMPLE_EVENTS[3:], first=4))
    finally:
        await journal.aclose()
    (segment,) = file_module.segment_paths(directory)
    return segment


def read_lines(segment: Path) -> list[bytes]:
    return segment.read_bytes().splitlines(keepends=True)


def write_lines(segment: Path, lines: list[bytes]) -> None:
    segment.write_bytes(b"".join(lines))


async def read_error(directory: Path) -> str:
    """Open the journal, read it all, and return the JournalCorrupt message."""
    journal = FileJournal.open(directory)
    try:
        with pytest.raises(JournalCorrupt) as raised:
            list(journal.read())
    finally:
        await journal.aclose()
    return str(raised.value)


class FaultyOs:
    """The ``os`` module as eventjobs.journal.file sees it, with a failing call.

    ``write`` (and ``writev``) can write only part of the data and then fail with ENOSPC (a
    disk filling up mid-batch); ``fdatasync`` can fail with ENOSPC after the
    data was written.
    """

    def __init__(self, *, fail_write: bool = False, fail_sync: bool = False) -> None:
        self.fail_write = fail_write
        self.fail_sync = fail_sync
        self.writes = 0

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)

    def write(self, fd: int, data: bytes) -> int:
        if self.fail_write:
            self.writes += 1
            if self.writes > 1:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return os.write(fd, bytes(data)[: len(data) // 2])
        return os.write(fd, data)

    def writev(self, fd: int, buffers: list[bytes]) -> int:
        if self.fail_write:
            return self.write(fd, b"".join(buffers))
        return os.writev(fd, buffers)

    def fdatasync(self, fd: int) -> None:
        if self.fail_sync:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        os.fdatasync(fd)


# -- a torn final line --------------------------------------------------------------


async def append_torn_record(directory: Path) -> tuple[Path, int]:
    """Write the sample plus half a record; return the segment and the cut offset."""
    segment = await write_sample(directory)
    whole = segment.stat().st_size
    with segment.open("ab") as file:
        file.write(b'{"seq":9,"prev":"0123456789abcdef","type":"star')
    return segment, whole


async def test_torn_final_line_is_cut_off_at_open(directory):
    """A final line without newline is removed when the journal is opened."""
    segment, whole = await append_torn_record(directory)
    journal = FileJournal.open(directory)
    await journal.aclose()
    assert segment.stat().st_size == whole


async def test_records_before_torn_line_read_fine(directory):
    """After the cut, every earlier record reads back and the head is the last whole one."""
    await append_torn_record(directory)
    journal = FileJournal.open(directory)
    try:
        assert journal.head == len(SAMPLE_EVENTS)
        assert list(journal.read()) == numbered(SAMPLE_EVENTS)
    finally:
        await journal.aclose()


async def test_torn_line_cut_warns_with_file_and_byte_offset(directory, caplog):
    """The cut is logged as a warning naming the segment file and the byte offset."""
    segment, whole = await append_torn_record(directory)
    with caplog.at_level(logging.WARNING, logger="eventjobs.journal"):
        journal = FileJournal.open(directory)
        await journal.aclose()
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert str(segment) in warning.getMessage()
    assert f"byte offset {whole}" in warning.getMessage()


async def test_appending_after_torn_line_cut_continues_the_chain(directory):
    """The next record after a cut gets the next number and the whole file reads."""
    await append_torn_record(directory)
    journal = FileJournal.open(directory)
    try:
        extra = numbered(SAMPLE_EVENTS[:1], first=len(SAMPLE_EVENTS) + 1)
        await journal.append(extra)
        assert list(journal.read()) == numbered(SAMPLE_EVENTS) + extra
    finally:
        await journal.aclose()


async def test_torn_first_record_leaves_empty_journal(directory):
    """A segment holding only half a record opens as an empty journal."""
    journal = FileJournal.open(directory)
    await journal.aclose()
    (segment,) = file_module.segment_paths(directory)
    segment.write_bytes(b'{"seq":1,"prev":"00')
    journal = FileJournal.open(directory)
    try:
        assert journal.head == 0
        assert list(journal.read()) == []
    finally:
        await journal.aclose()


# -- damage detected by read() ---------------------------------------------------------


async def test_edited_body_byte_is_reported_at_its_line(directory):
    """One changed character in a body (JSON still valid) is reported at that record."""
    segment = await write_sample(directory)
    lines = read_lines(segment)
    assert b"snow" in lines[EDITABLE_LINE - 1]
    lines[EDITABLE_LINE - 1] = lines[EDITABLE_LINE - 1].replace(b"snow", b"snoW")
    write_lines(segment, lines)
    message = await read_error(directory)
    assert str(segment) in message
    assert f"line {EDITABLE_LINE}, sequence number {EDITABLE_LINE}" in message
    assert "does not match its hash" in message


async def test_edited_last_record_is_refused_at_open(directory):
    """A changed character in the final record (nothing chains after it) is caught too."""
    segment = await write_sample(directory)
    lines = read_lines(segment)
    assert b'"reason":"expired"' in lines[-1]
    lines[-1] = lines[-1].replace(b'"reason":"expired"', b'"reason":"expirex"')
    write_lines(segment, lines)
    with pytest.raises(JournalCorrupt) as raised:
        await (FileJournal.open(directory)).aclose()
    message = str(raised.value)
    assert str(segment) in message
    assert f"line {len(lines)}, sequence number {len(lines)}" in message
    assert "does not match its hash" in message


async def test_replaced_middle_record_breaks_the_chain(directory):
    """A middle record replaced by a self-consistent one is reported where the chain breaks."""
    segment = await write_sample(directory)
    content = read_lines(segment)
    # A well-formed record 3 (correct seq and own hash) chained to the wrong
    # predecessor: what a forger without the previous hash would write.
    forged, _ = lines.seal(
        {"seq": 3, "prev": "f" * 64, **encode_event(SAMPLE_EVENTS[2])}
    )
    content[2] = forged + b"\n"
    write_lines(segment, content)
    message = await read_error(directory)
    assert str(segment) in message
    assert "line 3, sequence number 3" in message
    assert "hash chain is broken" in message


async def test_deleted_middle_line_is_reported(directory):
    """A removed line is reported where the sequence jumps."""
    segment = await write_sample(directory)
    lines = read_lines(segment)
    del lines[1]
    write_lines(segment, lines)
    message = await read_error(directory)
    assert str(segment) in message
    assert "line 2:" in message
    assert "sequence number 3 where 2 was expected" in message


async def test_swapped_lines_are_reported(directory):
    """Two records in the wrong order are reported at the first of them."""
    segment = await write_sample(directory)
    lines = read_lines(segment)
    lines[1], lines[2] = lines[2], lines[1]
    write_lines(segment, lines)
    message = await read_error(directory)
    assert str(segment) in message
    assert "line 2:" in message
    assert "sequence number 3 where 2 was expected" in message


async def test_truncated_middle_line_is_reported(directory):
    """A middle line cut short (its newline kept) is reported as not JSON."""
    segment = await write_sample(directory)
    lines = read_lines(segment)
    lines[2] = lines[2][: len(lines[2]) // 2] + b"\n"
    write_lines(segment, lines)
    message = await read_error(directory)
    assert str(segment) in message
    assert "line 3 " in message
    assert "expected sequence number 3" in message
    assert "not valid JSON" in message


async def test_line_that_is_not_json_is_reported(directory):
    """A line of garbage is reported with its line and expected sequence number."""
    segment = await write_sample(directory)
    lines = read_lines(segment)
    lines[2] = b"this is not a journal record\n"
    write_lines(segment, lines)
    message = await read_error(directory)
    assert str(segment) in message
    assert "line 3 " in message
    assert "expected sequence number 3" in message
    assert "not valid JSON" in message


async def test_damage_in_the_segment_of_a_read_is_reported(directory):
    """read(after=k) checks the whole segment holding record k+1, so damage
    before k in it is reported, not skipped."""
    segment = await write_sample(directory)
    content = read_lines(segment)
    del content[1]
    write_lines(segment, content)
    journal = FileJournal.open(directory)
    try:
        with pytest.raises(JournalCorrupt, match="line 2"):
            list(journal.read(after=5))
    finally:
        await journal.aclose()


def chained_lines(records: list[dict[str, object]]) -> bytes:
    """Journal lines for raw event dicts, with a correct seq and hash chain."""
    out, prev = [], lines.GENESIS_HASH
    for seq, data in enumerate(records, start=1):
        line, prev = lines.seal({"seq": seq, "prev": prev, **data})
        out.append(line + b"\n")
    return b"".join(out)


UNDECODABLE = {
    "unknown-type": {"type": "exploded", "v": 1, "job": 1, "time": 1.0},
    "time-beyond-float": {"type": "started", "v": 1, "job": 1, "time": 10**400},
    "utf8-body-with-lone-surrogate": {
        "type": "done",
        "v": 1,
        "job": 1,
        "time": 1.0,
        "response": {
            "status": 200,
            "headers": [],
            "body": {"encoding": "utf-8", "data": "\ud800"},
        },
    },
}


@pytest.mark.parametrize("data", UNDECODABLE.values(), ids=UNDECODABLE.keys())
async def test_chained_record_that_does_not_decode_is_reported(directory, data):
    """A record with intact hashes but an undecodable event raises JournalCorrupt, nothing else."""
    journal = FileJournal.open(directory)
    await journal.aclose()
    (segment,) = file_module.segment_paths(directory)
    queued = encode_event(SAMPLE_EVENTS[0])
    segment.write_bytes(chained_lines([queued, data, queued]))
    message = await read_error(directory)
    assert str(segment) in message
    assert "line 2, sequence number 2" in message


# -- where the journal may live ------------------------------------------------------------


async def test_directory_open_elsewhere_is_refused(directory):
    """A second FileJournal on a locked directory raises ConfigError."""
    journal = FileJournal.open(directory)
    try:
        with pytest.raises(ConfigError, match="in use by another eventjobs server"):
            FileJournal.open(directory)
    finally:
        await journal.aclose()


async def test_directory_can_be_opened_again_after_close(directory):
    """Closing a journal releases its lock."""
    journal = FileJournal.open(directory)
    await journal.aclose()
    journal = FileJournal.open(directory)
    await journal.aclose()


def test_regular_file_path_is_refused(tmp_path):
    """A journal path that is a regular file raises ConfigError."""
    path = tmp_path / "not-a-directory"
    path.write_text("hello")
    with pytest.raises(ConfigError, match="not-a-directory"):
        FileJournal.open(path)


# -- failing writes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"fail_write": True}, id="write-partway"),
        pytest.param({"fail_sync": True}, id="fdatasync"),
    ],
)
async def test_failed_write_raises_journal_unavailable(directory, monkeypatch, fault):
    """An OS error while appending raises JournalUnavailable naming the cause."""
    journal = FileJournal.open(directory)
    try:
        await journal.append(numbered(SAMPLE_EVENTS[:3]))
        monkeypatch.setattr(file_module, "os", FaultyOs(**fault))
        with pytest.raises(JournalUnavailable, match="No space left on device"):
            await journal.append(numbered(SAMPLE_EVENTS[3:], first=4))
    finally:
        monkeypatch.undo()
        await journal.aclose()


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"fail_write": True}, id="write-partway"),
        pytest.param({"fail_sync": True}, id="fdatasync"),
    ],
)
async def test_failed_write_leaves_no_partial_record(directory, monkeypatch, fault):
    """After a failed append the file holds exactly the earlier records and reads cleanly."""
    journal = FileJournal.open(directory)
    try:
        await journal.append(numbered(SAMPLE_EVENTS[:3]))
        (segment,) = file_module.segment_paths(directory)
        before = segment.read_bytes()
        faulty = FaultyOs(**fault)
        monkeypatch.setattr(file_module, "os", faulty)
        with pytest.raises(JournalUnavailable):
            await journal.append(numbered(SAMPLE_EVENTS[3:], first=4))
        monkeypatch.undo()
        if fault.get("fail_write"):
            assert faulty.writes == 2, "the fault was not injected partway"
        assert segment.read_bytes() == before
        assert journal.head == 3
        assert list(journal.read()) == numbered(SAMPLE_EVENTS[:3])
    finally:
        monkeypatch.undo()
        await journal.aclose()


async def test_closing_twice_is_harmless_and_append_after_close_fails(directory):
    """A closed journal stays closed: a second close does nothing, and an
    append is refused instead of writing into a reused descriptor."""
    journal = FileJournal.open(directory)
    await journal.aclose()
    await journal.aclose()
    with pytest.raises(JournalUnavailable):
        await journal.append(numbered(SAMPLE_EVENTS[:1]))


# -- the line encoding: the fast serialiser writes the documented bytes ----------


def _reference_line(seq: int, prev: str, data: dict) -> bytes:
    """The line as docs/journal-format.md defines it, with the stdlib."""
    unsealed = json.dumps(
        {"seq": seq, "prev": prev, **data}, separators=(",", ":")
    ).encode()
    digest = hashlib.sha256(unsealed).hexdigest()
    return unsealed[:-1] + b',"hash":"' + digest.encode() + b'"}'


@given(strategies.events, st.integers(min_value=1, max_value=2**63 - 1))
def test_encoded_line_is_byte_for_byte_the_documented_json(event, seq):
    """The fast serialiser writes exactly the documented bytes, for any event."""
    data = encode_event(event)
    line, _ = lines.seal({"seq": seq, "prev": lines.GENESIS_HASH, **data})
    assert line == _reference_line(seq, lines.GENESIS_HASH, data)


@pytest.mark.parametrize(
    "time", [0.0, -0.0, 1e-5, 1e-4, 1764412345.25, 1e16, 1.5e300, -2e20]
)
@pytest.mark.parametrize("text", ["ascii", "\x7f", "caf\u00e9", "\ud800", "\U0001f600"])
def test_encoded_line_matches_json_at_float_and_text_edges(time, text):
    """At float and text edges the line still equals json.dumps'."""
    event = JobFetched(job_id=1, time=time, by=text)
    data = encode_event(event)
    line, _ = lines.seal({"seq": 1, "prev": lines.GENESIS_HASH, **data})
    assert line == _reference_line(1, lines.GENESIS_HASH, data)
    assert line.isascii()
