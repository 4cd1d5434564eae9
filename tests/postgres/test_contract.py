"""The PostgreSQL journals against the contract suites: the exclusive writer
against tests/journal/contract.py, the node against tests/journal/node_contract.py."""

from __future__ import annotations

import pytest
import trio

from eventjobs.journal import Journal, NodeJournal
from eventjobs.journal.pg_node import PostgresNodeJournal
from eventjobs.journal.postgres import PostgresJournal
from tests.journal.contract import DurableJournalContract
from tests.journal.node_contract import NodeJournalContract


class TestPostgresJournal(DurableJournalContract):
    @pytest.fixture
    def location(self, pg_url: str) -> str:
        return pg_url

    async def open_journal(self, location: object) -> Journal:
        return await trio.to_thread.run_sync(PostgresJournal.open, location)


class TestPostgresNodeJournal(NodeJournalContract):
    @pytest.fixture
    def location(self, pg_url: str) -> str:
        return pg_url

    async def open_node(self, location: object) -> NodeJournal:
        return await trio.to_thread.run_sync(PostgresNodeJournal.open, location)
