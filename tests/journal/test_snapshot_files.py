"""Snapshot files: one sealed line per job, read a line at a time; damage
is named by file and line; version 1 files still read."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from eventjobs import Settings
from eventjobs.errors import CodecError, JournalCorrupt
from eventjobs.events import (
    JobCancelled,
    JobDone,
    JobQueued,
    JobStarted,
    RecordedRequest,
    RecordedResponse,
)
from eventjobs.journal import FileJournal, Recorded
from eventjobs.journal.lines import seal
from eventjobs.journal.snapshots import (
    read_snapshot,
    snapshot_paths,
    write_snapshot,
)
from eventjobs.projection import fold
from eventjobs.runtime import Runtime
from eventjobs.snapshot_codec import decode_table, encode_snapshot, encode_table
from tests.journal.contract import numbered

HEADER = {"v": 2, "position": 7, "last_job_id": 3}
JOBS = [
    {"job": 1, "a": [1, 2.5, None]},
    {"job": 2, "text": "caf\u00e9 \udc80"},
    {"job": 3, "end": 9},
]


def write(directory: Path, jobs=JOBS, position=7) -> Path:
    directory.mkdir(exist_ok=True)
    return write_snapshot(directory, position, "ab" * 32, HEADER, iter(jobs))


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def read_all(path: Path) -> list[dict]:
    return list(read_snapshot(path).jobs())


def test_round_trip(tmp_path):
    """Header and entries come back as written, one line each plus two."""
    path = write(tmp_path)
    assert path.name == "snapshot-00000000000000000007.jsonl"
    snapshot = read_snapshot(path)
    assert (snapshot.position, snapshot.record_hash, snapshot.header) == (
        7,
        "ab" * 32,
        HEADER,
    )
    assert list(snapshot.jobs()) == JOBS
    assert len(lines(path)) == len(JOBS) + 2


def test_an_empty_snapshot_round_trips(tmp_path):
    assert read_all(write(tmp_path, jobs=[])) == []


def test_entries_are_read_lazily(tmp_path):
    """An entry is handed out once the line after it is read (the last line
    is the closing one), before the rest: damage further on shows only when
    the iteration gets there."""
    path = write(tmp_path)
    data = lines(path)
    path.write_bytes(b"".join(data[:3]) + data[3].replace(b'"end"', b'"END"') + data[4])
    jobs = read_snapshot(path).jobs()
    assert next(jobs) == JOBS[0]
    with pytest.raises(
        JournalCorrupt, match=r"line 4: the line does not match its hash"
    ):
        next(jobs)


def test_an_edited_line_is_named(tmp_path):
    path = write(tmp_path)
    data = lines(path)
    data[2] = data[2].replace(b"caf", b"cat")
    path.write_bytes(b"".join(data))
    with pytest.raises(JournalCorrupt) as raised:
        read_all(path)
    message = str(raised.value)
    assert f"{path}, line 3: the line does not match its hash" in message
    assert "move the file aside" in message


def test_an_edited_first_line_is_named(tmp_path):
    path = write(tmp_path)
    path.write_bytes(path.read_bytes().replace(b'"position":7', b'"position":8', 1))
    with pytest.raises(
        JournalCorrupt, match=r"line 1: the line does not match its hash"
    ):
        read_snapshot(path)


def test_a_line_that_is_not_json_is_named(tmp_path):
    path = write(tmp_path)
    data = lines(path)
    data[2] = b"not json at all\n"
    path.write_bytes(b"".join(data))
    with pytest.raises(
        JournalCorrupt, match=r"line 3: the line does not match its hash"
    ):
        read_all(path)


@pytest.mark.parametrize(
    "change",
    ["remove", "swap", "duplicate", "foreign"],
)
def test_moved_or_foreign_lines_break_the_closing_digest(tmp_path, change):
    """Each line still matches its own seal; the closing line catches the rest."""
    path = write(tmp_path / "a")
    data = lines(path)
    if change == "remove":
        del data[2]
    elif change == "swap":
        data[1], data[2] = data[2], data[1]
    elif change == "duplicate":
        data.insert(2, data[2])
    else:
        other = lines(write(tmp_path / "b", jobs=[{"job": 1, "a": "other"}] + JOBS[1:]))
        data[1] = other[1]
    path.write_bytes(b"".join(data))
    with pytest.raises(
        JournalCorrupt, match=rf"line {len(data)}: the closing line does not match"
    ):
        read_all(path)


def test_a_file_cut_at_a_line_boundary_is_reported(tmp_path):
    path = write(tmp_path)
    data = lines(path)
    path.write_bytes(b"".join(data[:-1]))
    with pytest.raises(
        JournalCorrupt,
        match=r"line 4: the last line is not a closing line \(the file was cut short\)",
    ):
        read_all(path)


def test_a_file_cut_mid_line_is_reported(tmp_path):
    path = write(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 20])
    with pytest.raises(
        JournalCorrupt,
        match=r"line 5: the line is incomplete \(the file was cut short\)",
    ):
        read_all(path)


def test_a_file_with_only_its_first_line_is_reported(tmp_path):
    path = write(tmp_path)
    path.write_bytes(lines(path)[0])
    with pytest.raises(
        JournalCorrupt, match="ends after its first line, without its closing line"
    ):
        read_all(path)


def test_anything_after_the_closing_line_is_reported(tmp_path):
    path = write(tmp_path)
    data = lines(path)
    path.write_bytes(b"".join(data) + data[1])
    with pytest.raises(
        JournalCorrupt, match=r"line 6: the last line is not a closing line"
    ):
        read_all(path)


def test_entries_may_not_have_a_hash_member(tmp_path):
    with pytest.raises(ValueError, match="named 'hash'"):
        write(tmp_path, jobs=[{"job": 1, "hash": "x"}])
    assert snapshot_paths(tmp_path) == [], "no snapshot (nor temporary file) is left"
    assert list(tmp_path.iterdir()) == []


def test_the_newest_two_are_kept_across_versions(tmp_path):
    """Version 1 files count among the snapshots kept, and are dropped as
    newer ones arrive."""
    old = tmp_path / "snapshot-00000000000000000001.json"
    old.write_bytes(b"{}\n")
    write(tmp_path, position=2)
    assert snapshot_paths(tmp_path)[0] == old
    write(tmp_path, position=3)
    assert [p.name for p in snapshot_paths(tmp_path)] == [
        "snapshot-00000000000000000002.jsonl",
        "snapshot-00000000000000000003.jsonl",
    ]


# -- through the file journal and the runtime ----------------------------------------------

REQUEST = RecordedRequest(method="PUT", path="/_admin/echo", body=b"in")
OK = RecordedResponse(status=200, body=b"out")
HISTORY = [
    JobQueued(job_id=1, time=1.0, owner="alice", store=True, request=REQUEST),
    JobStarted(job_id=1, time=2.0),
    JobDone(job_id=1, time=3.0, response=OK),
    JobQueued(job_id=2, time=4.0, owner=None, store=True, request=REQUEST),
    JobStarted(job_id=2, time=5.0),
    JobQueued(job_id=3, time=6.0, owner=None, store=False, request=REQUEST),
    JobQueued(job_id=4, time=7.0, owner=None, store=True, request=REQUEST),
    JobCancelled(job_id=4, time=8.0, by=None, response=OK),
]


def write_version_1(
    directory: Path, position: int, record_hash: str, table: dict
) -> Path:
    """A snapshot exactly as eventjobs wrote them before version 2."""
    line, _ = seal({"position": position, "record_hash": record_hash, "table": table})
    path = directory / f"snapshot-{position:020d}.json"
    path.write_bytes(line + b"\n")
    return path


async def journal_of(directory: Path) -> tuple[FileJournal, list[Recorded]]:
    """A file journal holding HISTORY, and its records with their locations."""
    journal = FileJournal.open(directory)
    records = numbered(HISTORY)
    locations = await journal.append(records)
    return journal, [
        Recorded(r.seq, r.event, where)
        for r, where in zip(records, locations, strict=True)
    ]


def results(table) -> dict:
    """Where each stored result is: not part of the views' equality."""
    return {job_id: (job.result_at, job.response) for job_id, job in table.jobs.items()}


