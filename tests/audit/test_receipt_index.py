"""What makes a receipt cheap: the job index of the tree's leaves, and
lines read one by one from their segment."""

from __future__ import annotations

from array import array

import pytest

from eventjobs.errors import JournalCorrupt
from eventjobs.journal import FileJournal
from eventjobs.journal.file_audit_store import FileAuditStore, find_line
from eventjobs.journal.segments import list_segments
from eventjobs.runtime.job_leaves import NO_JOB, JobLeaves, job_of_line
from tests.journal.contract import SAMPLE_EVENTS, numbered


async def test_each_line_is_found_in_a_long_segment_without_reading_it_through(
    tmp_path,
):
    """Every record of a segment many times the scan size is found by
    halving; records of several segments by their segment."""
    journal = FileJournal.open(tmp_path, segment_bytes=120_000)
    records = numbered([SAMPLE_EVENTS[i % 3] for i in range(900)])
    for start in range(0, len(records), 50):
        await journal.append(records[start : start + 50])
    await journal.aclose()
    segments = list_segments(tmp_path)
    assert len(segments) >= 2 and segments[0].path.stat().st_size > 100_000
    stored = [
        line for segment in segments for line in segment.path.read_bytes().splitlines()
    ]
    store = FileAuditStore(tmp_path)
    seqs = list(range(1, len(stored) + 1))
    assert store.lines_at(seqs) == stored
    with pytest.raises(JournalCorrupt, match="record 901 is not in its segment"):
        find_line(segments[-1].path, 901)


def test_the_job_index_finds_a_jobs_leaves_by_walking_back():
    lines = [
        b'{"seq":%d,"prev":"00","type":"done","v":1,"job":%d,"time":1}' % (n, n % 3)
        for n in range(1, 10)
    ]
    index = JobLeaves(start=5)
    for line in lines:
        index.append(line)
    assert index.size == 14
    assert index.seqs(1) == [6, 9, 12]
    assert index.seqs(1, upto=11) == [6, 9]
    assert index.seqs(0) == [8, 11, 14]
    assert job_of_line(lines[0]) == 1
    # Ids far from the others, of no job, or never seen.
    index.extend(array("q", [10**15, NO_JOB, -3, 10**15]))
    assert index.seqs(10**15) == [15, 18]
    assert index.seqs(-3) == [17]
    assert index.seqs(7) == [] and index.seqs(1 << 70) == []
    assert index.size == 18
