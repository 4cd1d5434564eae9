"""Every journal backend against the one contract suite (tests/journal/contract.py)."""

from __future__ import annotations

from eventjobs.journal import FileJournal, Journal, MemoryJournal
from tests.journal.contract import DurableJournalContract, JournalContract


class TestMemoryJournal(JournalContract):
    async def open_journal(self, location: object) -> Journal:
        return MemoryJournal()


class TestFileJournal(DurableJournalContract):
    async def open_journal(self, location: object) -> Journal:
        return FileJournal.open(location)  # type: ignore[arg-type]
