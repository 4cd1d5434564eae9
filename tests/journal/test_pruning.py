"""eventjobs journal prune: old segments go, what remains stays verifiable."""

from __future__ import annotations

import subprocess
import sys

import pytest
import trio

from eventjobs.errors import ConfigError, JournalCorrupt
from eventjobs.journal import FileJournal
from eventjobs.journal.pruning import prune
from eventjobs.journal.segments import list_segments, read_records
from eventjobs.projection import fold
from eventjobs.snapshot_codec import encode_snapshot
from tests.journal.contract import SAMPLE_EVENTS, numbered

#: SAMPLE_EVENTS[:3] is queued, started, done of job 1 at about this time.
SAMPLE_TIME = 1_700_000_000


async def journal_with_snapshot(directory, count=12, snapshot=True):
    """*count* records over several small segments, snapshotted at the head."""
    journal = FileJournal.open(directory, segment_bytes=600)
    records = numbered([SAMPLE_EVENTS[i % 3] for i in range(count)])
    for record in records:
        await journal.append([record])
    if snapshot:
        header, jobs = encode_snapshot(fold(records[:3]))
        await journal.save_snapshot(count, header | {"position": count}, jobs)
    await journal.aclose()
    return records


async def test_prune_archives_covered_segments_and_checkpoints_the_rest(tmp_path):
    """Old segments move to the archive; the journal then reads from the
    checkpoint on, and the archive verifies on its own."""
    journal_dir, archive = tmp_path / "journal", tmp_path / "archive"
    records = await journal_with_snapshot(journal_dir)
    before = list_segments(journal_dir)
    result = prune(journal_dir, before=SAMPLE_TIME + 10**6, archive=archive)
    assert [p.name for p in result.segments] == [s.path.name for s in before[:-1]]
    kept = list_segments(journal_dir)
    assert kept == [
        type(kept[0])(journal_dir / before[-1].path.name, before[-1].first_seq)
    ]
    assert result.through_seq == before[-1].first_seq - 1
    tail = list(read_records(journal_dir, after=result.through_seq))
    assert [r.event for r in tail] == [r.event for r in records[result.through_seq :]]
    archived = list(read_records(archive))
    assert [r.seq for r in archived] == list(range(1, result.through_seq + 1))


async def test_a_pruned_journal_reopens_at_its_head(tmp_path):
    """A server's journal still opens after pruning, head unchanged."""
    await journal_with_snapshot(tmp_path)
    prune(tmp_path, before=SAMPLE_TIME + 10**6)
    journal = FileJournal.open(tmp_path)
    assert journal.head == 12
    assert journal.load_snapshot()[0] == 12
    await journal.aclose()


async def test_nothing_newer_than_before_is_pruned(tmp_path):
    """Segments whose last record is at or after --before stay."""
    await journal_with_snapshot(tmp_path)
    assert prune(tmp_path, before=SAMPLE_TIME).segments == ()


async def test_prune_without_a_snapshot_is_refused(tmp_path):
    """Without a snapshot every record is needed at start: nothing may go."""
    await journal_with_snapshot(tmp_path, snapshot=False)
    with pytest.raises(ConfigError, match="no snapshot yet"):
        prune(tmp_path, before=SAMPLE_TIME + 10**6)


async def test_segments_removed_by_hand_are_reported(tmp_path):
    """A journal whose first segment vanished without a checkpoint is damage."""
    await journal_with_snapshot(tmp_path)
    list_segments(tmp_path)[0].path.unlink()
    with pytest.raises(JournalCorrupt, match="there is no checkpoint"):
        list(read_records(tmp_path))


def prune_command(*args: str) -> subprocess.CompletedProcess[str]:
    """``eventjobs journal prune ARGS`` in a child process (blocks: run it in a thread)."""
    return subprocess.run(
        [sys.executable, "-m", "eventjobs", "journal", "prune", *args],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )


async def test_prune_command_reports_what_it_did(tmp_path):
    """The CLI prints the segments it moved and exits 0."""
    await journal_with_snapshot(tmp_path / "j")
    done = await trio.to_thread.run_sync(
        prune_command,
        str(tmp_path / "j"),
        "--before",
        "2100-01-01",
        "--archive",
        str(tmp_path / "a"),
    )
    assert done.returncode == 0, done.stderr
    assert "moved to" in done.stdout and "checkpointed" in done.stdout
    bad = await trio.to_thread.run_sync(
        prune_command, str(tmp_path / "j"), "--before", "soon"
    )
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1 and "is not a time" in bad.stderr
