"""``eventjobs journal replay``: the views as they were at a past position.

Folding records 1..N with :func:`eventjobs.projection.fold` gives exactly the
table the live server held after record N (the projection is deterministic),
so ``--until SEQ`` shows that state; ``--until TIME`` means the last record
whose time is at or before TIME. A pruned journal starts from its oldest
snapshot that the kept records continue; positions before it cannot be
rebuilt and are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import CodecError, JournalCorrupt
from ..journal.snapshots import read_snapshot, snapshot_paths
from ..projection import JobTable
from ..snapshot_codec import decode_table
from .reading import Scan, Source


class CannotReplay(Exception):
    """The asked position cannot be rebuilt (pruned, or past the end)."""


def replay(
    directory: Source,
    until_seq: int | None = None,
    until_time: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> JobTable:
    """The table after the last record with ``seq <= until_seq`` and
    ``time <= until_time`` (each unset one: no bound).

    Raises:
        NoJournal, JournalCorrupt: as :class:`~eventjobs.audit.reading.Scan`.
        CannotReplay: the position lies before what a pruned journal keeps.
    """
    scan = Scan(directory, progress)
    table: JobTable | None = None
    for entry in scan:
        record = entry.record
        if table is None:
            table = _start(directory, scan.first_seq)
            if until_seq is not None and until_seq < table.position:
                raise CannotReplay(
                    f"the journal was pruned: it can be replayed to sequence number "
                    f"{table.position} (its oldest snapshot) or later, not to {until_seq}"
                )
        if record.seq <= table.position:
            continue  # covered by the snapshot we started from
        if until_seq is not None and record.seq > until_seq:
            break
        if until_time is not None and record.event.time > until_time:
            break
        table.apply(record)
    return table if table is not None else JobTable()


def _start(directory: Source, first_seq: int) -> JobTable:
    """An empty table, or for a pruned journal its oldest usable snapshot
    (only a journal directory is pruned: a PostgreSQL scan starts at 1)."""
    if first_seq == 1 or not isinstance(directory, Path):
        return JobTable()
    for path in snapshot_paths(directory):
        snapshot = read_snapshot(path)
        if snapshot.position >= first_seq - 1:
            try:
                return decode_table(snapshot.header, snapshot.jobs())
            except CodecError as error:
                raise JournalCorrupt(
                    f"{path}: the snapshot does not read ({error})"
                ) from None
    raise CannotReplay(
        f"the journal was pruned before sequence number {first_seq} and no snapshot covers it"
    )
