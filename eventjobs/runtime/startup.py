"""Start-up: open the journal a server's settings name, and replay it.

The replay rebuilds the job table from the newest snapshot plus the records
after it. At start-up it runs in a worker thread (when the journal's reads
block) and publishes its progress in a :class:`StartupProgress` that the
probes read; a shutdown asked for meanwhile stops it
(:class:`ShutdownDuringReplay`).
"""

from __future__ import annotations

from functools import partial

import attrs
import trio

from ..errors import CodecError, IllegalTransition, JournalCorrupt
from ..journal import Journal, NodeJournal, open_journal
from ..projection import JobTable, fold
from ..settings import MEMORY_JOURNAL, Settings
from ..snapshot_codec import decode_table

#: Replay progress is published (and a shutdown noticed) every this many records.
REPLAY_PROGRESS_EVERY = 1024


class ShutdownDuringReplay(Exception):
    """A shutdown was asked for while the journal was being replayed."""


class StartupProgress:
    """What the start-up is doing, for the probes.

    Written by the replay's worker thread and read by probes: plain
    attribute stores, safe under the GIL.
    """

    def __init__(self) -> None:
        self.step = "opening the journal"
        #: Records replayed so far, of how many (None until known).
        self.read = 0
        self.total: int | None = None
        #: Set by the runtime's shutdown: the replay stops at its next look.
        self.shutdown_asked = False

    def describe(self) -> str:
        if self.step == "replaying the journal" and self.total is not None:
            return f"{self.step}: {self.read} of {self.total} records"
        return self.step


@attrs.frozen
class Replayed:
    """The table rebuilt from a journal, and the position of the snapshot
    it started from (0 without one)."""

    table: JobTable
    snapshot_position: int


async def open_configured_journal(settings: Settings) -> Journal | NodeJournal:
    """The journal *settings* name: in memory, a directory, or PostgreSQL.

    Every server on a PostgreSQL journal is a node among any number: none
    holds the journal alone (docs/multi-node.md).

    Raises:
        ConfigError: the journal location cannot be used.
        JournalCorrupt: the journal's last record does not read.
    """
    opening = partial(
        open_journal,
        settings.journal,
        shared=True,
        segment_bytes=settings.segment_bytes,
    )
    if settings.journal == MEMORY_JOURNAL:
        return opening()  # nothing blocks: no worker thread (start-up stays one step)
    return await trio.to_thread.run_sync(opening)


def replay(
    journal: Journal | NodeJournal, progress: StartupProgress | None = None
) -> Replayed:
    """The table from the journal's newest snapshot plus the records after it.

    With *progress* (at start-up), progress is published there and a
    shutdown asked for there stops the replay.

    Raises:
        JournalCorrupt: the snapshot or a record does not read, or a record
            does not follow from its job's state.
        ShutdownDuringReplay: *progress* says a shutdown was asked for.
    """
    table = JobTable()
    snapshot_position = 0
    if progress is not None:
        progress.step = "loading the snapshot"
    snapshot = journal.load_snapshot()
    if snapshot is not None:
        position, header, jobs = snapshot
        try:
            # A job at a time: the snapshot is never in memory whole.
            table = decode_table(header, jobs)
        except CodecError as error:
            raise JournalCorrupt(
                f"journal {journal!r}: the snapshot at sequence number {position} does "
                f"not read ({error}); move it aside to start from the segments alone"
            ) from None
        if table.position != position:
            raise JournalCorrupt(
                f"journal {journal!r}: the snapshot at sequence number {position} "
                f"holds the views of position {table.position}"
            )
        snapshot_position = position
    try:
        if progress is not None:
            _replay_progressively(journal, table, progress)
        else:
            fold(journal.read(after=table.position), table)
    except IllegalTransition as error:
        raise JournalCorrupt(
            f"journal {journal!r}, sequence number {table.position + 1}: the "
            f"event does not follow from the job's state ({error}). The journal was "
            "changed by something other than eventjobs; restore it from a backup."
        ) from None
    return Replayed(table, snapshot_position)


def _replay_progressively(
    journal: Journal | NodeJournal, table: JobTable, progress: StartupProgress
) -> None:
    """``fold`` that publishes its progress and stops at a shutdown."""
    progress.step = "replaying the journal"
    progress.total = max(0, journal.head - table.position)
    progress.read = read = 0
    apply = table.apply
    for record in journal.read(after=table.position):
        apply(record)
        read += 1
        if not read % REPLAY_PROGRESS_EVERY:
            progress.read = read
            if progress.shutdown_asked:
                raise ShutdownDuringReplay()
    progress.read = read


async def replay_off_the_loop(
    journal: Journal | NodeJournal, progress: StartupProgress | None = None
) -> Replayed:
    """:func:`replay` in a worker thread when the journal's reads block.

    Cancellation: a replay in a worker thread goes on to its end (its result
    is dropped); use *progress* to stop it sooner.
    """
    if journal.reads_block:
        return await trio.to_thread.run_sync(replay, journal, progress)
    return replay(journal, progress)
