"""Segments, snapshots and a start that does not grow with history."""

from __future__ import annotations

import pytest
import trio

from eventjobs import Settings
from eventjobs.errors import JournalCorrupt
from eventjobs.journal import FileJournal, MemoryJournal
from eventjobs.journal.segments import list_segments
from eventjobs.journal.snapshots import snapshot_paths
from eventjobs.projection import JobTable, fold
from eventjobs.snapshot_codec import encode_header, encode_jobs, encode_snapshot
from tests.journal.contract import SAMPLE_EVENTS, numbered
from tests.support import serve_app, settle, submit


def batches(count):
    """*count* single-record batches of the sample events, numbered from 1."""
    events = [SAMPLE_EVENTS[i % len(SAMPLE_EVENTS)] for i in range(count)]
    return numbered(events)


async def test_a_new_segment_starts_past_the_size_limit(tmp_path):
    """Appends roll over to a new segment named by its first sequence number,
    and reading crosses segments seamlessly."""
    journal = FileJournal.open(tmp_path, segment_bytes=600)
    records = batches(12)
    for record in records:
        await journal.append([record])
    segments = list_segments(tmp_path)
    assert len(segments) > 2
    assert segments[0].first_seq == 1
    assert [r.seq for r in journal.read()] == list(range(1, 13))
    assert [r.event for r in journal.read()] == [r.event for r in records]
    assert next(r.seq for r in journal.read(after=segments[-1].first_seq)) == (
        segments[-1].first_seq + 1
    )
    await journal.aclose()
    reopened = FileJournal.open(tmp_path, segment_bytes=600)
    assert reopened.head == 12
    await reopened.append(numbered(SAMPLE_EVENTS[:1], first=13))
    assert [r.seq for r in reopened.read(after=11)] == [12, 13]
    await reopened.aclose()


async def test_a_missing_middle_segment_is_reported(tmp_path):
    """Removing a whole segment breaks the sequence at the next one."""
    journal = FileJournal.open(tmp_path, segment_bytes=600)
    for record in batches(12):
        await journal.append([record])
    await journal.aclose()
    segments = list_segments(tmp_path)
    segments[1].path.unlink()
    with pytest.raises(JournalCorrupt, match="should begin at sequence number"):
        list(FileJournal.open(tmp_path).read())


@pytest.mark.parametrize("backend", ["memory", "file"])
async def test_snapshot_round_trips(tmp_path, backend):
    """A saved snapshot loads back with its position."""
    journal = MemoryJournal() if backend == "memory" else FileJournal.open(tmp_path)
    await journal.append(batches(3))
    table = fold(journal.read())
    await journal.save_snapshot(3, *encode_snapshot(table))
    position, header, jobs = journal.load_snapshot()
    assert (position, header, list(jobs)) == (
        3,
        encode_header(table),
        list(encode_jobs(table.jobs.values())),
    )
    with pytest.raises(ValueError, match="ahead of the head"):
        await journal.save_snapshot(4, *encode_snapshot(table))
    await journal.aclose()


async def test_edited_snapshot_is_refused(tmp_path):
    """A snapshot whose content does not match its hash is damage."""
    journal = FileJournal.open(tmp_path)
    await journal.append(batches(3))
    await journal.save_snapshot(3, *encode_snapshot(fold(journal.read())))
    (path,) = snapshot_paths(tmp_path)
    path.write_bytes(
        path.read_bytes().replace(b'"last_job_id":', b'"last_job_id":9', 1)
    )
    with pytest.raises(JournalCorrupt, match="does not match its hash"):
        journal.load_snapshot()
    await journal.aclose()


async def test_snapshot_of_another_history_is_refused(tmp_path):
    """A snapshot whose record hash is not the journal's record there is damage."""
    other = FileJournal.open(tmp_path / "other")
    await other.append(numbered(list(reversed(SAMPLE_EVENTS[:3]))))
    await other.save_snapshot(3, *encode_snapshot(JobTable()))
    await other.aclose()
    journal = FileJournal.open(tmp_path / "mine")
    await journal.append(batches(3))
    (path,) = snapshot_paths(tmp_path / "other")
    path.rename(tmp_path / "mine" / path.name)
    with pytest.raises(JournalCorrupt, match="does not match the journal's record"):
        journal.load_snapshot()
    await journal.aclose()


async def test_restart_from_a_snapshot_equals_a_full_replay(tmp_path):
    """The views rebuilt from the newest snapshot plus the tail equal those of
    a replay of every record."""
    settings = Settings(journal=str(tmp_path), shutdown_timeout=0, segment_bytes=2000)
    journal = FileJournal.open(tmp_path, segment_bytes=2000)
    async with serve_app(settings, journal=journal) as served:
        for n in range(30):
            job_id = await submit(
                served.client, "PUT", "/_admin/echo", data=f"body {n}"
            )
            if n % 3 == 0:
                await wait_done(served, job_id)
                await served.client.put(f"/_api/job/{job_id}")
        await wait_done(served, job_id)
    assert snapshot_paths(tmp_path), "a clean shutdown writes a snapshot"
    full = fold(journal.read())
    await journal.aclose()
    async with serve_app(settings) as restarted:
        assert restarted.runtime.table == full


async def test_start_reads_only_from_the_snapshots_segment_on(tmp_path):
    """A start with a snapshot does not read the segments before the one it
    needs: damage there goes unnoticed by the server (journal verify finds it),
    which shows start-up cost does not grow with history."""
    settings = Settings(journal=str(tmp_path), shutdown_timeout=0, segment_bytes=1500)
    async with serve_app(settings) as served:
        for n in range(20):
            await submit(served.client, "PUT", "/_admin/echo", data=f"body {n}")
        await wait_done(served, 20)
    old = list_segments(tmp_path)[0].path
    old.write_bytes(b"garbage that is not a journal\n" * 3)
    async with serve_app(settings) as restarted:
        assert (await restarted.client.get("/_api/job/20")).status_code == 200
    with pytest.raises(JournalCorrupt):
        list(FileJournal.open(tmp_path).read())


async def wait_done(served, job_id):
    with trio.fail_after(10):  # the file journal syncs in a worker thread
        while (await served.client.get(f"/_api/job/{job_id}")).status_code == 204:
            await trio.sleep(0.005)
    await settle()


async def test_records_are_read_back_alone_by_location(tmp_path):
    """append and read report the same location for a record, across
    segments, and read_at gives that record back."""
    journal = FileJournal.open(tmp_path, segment_bytes=600)
    records = batches(9)
    appended = []
    for record in records:
        appended += await journal.append([record])
    read = [r.location for r in journal.read()]
    assert appended == read and len(set(read)) == 9
    assert len(list_segments(tmp_path)) > 1
    for record, where in zip(records, appended, strict=True):
        assert journal.read_at(where) == record
    await journal.aclose()


async def test_a_damaged_record_read_back_alone_is_reported(tmp_path):
    """read_at checks the record's own hash."""
    journal = FileJournal.open(tmp_path)
    first, _second = await journal.append(batches(2))
    await journal.aclose()
    (segment,) = list_segments(tmp_path)
    segment.path.write_bytes(segment.path.read_bytes().replace(b'"POST"', b'"PUSH"', 1))
    journal = FileJournal.open(tmp_path)  # only the last record is checked here
    with pytest.raises(JournalCorrupt, match="does not match its hash"):
        journal.read_at(first)
    await journal.aclose()