async def start(directory: Path) -> Runtime:
    runtime = Runtime(Settings(journal=str(directory)), execute=None)  # type: ignore[arg-type]
    await runtime.open()
    return runtime


async def test_a_version_1_snapshot_still_starts_a_server(tmp_path):
    """A snapshot left by an older eventjobs is read (decoded at once) and
    gives the same views as replaying the records."""
    journal, records = await journal_of(tmp_path)
    table = fold(records[:5])
    assert {type(job).__name__ for job in table.jobs.values()} == {
        "FinishedJob",
        "JobView",
    }
    record_hash = journal._hash_of(5)
    await journal.aclose()
    write_version_1(tmp_path, 5, record_hash, {**encode_table(table), "v": 1})
    runtime = await start(tmp_path)
    assert runtime.housekeeping.snapshot_position == 5, (
        "the start began from the snapshot"
    )
    assert runtime.table == fold(records)
    assert results(runtime.table) == results(fold(records))
    await runtime.journal.aclose()


async def test_a_snapshot_start_equals_a_replay(tmp_path):
    journal, records = await journal_of(tmp_path)
    await journal.save_snapshot(6, *encode_snapshot(fold(records[:6])))
    await journal.aclose()
    runtime = await start(tmp_path)
    assert runtime.housekeeping.snapshot_position == 6
    assert runtime.table == fold(records)
    assert results(runtime.table) == results(fold(records))
    await runtime.journal.aclose()


