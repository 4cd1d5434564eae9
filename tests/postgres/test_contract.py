"""The PostgreSQL journal against the journal contract suite (tests/journal/contract.py)."""

from __future__ import annotations

import pytest
import trio

from eventjobs.journal import Journal
from eventjobs.journal.postgres import PostgresJournal
from tests.journal.contract import DurableJournalContract


class TestPostgresJournal(DurableJournalContract):
    @pytest.fixture
    def location(self, pg_url: str) -> str:
        return pg_url

    async def open_journal(self, location: object) -> Journal:
        return await trio.to_thread.run_sync(PostgresJournal.open, location)
