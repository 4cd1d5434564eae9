"""``eventjobs journal verify``: intact journals pass; each kind of damage is
caught at the first bad record, named by file, line and sequence number."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from eventjobs.events import JobFetched
from eventjobs.journal import FileJournal, Recorded
from eventjobs.journal.segments import segment_paths

from .fixture import EVENTS, T0, write_journal, write_pruned_journal
from .support import run, segment_lines


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return write_journal(tmp_path / "journal")


def test_intact_journal_verifies_with_summary(journal, capsys):
    """An untouched journal exits 0 with records, jobs and first/last time."""
    result = run(capsys, "verify", str(journal))
    assert result.status == 0, result
    assert result.out.startswith(
        f"ok: {len(EVENTS)} records (sequence numbers 1 to {len(EVENTS)}), 7 jobs, "
    )
    assert "2025-11-29T12:00:00.000Z to 2025-11-29T12:00:21.500Z" in result.out


def test_edited_byte_is_caught_at_that_record(journal, capsys):
    """Changing one byte of record 5 names line 5, sequence number 5, its hash."""
    path, lines = segment_lines(journal)
    assert b'"by":"root"' in lines[4]
    lines[4] = lines[4].replace(b'"by":"root"', b'"by":"r00t"')
    path.write_bytes(b"".join(lines))
    result = run(capsys, "verify", str(journal))
    assert result.status == 1
    assert (
        f"{path}, line 5, sequence number 5: the record does not match its hash"
        in result.out
    )


def test_edited_last_record_is_caught(journal, capsys):
    """An edit of the newest record is caught too (it seals itself)."""
    path, lines = segment_lines(journal)
    lines[-1] = lines[-1].replace(b'"job":7', b'"job":6')
    path.write_bytes(b"".join(lines))
    result = run(capsys, "verify", str(journal))
    assert result.status == 1
    assert (
        f"line {len(EVENTS)}, sequence number {len(EVENTS)}: the record does not match"
        in result.out
    )


def test_deleted_line_is_caught_where_it_was(journal, capsys):
    """Removing record 5 is reported at line 5, which now holds record 6."""
    path, lines = segment_lines(journal)
    del lines[4]
    path.write_bytes(b"".join(lines))
    result = run(capsys, "verify", str(journal))
    assert result.status == 1
    assert f"{path}, line 5: sequence number 6 where 5 was expected" in result.out


def test_swapped_lines_are_caught_at_the_first(journal, capsys):
    """Swapping records 7 and 8 is reported at line 7."""
    path, lines = segment_lines(journal)
    lines[6], lines[7] = lines[7], lines[6]
    path.write_bytes(b"".join(lines))
    result = run(capsys, "verify", str(journal))
    assert result.status == 1
    assert f"{path}, line 7: sequence number 8 where 7 was expected" in result.out


def test_replaced_record_is_caught_by_the_chain_at_the_next(journal, capsys):
    """A record swapped for another well-sealed record 5 breaks the chain at record 6."""
    path, lines = segment_lines(journal)
    # Record 5 of a journal without the original record 5: sealed, same
    # sequence number, same predecessor, different content.
    other = write_journal_without(path.parent.parent / "other", skip=4)
    _, other_lines = segment_lines(other)
    assert other_lines[4] != lines[4]
    lines[4] = other_lines[4]
    path.write_bytes(b"".join(lines))
    result = run(capsys, "verify", str(journal))
    assert result.status == 1
    assert f"{path}, line 6, sequence number 6: the hash chain is broken" in result.out


def write_journal_without(directory: Path, skip: int) -> Path:
    """EVENTS without the one at index *skip*, as a journal (illegal history allowed)."""
    events = [event for index, event in enumerate(EVENTS) if index != skip]

    async def write() -> None:
        journal = FileJournal.open(directory)
        try:
            await journal.append(
                [Recorded(seq, e) for seq, e in enumerate(events, start=1)]
            )
        finally:
            await journal.aclose()

    trio.run(write)
    return directory


def test_truncated_middle_segment_is_caught_at_the_next(tmp_path, capsys):
    """A middle segment cut short at a line end is caught where the next begins."""
    journal = write_journal(tmp_path / "journal", segment_bytes=1500)
    paths = segment_paths(journal)
    assert len(paths) >= 3
    path, lines = segment_lines(journal, 1)
    path.write_bytes(b"".join(lines[:-1]))
    result = run(capsys, "verify", str(journal))
    assert result.status == 1
    first = int(paths[2].name.removeprefix("segment-").removesuffix(".jsonl"))
    assert (
        f"{paths[2]}, line 1: the segment begins at sequence number {first} where {first - 1} was expected"
        in result.out
    )


def test_truncated_middle_of_a_line_is_caught(tmp_path, capsys):
    """A middle segment cut inside a line names that line as incomplete."""
    journal = write_journal(tmp_path / "journal", segment_bytes=1500)
    path, lines = segment_lines(journal, 1)
    first = int(path.name.removeprefix("segment-").removesuffix(".jsonl"))
    path.write_bytes(b"".join(lines[:-1]) + lines[-1][:40])
    result = run(capsys, "verify", str(journal))
    assert result.status == 1
    seq = first + len(lines) - 1
    assert (
        f"{path}, line {len(lines)} (expected sequence number {seq}): the record is incomplete"
        in result.out
    )


def test_illegal_transition_is_caught(tmp_path, capsys):
    """A well-sealed record that cannot follow its job's state is named."""
    journal = write_journal(tmp_path / "journal")

    async def append_bad() -> None:
        opened = FileJournal.open(journal)
        try:  # job 7 is running: it cannot be fetched
            await opened.append(
                [
                    Recorded(
                        len(EVENTS) + 1, JobFetched(job_id=7, time=T0 + 30, by="carol")
                    )
                ]
            )
        finally:
            await opened.aclose()

    trio.run(append_bad)
    result = run(capsys, "verify", str(journal))
    assert result.status == 1
    assert (
        f"line {len(EVENTS) + 1}, sequence number {len(EVENTS) + 1}: illegal transition"
        in result.out
    )
    assert "'fetched' cannot follow phase 'running'" in result.out


