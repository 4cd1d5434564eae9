"""The audit store of a memory journal (see ``audit_store.py``). No I/O."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..errors import JournalCorrupt
from ..merkle import Frontier
from .audit_base import new_id
from .lines import encode_record
from .memory import MemoryJournal


class MemoryAuditStore:
    """A memory journal's: its lines are made from its records when first
    asked for (and kept), its id and checkpoints live on the journal object,
    so a second runtime on the same journal sees them."""

    blocking = False

    def __init__(self, journal: MemoryJournal) -> None:
        self._journal = journal

    def journal_id(self, create: bool = True) -> str | None:
        if self._journal.journal_id is None and create:
            self._journal.journal_id = new_id()
        return self._journal.journal_id

    def tree_start(self) -> Frontier:
        return Frontier()

    def lines(self, after: int, upto: int | None) -> Iterator[bytes | bytearray]:
        upto = self._journal.head if upto is None else upto
        made = self._journal.lines
        if len(made) < upto:
            prev = self._journal.lines_hash
            for record in self._journal.read(after=len(made)):
                if record.seq > upto:
                    break
                line, prev = encode_record(record, prev)
                made.append(line)
            self._journal.lines_hash = prev
        if len(made) < upto:
            raise JournalCorrupt(f"the memory journal has no record {upto}")
        return iter(made[after:upto])

    def lines_at(self, seqs: Sequence[int]) -> Sequence[bytes | bytearray]:
        if not seqs:
            return []
        made = self._journal.lines
        if len(made) < seqs[-1]:
            for _ in self.lines(len(made), seqs[-1]):
                pass
        return [made[seq - 1] for seq in seqs]

    def save_checkpoint(self, size: int, note: str) -> None:
        self._journal.checkpoints[size] = note

    def latest_checkpoint(self) -> str | None:
        checkpoints = self._journal.checkpoints
        return checkpoints[max(checkpoints)] if checkpoints else None
