"""The node journal contract: one suite that every NodeJournal backend must pass.

A node journal is shared by several servers (nodes) at once; it referees
each appended event itself (:mod:`eventjobs.referee`) and numbers the
admitted ones. To check a backend, subclass :class:`NodeJournalContract` in
a ``test_*.py`` module, name it ``Test...``, and implement
:meth:`NodeJournalContract.open_node` and the ``location`` fixture (a fresh,
empty journal each test)::

    class TestPostgresNodeJournal(NodeJournalContract):
        @pytest.fixture
        def location(self, pg_url):
            return pg_url

        async def open_node(self, location):
            return await trio.to_thread.run_sync(PostgresNodeJournal.open, location)

Reads are checked as :mod:`tests.journal.contract` checks a journal's, on
records the nodes appended through the referee.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from eventjobs.events import (
    JobCancelled,
    JobDone,
    JobFetched,
    JobQueued,
    JobStarted,
    RecordedRequest,
    RecordedResponse,
)
from eventjobs.journal import NodeJournal, Recorded
from eventjobs.referee import Rejected
from tests.journal.contract import NOT_UTF8

LEASE = 30.0

#: One job's whole life and a second job queued, each admitted in this order
#: (a ``queued`` with job id 0 is given the next id by the journal).
STORY = (
    JobQueued(
        job_id=0,
        time=1.0,
        owner="ann",
        store=True,
        request=RecordedRequest(
            method="PUT", path="/x", body=NOT_UTF8, headers=(("x-ü", "ß"),)
        ),
    ),
    JobStarted(job_id=1, time=2.0),
    JobDone(
        job_id=1,
        time=3.0,
        response=RecordedResponse(status=200, body=bytes(range(256))),
    ),
    JobFetched(job_id=1, time=4.0, by="ann"),
    JobQueued(
        job_id=0,
        time=5.0,
        owner=None,
        store=True,
        request=RecordedRequest(method="GET", path="/y"),
    ),
)


def admitted(outcomes: list[Recorded | Rejected]) -> list[Recorded]:
    return [outcome for outcome in outcomes if isinstance(outcome, Recorded)]


class NodeJournalContract:
    """The behaviour every node journal backend shares. Not collected by itself."""

    @pytest.fixture
    def location(self) -> Any:
        """Where the journal under test keeps its records (fresh and empty)."""
        raise NotImplementedError

    async def open_node(self, location: Any) -> NodeJournal:
        """Open the backend's journal at *location* as a node (not joined)."""
        raise NotImplementedError

    @contextlib.asynccontextmanager
    async def joined(
        self, location: Any, name: str = "a"
    ) -> AsyncIterator[NodeJournal]:
        journal = await self.open_node(location)
        try:
            await journal.join(name, LEASE)
            yield journal
        finally:
            await journal.aclose()

    @pytest.fixture
    async def node(self, location: Any) -> AsyncIterator[NodeJournal]:
        async with self.joined(location) as journal:
            yield journal

    # -- membership ---------------------------------------------------------------

    async def test_the_backend_fulfils_the_protocol(self, node):
        """What the actors and the runtime use of a node is all there."""
        assert isinstance(node, NodeJournal)

    async def test_nodes_that_join_get_distinct_ids(self, location, node):
        """Each join is a new node, with an id of its own."""
        async with self.joined(location, "b") as other:
            assert node.node is not None and other.node is not None
            assert node.node != other.node

    async def test_a_live_node_renews_its_lease_and_one_that_left_cannot(self, node):
        """Renewing succeeds while the node lives; leaving gives the lease up."""
        assert await node.renew_lease()
        await node.leave()
        assert not await node.renew_lease()

    async def test_a_node_holds_the_jobs_it_queued_until_they_end(self, node):
        """held() lists this node's unfinished jobs, by id, with their phase."""
        await node.append_judged(list(STORY[:2]))
        await node.append_judged([STORY[4]])
        assert await node.held() == [(1, "running"), (2, "queued")]

    async def test_the_jobs_a_node_left_are_taken_over_by_another(self, location, node):
        """A node that left gives up its jobs; the next take-over gets them."""
        await node.append_judged([STORY[0]])
        await node.leave()
        async with self.joined(location, "b") as other:
            taken = await other.take_over()
            assert [(job.job_id, job.phase, job.cancelling) for job in taken] == [
                (1, "queued", False)
            ]
            assert await other.held() == [(1, "queued")]

    # -- appending and reading ------------------------------------------------------

    async def test_an_empty_journal_has_head_zero_and_reads_nothing(self, node):
        assert node.head == 0
        assert list(node.read()) == []
        assert await node.database_head() == 0

    async def test_admitted_events_read_back_numbered_with_the_ids_given(self, node):
        """Admitted events are numbered 1..n, ``queued`` ones given ids 1, 2,
        ...; they read back equal, and the head moves to the last."""
        judged = await node.append_judged(list(STORY))
        records = admitted(judged.outcomes)
        assert len(records) == len(judged.outcomes) == len(STORY)
        assert [record.seq for record in records] == [1, 2, 3, 4, 5]
        assert [record.event.job_id for record in records] == [1, 1, 1, 1, 2]
        assert judged.head == node.head == 5
        assert list(node.read()) == records
        assert [record.event for record in node.read()][1:4] == list(STORY[1:4])

    @pytest.mark.parametrize("after", range(len(STORY) + 1))
    async def test_read_after_k_returns_only_later_records(self, node, after):
        records = admitted((await node.append_judged(list(STORY))).outcomes)
        assert list(node.read(after)) == records[after:]

    async def test_read_at_returns_each_record_where_the_append_put_it(self, node):
        """Every admitted record carries a location that reads it back alone."""
        for record in admitted((await node.append_judged(list(STORY))).outcomes):
            assert record.location is not None
            assert node.read_at(record.location) == record

    async def test_a_rejected_event_is_not_written(self, node):
        """Only the admitted events of a batch are written; the rest say why."""
        await node.append_judged(list(STORY[:2]))
        gone = JobCancelled(
            job_id=7, time=9.0, by=None, response=RecordedResponse(status=410)
        )
        judged = await node.append_judged([JobStarted(job_id=1, time=9.0), gone])
        assert all(isinstance(outcome, Rejected) for outcome in judged.outcomes)
        assert node.head == judged.head == 2
        assert [record.seq for record in node.read()] == [1, 2]

    async def test_a_node_follows_what_the_others_append(self, location, node):
        """Another node's records: the head in the journal shows them at
        once, waiting for it returns, and read_followed says who wrote each."""
        await node.append_judged([STORY[0]])
        async with self.joined(location, "b") as other:
            await other.append_judged([STORY[4]])
            assert node.head == 1  # not followed yet
            assert await node.database_head() == 2
            with trio.fail_after(10):
                assert await node.wait_for_head(1) == 2
            followed = node.read_followed(0, 2)
            assert [(record.seq, writer) for record, writer in followed] == [
                (1, node.node),
                (2, other.node),
            ]
            assert all(record.location == record.seq for record, _writer in followed)
            node.advance_to(2)
            assert node.head == 2
            node.advance_to(1)  # behind: changes nothing
            assert node.head == 2

    async def test_a_node_opened_later_reads_the_same_records(self, location, node):
        records = admitted((await node.append_judged(list(STORY))).outcomes)
        async with self.joined(location, "b") as later:
            assert later.head == len(records)
            assert list(later.read()) == records

    # -- snapshots ---------------------------------------------------------------------

    async def test_a_snapshot_loads_back_as_saved(self, node):
        await node.append_judged(list(STORY))
        assert await node.save_snapshot(
            3, {"views": "as of 3"}, [{"job": 1}, {"job": 2}]
        )
        loaded = await trio.to_thread.run_sync(node.load_snapshot)
        assert loaded is not None
        position, header, jobs = loaded
        assert (position, header, list(jobs)) == (
            3,
            {"views": "as of 3"},
            [{"job": 1}, {"job": 2}],
        )

    async def test_a_snapshot_too_close_to_the_newest_is_not_stored(
        self, location, node
    ):
        """With min_gap, the nodes write one snapshot per interval between them."""
        await node.append_judged(list(STORY))
        async with self.joined(location, "b") as other:
            other.advance_to(5)
            assert await node.save_snapshot(2, {"at": 2}, [], min_gap=2)
            assert not await other.save_snapshot(3, {"at": 3}, [], min_gap=2)
            assert await other.save_snapshot(4, {"at": 4}, [], min_gap=2)
            loaded = await trio.to_thread.run_sync(node.load_snapshot)
            assert loaded is not None and loaded[:2] == (4, {"at": 4})

    async def test_a_snapshot_ahead_of_the_head_is_refused(self, node):
        await node.append_judged([STORY[0]])
        with pytest.raises(ValueError):
            await node.save_snapshot(2, {}, [])
        assert await trio.to_thread.run_sync(node.load_snapshot) is None

    async def test_closing_twice_is_harmless(self, location):
        journal = await self.open_node(location)
        await journal.aclose()
        await journal.aclose()
