"""open_journal on a postgresql:// URL: the exclusive writer, or (shared, as
a server opens it) a node (memory and directories: tests/journal/test_opening.py)."""

from __future__ import annotations

from functools import partial

import pytest
import trio

from eventjobs.errors import ConfigError, JournalInUse
from eventjobs.journal import NodeJournal, open_journal
from eventjobs.journal.pg_node import PostgresNodeJournal
from eventjobs.journal.postgres import PostgresJournal


async def test_a_postgresql_url_opens_the_exclusive_writer_holding_the_lock(pg_url):
    journal = await trio.to_thread.run_sync(open_journal, pg_url)
    try:
        assert isinstance(journal, PostgresJournal)
        assert not isinstance(journal, NodeJournal)
        with pytest.raises(JournalInUse):
            await trio.to_thread.run_sync(open_journal, pg_url)
    finally:
        await journal.aclose()


async def test_shared_opens_a_postgresql_url_as_one_node_among_any_number(pg_url):
    first = await trio.to_thread.run_sync(partial(open_journal, pg_url, shared=True))
    second = await trio.to_thread.run_sync(partial(open_journal, pg_url, shared=True))
    try:
        for journal in (first, second):
            assert isinstance(journal, PostgresNodeJournal)
            assert isinstance(journal, NodeJournal)
            assert journal.node is None  # not joined yet
    finally:
        await first.aclose()
        await second.aclose()


def test_the_postgres_scheme_and_any_case_open_postgresql_too(pg_url):
    """postgres:// is PostgreSQL's other name for its scheme; a bad one still
    says what a PostgreSQL URL looks like."""
    url = "POSTGRES://" + pg_url.split("://", 1)[1]
    journal = open_journal(url)
    try:
        assert isinstance(journal, PostgresJournal)
    finally:
        trio.run(journal.aclose)
    with pytest.raises(ConfigError, match="not a valid journal schema name"):
        open_journal(pg_url.rsplit("schema=", 1)[0] + "schema=Bad-Name")