async def test_a_damaged_snapshot_stops_the_start_naming_the_line(tmp_path):
    journal, records = await journal_of(tmp_path)
    await journal.save_snapshot(8, *encode_snapshot(fold(records)))
    await journal.aclose()
    (path,) = snapshot_paths(tmp_path)
    data = lines(path)
    data[1] = data[1].replace(b'"alice"', b'"mallory"')
    path.write_bytes(b"".join(data))
    with pytest.raises(
        JournalCorrupt, match=rf"{path}, line 2: the line does not match its hash"
    ):
        await start(tmp_path)
    # Moved aside, the start replays the segments instead.
    path.rename(tmp_path / "aside")
    runtime = await start(tmp_path)
    assert runtime.table == fold(records)
    await runtime.journal.aclose()


async def test_a_resealed_entry_that_does_not_decode_names_the_entry(tmp_path):
    """An entry that passes its seal but is not a job (edited and sealed
    again) is reported by its number, and the start refused."""
    journal, records = await journal_of(tmp_path)
    header, jobs = encode_snapshot(fold(records))
    jobs = list(jobs)
    jobs[1] = {**jobs[1], "store": "yes"}
    await journal.save_snapshot(8, header, jobs)
    await journal.aclose()
    with pytest.raises(
        JournalCorrupt,
        match=r"does not read \(job entry 2: snapshot job 2: field 'store' has the wrong type",
    ):
        await start(tmp_path)


def test_decode_table_refuses_out_of_order_entries():
    header, jobs = encode_snapshot(fold(numbered(HISTORY)))
    jobs = list(jobs)
    with pytest.raises(CodecError, match="job entry 2: job 1 is out of order"):
        decode_table(header, [jobs[1], jobs[0]])
    with pytest.raises(
        CodecError, match="job entry 2: job 1 is out of order, duplicated"
    ):
        decode_table(header, [jobs[0], jobs[0]])
    with pytest.raises(
        CodecError,
        match="job entry 2: job 2 is out of order, duplicated or above last_job_id 1",
    ):
        decode_table({**header, "last_job_id": 1}, jobs)


async def test_a_snapshot_that_cannot_be_written_is_skipped(
    tmp_path, monkeypatch, caplog
):
    """Disk full while writing a snapshot: the server goes on (a warning says
    why), leaves no partial file, and the next snapshot is written once the
    disk takes writes again."""
    import errno
    import os

    from tests.support import serve_app, settle, submit

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    settings = Settings(journal=str(tmp_path), shutdown_timeout=0)
    async with serve_app(settings) as served:
        job_id = await submit(served.client, "PUT", "/_admin/echo", data=b"one")
        await served.runtime.flush()
        with monkeypatch.context() as patched:
            patched.setattr("eventjobs.journal.snapshots.os.fsync", disk_full)
            with caplog.at_level("WARNING", logger="eventjobs.runtime"):
                await served.runtime.snapshot()
        assert "not written" in caplog.text and "No space left on device" in caplog.text
        assert list(tmp_path.glob("snapshot-*")) == []
        assert (await served.client.get(f"/_api/job/{job_id}")).status_code in (
            200,
            204,
        )
        await settle()
    # The clean shutdown's snapshot, with the disk writable again.
    assert [p.suffix for p in snapshot_paths(tmp_path)] == [".jsonl"]


def test_prune_and_audit_replay_read_a_version_1_snapshot(tmp_path, capsys):
    """A journal whose newest snapshot is version 1 still prunes (the
    snapshot says which segments may go) and replays from that snapshot."""
    import json as json_module

    from eventjobs.journal.pruning import prune
    from tests.audit.fixture import EVENTS, T0, records, write_journal
    from tests.audit.support import run

    whole = write_journal(tmp_path / "whole")
    directory = write_journal(tmp_path / "pruned", segment_bytes=1500)
    table = fold(records())

    async def hash_of_head() -> str:
        journal = FileJournal.open(directory)
        try:
            return journal._hash_of(len(EVENTS))
        finally:
            await journal.aclose()

    write_version_1(
        directory, len(EVENTS), trio.run(hash_of_head), {**encode_table(table), "v": 1}
    )
    assert prune(directory, before=T0 + 1000).through_seq > 0
    expected = json_module.loads(run(capsys, "replay", str(whole), "--json").out)
    result = run(capsys, "replay", str(directory), "--json")
    assert result.status == 0, result
    assert json_module.loads(result.out) == expected


def test_an_edited_version_1_snapshot_is_refused(tmp_path):
    path = write_version_1(
        tmp_path, 3, "ab" * 32, {"v": 1, "position": 3, "last_job_id": 0, "jobs": []}
    )
    assert read_snapshot(path).header == {"v": 1, "position": 3, "last_job_id": 0}
    path.write_bytes(path.read_bytes().replace(b'"last_job_id":0', b'"last_job_id":9'))
    with pytest.raises(
        JournalCorrupt, match=rf"{path}, line 1: the snapshot does not match its hash"
    ):
        read_snapshot(path)
