"""Which leaves of the audit trail's tree are whose job: the index that
lets a receipt be made without reading the journal.

Two arrays of 8-byte numbers: for every leaf, the sequence number of the
same job's record before it (0: none), and for every job id, the sequence
number of its last record. A job's records are then found by walking back
from its last one: as many steps as it has records, however long the
journal. Job ids are handed out one after the other from 1, so the second
array is dense (8 bytes a job); an id far outside it (a journal written by
something else) goes to a dict. Memory: 8 MB for a million records plus
2 MB for their quarter million jobs, a third of the tree's own 34 MB; a
dict of lists would cost some ten times that.

The id is read from the line as stored, where the journal's encoding puts
it (``{"seq":..,"prev":"..","type":"..","v":..,"job":ID,...``): a search of
the line's first bytes, no JSON decoding. Pure; not safe to append from
several threads at once.
"""

from __future__ import annotations

import re
from array import array

#: Where a record line's top-level job member is: within its first bytes
#: (seq, a 64-digit prev, a short type name and v come before it).
_HEAD = 200
_JOB = re.compile(rb',"job":(-?[0-9]{1,19})[,}]')
#: Ids this far past the dense array's end go to the dict instead.
_GAP = 1 << 16
#: Stands for "no job" in an array of ids (see :func:`id_of_line`).
NO_JOB = -(1 << 63)


def job_of_line(line: bytes | bytearray) -> int | None:
    """The job id of the record line *line* (None if it names none)."""
    found = _JOB.search(line, 0, _HEAD)
    return None if found is None else int(found[1])


def id_of_line(line: bytes | bytearray) -> int:
    """:func:`job_of_line` as a signed 64-bit number (:data:`NO_JOB` for
    none, or for an id beyond that range), for an ``array("q")``."""
    job = job_of_line(line)
    return job if job is not None and NO_JOB < job < 1 << 63 else NO_JOB


class JobLeaves:
    """The job of every leaf from leaf *start* on (leaves before it were
    pruned: their records are gone, and so is their place here)."""

    __slots__ = ("_far", "_last", "_previous", "start")

    def __init__(self, start: int = 0) -> None:
        self.start = start
        self._previous = array("q")
        self._last = array("q")
        self._far: dict[int, int] = {}

    @property
    def size(self) -> int:
        """The number of leaves indexed, the pruned ones included."""
        return self.start + len(self._previous)

    def append(self, line: bytes | bytearray) -> None:
        """Index the next leaf, the record line *line*."""
        self.add(job_of_line(line))

    def extend(self, ids: array[int]) -> None:
        """Index the next leaves, records of the jobs *ids* (:func:`id_of_line`)."""
        for job_id in ids:
            self.add(None if job_id == NO_JOB else job_id)

    def add(self, job_id: int | None) -> None:
        """Index the next leaf, a record of *job_id* (None: of no job)."""
        seq = self.size + 1
        last = self._last
        if job_id is None:
            self._previous.append(0)
        elif 0 <= job_id < len(last):
            self._previous.append(last[job_id])
            last[job_id] = seq
        elif 0 <= job_id < len(last) + _GAP:
            last.frombytes(bytes(8 * (job_id + 1 - len(last))))
            self._previous.append(0)
            last[job_id] = seq
        else:
            self._previous.append(self._far.get(job_id, 0))
            self._far[job_id] = seq

    def seqs(self, job_id: int, upto: int | None = None) -> list[int]:
        """The sequence numbers (leaf index + 1) of *job_id*'s records, up
        to *upto* (default: all indexed), in order."""
        if 0 <= job_id < len(self._last):
            seq = self._last[job_id]
        else:
            seq = self._far.get(job_id, 0)
        found = []
        previous, start = self._previous, self.start
        while seq > start:
            if upto is None or seq <= upto:
                found.append(seq)
            seq = previous[seq - start - 1]
        found.reverse()
        return found
