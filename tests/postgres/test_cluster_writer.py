"""The node's writer (eventjobs/actors/node_writer.py) on a real
PostgreSQL journal: what it raises when it can write no more (its node was
fenced, or the journal it follows is damaged)."""

from __future__ import annotations


import pytest
import trio

from eventjobs.actors.node_writer import NodeWriter
from eventjobs.errors import JournalCorrupt, JournalUnavailable, NodeFenced
from eventjobs.events import JobQueued, RecordedRequest
from eventjobs.journal.pg_node import PostgresNodeJournal
from eventjobs.projection import JobTable
from tests.postgres.conftest import schema_of, sql

QUEUED = JobQueued(
    job_id=0,
    time=1.0,
    owner=None,
    store=True,
    request=RecordedRequest(method="GET", path="/_api/version"),
)


async def test_a_fenced_nodes_writer_raises_node_fenced_itself(pg_url: str) -> None:
    """The runtime stops the node on NodeFenced from run() (one sentence,
    no traceback): so run() must raise it bare, not wrapped in the
    ExceptionGroup of its own nursery, when an append finds the node fenced
    before the lease keeper does."""
    journal = await trio.to_thread.run_sync(PostgresNodeJournal.open, pg_url)
    try:
        await journal.join("a", 30.0)
        writer = NodeWriter(journal, JobTable())
        ended: list[BaseException] = []

        async def run() -> None:
            try:
                await writer.run()
            except BaseException as error:
                ended.append(error)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run)
            await writer.record(QUEUED)  # a live node appends
            sql(
                pg_url,
                f"UPDATE {schema_of(pg_url)}.nodes SET fenced = true WHERE node_id = %s",
                (journal.node,),
            )
            with pytest.raises(JournalUnavailable, match="lost its lease"):
                await writer.record(QUEUED)
        assert len(ended) == 1
        assert type(ended[0]) is NodeFenced, repr(ended[0])
    finally:
        await journal.aclose()


async def test_damage_found_while_following_ends_run_with_journal_corrupt_itself(
    pg_url: str,
) -> None:
    """A record another node wrote that does not match its hash (edited in
    the database): the follower finds it, and run() raises JournalCorrupt
    bare, which the runtime turns into the node's one sentence."""
    a = await trio.to_thread.run_sync(PostgresNodeJournal.open, pg_url)
    b = await trio.to_thread.run_sync(PostgresNodeJournal.open, pg_url)
    try:
        await a.join("a", 30.0)
        await b.join("b", 30.0)
        await b.append_judged([QUEUED])
        sql(
            pg_url,
            f"UPDATE {schema_of(pg_url)}.records SET line = replace(line, 'version', 'versioN')",
        )
        writer = NodeWriter(a, JobTable())
        ended: list[BaseException] = []

        async def run() -> None:
            try:
                await writer.run()
            except BaseException as error:
                ended.append(error)

        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(run)
        assert len(ended) == 1
        assert type(ended[0]) is JournalCorrupt, repr(ended[0])
        assert "seq=1" in str(ended[0])
    finally:
        await a.aclose()
        await b.aclose()
