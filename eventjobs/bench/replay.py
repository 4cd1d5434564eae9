"""Replay: events per second rebuilding the views from a file journal.

The journal is built directly (``encode_record`` lines written to a
segment file, the exact bytes ``FileJournal.append`` writes, without an
fsync per batch since only the reading is timed). What is timed is what a
server does at start: ``fold(read_records(directory))``: read, check hash
chain, decode, apply.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from ..journal import Recorded
from ..journal.lines import GENESIS_HASH, encode_record
from ..journal.segments import read_records, segment_name
from ..projection import fold
from .sample_events import EVENTS_PER_JOB, job_life


def build_journal(directory: Path, events: int) -> int:
    """Write a journal of about *events* records (whole jobs); return the count."""
    directory.mkdir(parents=True, exist_ok=True)
    prev = GENESIS_HASH
    seq = 0
    with (directory / segment_name(1)).open("wb") as file:
        lines: list[bytes | bytearray] = []
        for job_id in range(1, events // EVENTS_PER_JOB + 1):
            for event in job_life(job_id, 1_764_400_000.0 + job_id):
                seq += 1
                line, prev = encode_record(Recorded(seq, event), prev)
                lines.append(line)
            if len(lines) >= 4096:
                file.write(b"\n".join(lines) + b"\n")
                lines.clear()
        if lines:
            file.write(b"\n".join(lines) + b"\n")
    return seq


def replay_rates(events: int, runs: int) -> tuple[list[float], int]:
    """(events/s of each run, events in the journal)."""
    with tempfile.TemporaryDirectory(prefix="eventjobs-replay-") as tmp:
        directory = Path(tmp) / "journal"
        count = build_journal(directory, events)
        rates = []
        for _ in range(runs):
            start = time.perf_counter()
            table = fold(read_records(directory))
            elapsed = time.perf_counter() - start
            assert table.position == count, (table.position, count)
            rates.append(count / elapsed)
        return rates, count
