"""Durable appends per second through the group-commit writer.

``JournalWriter`` + ``FileJournal`` (or ``PostgresJournal``) driven directly in trio, as the server
drives them: N concurrent producers, each recording a ``queued`` event and
waiting until it is durable, in a loop. A batch is whatever accumulated
while the previous ``fdatasync`` (or transaction) ran, so the batch size
follows N.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import trio

from ..actors.writer import JournalWriter
from ..journal import open_journal
from ..projection import JobTable
from .sample_events import queued


async def _appends_per_second(
    location: Path | str, writers: int, seconds: float
) -> float:
    """Appends/s on a fresh file journal in directory *location*, or on the
    empty PostgreSQL journal *location* names."""
    journal = await trio.to_thread.run_sync(open_journal, location)
    table = JobTable()
    writer = JournalWriter(journal, table)
    done = 0

    async def producer(deadline: float) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            # record_nowait does not yield: reading the next id and recording
            # it is atomic, as in Runtime.submit.
            await writer.record(queued(table.last_job_id + 1, 1_764_400_000.0))
            done += 1

    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(writer.run)
            start = time.perf_counter()
            async with trio.open_nursery() as producers:
                for _ in range(writers):
                    producers.start_soon(producer, start + seconds)
            elapsed = time.perf_counter() - start
            writer.close()
    finally:
        await journal.aclose()
    return done / elapsed


def append_rates(writers: int, seconds: float, runs: int) -> list[float]:
    """Durable appends/s with *writers* concurrent producers, one per run."""
    rates = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="eventjobs-appends-") as tmp:
            rates.append(
                trio.run(_appends_per_second, Path(tmp) / "journal", writers, seconds)
            )
    return rates


def postgres_append_rates(
    fresh_journal: Callable[[], contextlib.AbstractContextManager[str]],
    writers: int,
    seconds: float,
    runs: int,
) -> list[float]:
    """Durable appends/s on PostgreSQL; *fresh_journal* gives an empty journal URL."""
    rates = []
    for _ in range(runs):
        with fresh_journal() as url:
            rates.append(trio.run(_appends_per_second, url, writers, seconds))
    return rates
