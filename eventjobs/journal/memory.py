"""An in-memory journal: a real backend, for tests and throwaway servers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import trio

from ..errors import JournalConflict, JournalCorrupt
from ._protocol import Recorded


class MemoryJournal:
    """Keeps records in a list; "durable" means "in this process's memory".

    Its contents survive as long as the object does, so a test can run a
    second runtime on the same instance to check what a restart sees.
    """

    reads_block = False

    def __init__(self) -> None:
        self._records: list[Recorded] = []
        self._snapshot: tuple[int, str, list[str]] | None = None
        # The audit trail's (journal/audit_store.py): the journal's id, the
        # lines a file journal would hold (made when first asked for) and
        # the signed checkpoints, by tree size.
        self.journal_id: str | None = None
        self.lines: list[bytes | bytearray] = []
        self.lines_hash = "0" * 64
        self.checkpoints: dict[int, str] = {}

    def __repr__(self) -> str:
        return f"<MemoryJournal head={self.head}>"

    @property
    def head(self) -> int:
        return len(self._records)

    async def append(self, records: Sequence[Recorded]) -> None:
        check_continues(self.head, records)
        self._records.extend(records)
        # Appending is a checkpoint in every backend; keep that true here so
        # code tested against memory behaves the same against a file.
        await trio.lowlevel.checkpoint()
        # records are in memory anyway: results stay in the views

    def read_at(self, location: int) -> Recorded:
        raise JournalCorrupt("the memory journal hands out no locations")

    def read(self, after: int = 0) -> Iterator[Recorded]:
        # Sequence numbers start at 1 and have no gaps: seq n is at index n-1.
        yield from self._records[max(after, 0) :]

    async def save_snapshot(
        self, position: int, header: dict[str, Any], jobs: Iterable[dict[str, Any]]
    ) -> None:
        if position > self.head:
            raise ValueError(
                f"a snapshot cannot be ahead of the head ({self.head}): {position}"
            )
        # Kept as JSON text, so a later load cannot share state with the table.
        entries = []
        for job in jobs:
            if not job or "hash" in job:
                raise ValueError(
                    f"a snapshot entry must be non-empty and have no 'hash': {job!r}"
                )
            entries.append(json.dumps(job))
        self._snapshot = (position, json.dumps(header), entries)
        await trio.lowlevel.checkpoint()

    def load_snapshot(
        self,
    ) -> tuple[int, dict[str, Any], Iterator[dict[str, Any]]] | None:
        if self._snapshot is None:
            return None
        position, header, entries = self._snapshot
        return position, json.loads(header), (json.loads(entry) for entry in entries)

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


def check_continues(head: int, records: Sequence[Recorded]) -> None:
    """Raise JournalConflict unless *records* are numbered head+1, head+2, ..."""
    for offset, record in enumerate(records, start=1):
        if record.seq != head + offset:
            raise JournalConflict(
                f"append expected sequence number {head + offset}, got {record.seq}"
            )