def test_torn_last_line_is_reported_but_passes(journal, capsys):
    """A final line without newline is noted as being written; exit 0."""
    path, lines = segment_lines(journal)
    path.write_bytes(b"".join(lines) + b'{"seq":23,"prev":"')
    result = run(capsys, "verify", str(journal))
    assert result.status == 0, result
    assert f"ok: {len(EVENTS)} records" in result.out
    assert (
        f"{path}, line {len(EVENTS) + 1}: incomplete last record (being written?)"
        in result.out
    )


def test_pruned_journal_verifies_from_its_checkpoint(tmp_path, capsys):
    """After pruning, the kept records verify against the checkpoint."""
    journal = tmp_path / "journal"
    through = write_pruned_journal(journal)
    assert through > 0
    result = run(capsys, "verify", str(journal))
    assert result.status == 0, result
    assert f"(sequence numbers {through + 1} to {len(EVENTS)})" in result.out


def test_pruned_journal_with_edited_checkpoint_fails(tmp_path, capsys):
    """The checkpoint the first kept record chains to is itself sealed."""
    journal = tmp_path / "journal"
    write_pruned_journal(journal)
    (checkpoint,) = journal.glob("checkpoint-*.json")
    checkpoint.write_bytes(
        checkpoint.read_bytes().replace(b'"record_hash":"', b'"record_hash":"0', 1)
    )
    result = run(capsys, "verify", str(journal))
    assert result.status == 1
    assert f"{checkpoint}: the checkpoint does not match its hash" in result.out


def test_pruned_journal_without_checkpoint_fails(tmp_path, capsys):
    """Segments removed without a checkpoint are reported as missing records."""
    journal = tmp_path / "journal"
    through = write_pruned_journal(journal)
    (checkpoint,) = journal.glob("checkpoint-*.json")
    checkpoint.unlink()
    result = run(capsys, "verify", str(journal))
    assert result.status == 1
    assert (
        f"the journal starts at sequence number {through + 1}, but there is no checkpoint"
        in result.out
    )


def test_missing_directory_is_one_sentence(tmp_path, capsys):
    """A missing journal directory: exit 1, one line on stderr, no traceback."""
    result = run(capsys, "verify", str(tmp_path / "nowhere"))
    assert result.status == 1
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert "there is no journal directory at" in result.err
