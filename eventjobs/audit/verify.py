"""``eventjobs journal verify``: prove a journal intact, or name its first bad record.

Checks, record by record from the first kept one: it parses, its sequence
number follows, its own hash holds, it chains to the record before (or to the
checkpoint left by pruning), and its event is a legal transition for its job.

Transitions after pruning: the records before the first kept one are gone, so
the state of jobs queued before it is unknown. We check transitions only for
jobs whose ``queued`` record is present (and every event of a journal that was
never pruned); events of older jobs are covered by the hash chain alone and
counted as "not checked". (Folding from a snapshot was rejected: the snapshot
kept after pruning is usually newer than the first kept record, so it cannot
describe the state there.)

A torn last line (a live server writing it, or a crash) is reported but is not
damage: the server itself cuts such a line off when it starts, and it was
never acknowledged to a client.
"""

from __future__ import annotations


import attrs

from ..errors import IllegalTransition, JournalCorrupt
from ..events import JobQueued, ScheduleAdded
from ..projection import JobTable
from .reading import Scan, Source, TornTail


@attrs.frozen
class Verified:
    """What a successful verification saw."""

    records: int
    jobs: int
    first_seq: int | None
    last_seq: int | None
    first_time: float | None
    last_time: float | None
    #: Events of jobs queued before the first kept record (pruned journals).
    unchecked: int
    torn: TornTail | None


def verify(directory: Source) -> Verified:
    """Verify the journal in *directory*.

    Raises:
        NoJournal: the directory is missing.
        JournalCorrupt: naming the file, line and sequence number of the first
            bad record and what is wrong with it.
    """
    scan = Scan(directory)
    table: JobTable | None = None
    born: set[int] = set()
    count = unchecked = 0
    first_seq = last_seq = None
    first_time = last_time = None
    for entry in scan:
        record = entry.record
        if table is None:
            table = JobTable(position=record.seq - 1)
            first_seq, first_time = record.seq, record.event.time
        event = record.event
        if isinstance(event, JobQueued | ScheduleAdded):
            born.add(event.job_id)
        if scan.first_seq == 1 or event.job_id in born:
            try:
                table.apply(record)
            except IllegalTransition as error:
                raise JournalCorrupt(
                    f"{entry.path}, line {entry.line}, sequence number {record.seq}: "
                    f"illegal transition ({error})"
                ) from None
        else:
            table.position = record.seq  # its job's earlier history was pruned
            unchecked += 1
        count += 1
        last_seq, last_time = record.seq, event.time
    return Verified(
        records=count,
        jobs=len(born),
        first_seq=first_seq,
        last_seq=last_seq,
        first_time=first_time,
        last_time=last_time,
        unchecked=unchecked,
        torn=scan.torn,
    )
