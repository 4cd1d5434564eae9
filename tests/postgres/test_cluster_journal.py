"""The PostgreSQL journal as several nodes use it (eventjobs/journal/pg_node.py,
pg_cluster.py): judged appends, ids across nodes, leases, fencing and
take-over. Each node here is a journal opened as a server opens it; the
nodes race through the real database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from eventjobs.errors import JournalCorrupt, NodeFenced
from eventjobs.events import (
    JobCancelling,
    JobDone,
    JobFetched,
    JobProgressed,
    JobQueued,
    JobStarted,
    RecordedRequest,
    RecordedResponse,
)
from eventjobs.journal import Recorded
from eventjobs.journal.pg_node import PostgresNodeJournal
from eventjobs.journal.postgres import PostgresJournal
from eventjobs.referee import Rejected
from tests.journal.contract import numbered
from tests.postgres.conftest import schema_of, sql

REQUEST = RecordedRequest(method="GET", path="/_api/version")
LEASE = 30.0


def queued(owner: str | None = None) -> JobQueued:
    return JobQueued(job_id=0, time=1.0, owner=owner, store=True, request=REQUEST)


async def node(url: str, name: str, lease: float = LEASE) -> PostgresNodeJournal:
    journal = await trio.to_thread.run_sync(PostgresNodeJournal.open, url)
    await journal.join(name, lease)
    return journal


@pytest.fixture
async def nodes(
    pg_url: str,
) -> AsyncIterator[tuple[PostgresNodeJournal, PostgresNodeJournal]]:
    a, b = await node(pg_url, "a"), await node(pg_url, "b")
    try:
        yield a, b
    finally:
        await a.aclose()
        await b.aclose()


def records(outcomes: list[Recorded | Rejected]) -> list[Recorded]:
    return [outcome for outcome in outcomes if isinstance(outcome, Recorded)]


async def test_the_journal_gives_ids_that_grow_across_nodes(nodes):
    a, b = nodes
    ids = []
    for writer in (a, b, a, b, b):
        judged = await writer.append_judged([queued(), queued()])
        ids += [record.event.job_id for record in records(judged.outcomes)]
    assert ids == list(range(1, 11))
    seqs = [record.seq for record in a.read()]
    assert seqs == list(range(1, 11))  # gap-free, in one order for everyone


async def test_of_two_nodes_racing_to_fetch_one_result_exactly_one_wins(nodes):
    a, b = nodes
    for _round in range(10):
        (job,) = records((await a.append_judged([queued()])).outcomes)
        job_id = job.event.job_id
        await a.append_judged([JobStarted(job_id=job_id, time=2.0)])
        await a.append_judged(
            [JobDone(job_id=job_id, time=3.0, response=RecordedResponse(status=200))]
        )
        outcomes: list[Recorded | Rejected] = []

        async def fetch(
            writer: PostgresNodeJournal,
            job_id: int,
            outcomes: list[Recorded | Rejected],
        ) -> None:
            judged = await writer.append_judged(
                [JobFetched(job_id=job_id, time=4.0, by=None)]
            )
            outcomes.extend(judged.outcomes)

        async with trio.open_nursery() as race:
            race.start_soon(fetch, a, job_id, outcomes)
            race.start_soon(fetch, b, job_id, outcomes)
        assert len(records(outcomes)) == 1, outcomes
        (rejected,) = [outcome for outcome in outcomes if isinstance(outcome, Rejected)]
        assert "gone or unknown" in str(rejected)


async def test_only_the_node_holding_a_job_runs_it_but_any_node_asks_it_to_stop(nodes):
    a, b = nodes
    (job,) = records((await a.append_judged([queued()])).outcomes)
    job_id = job.event.job_id
    (claim,) = (await b.append_judged([JobStarted(job_id=job_id, time=2.0)])).outcomes
    assert isinstance(claim, Rejected) and "holds the job" in str(claim)
    await a.append_judged([JobStarted(job_id=job_id, time=2.0)])
    (progress,) = (
        await b.append_judged(
            [JobProgressed(job_id=job_id, time=2.5, fraction=0.5, message="")]
        )
    ).outcomes
    assert isinstance(progress, Rejected)
    stop = JobCancelling(job_id=job_id, time=3.0, by="ann", reason="cancel")
    (asked,) = (await b.append_judged([stop])).outcomes
    assert isinstance(asked, Recorded)
    (again,) = (await a.append_judged([stop])).outcomes
    assert isinstance(again, Rejected) and "already asked" in str(again)


async def test_a_batch_admits_what_follows_and_rejects_the_rest_in_order(nodes):
    a, _b = nodes
    judged = await a.append_judged(
        [
            queued(),
            JobStarted(job_id=1, time=2),
            JobStarted(job_id=1, time=2),
            JobDone(job_id=1, time=3, response=RecordedResponse(status=200)),
            JobFetched(job_id=1, time=4, by=None),
            JobFetched(job_id=1, time=4, by=None),
        ]
    )
    kinds = [type(outcome).__name__ for outcome in judged.outcomes]
    assert kinds == [
        "Recorded",
        "Recorded",
        "Rejected",
        "Recorded",
        "Recorded",
        "Rejected",
    ]
    assert [record.seq for record in records(judged.outcomes)] == [1, 2, 3, 4]
    assert judged.head == 4


async def test_a_fenced_node_can_append_nothing(pg_url, nodes):
    a, _b = nodes
    sql(
        pg_url,
        f"UPDATE {schema_of(pg_url)}.nodes SET fenced = true WHERE node_id = %s",
        (a.node,),
    )
    with pytest.raises(NodeFenced, match="lost its lease"):
        await a.append_judged([queued()])
    assert not await a.renew_lease()
    assert list(a.read()) == []


async def test_a_node_whose_lease_expired_loses_its_jobs_to_the_next_take_over(pg_url):
    dying = await node(pg_url, "dying", lease=0.5)
    alive = await node(pg_url, "alive")
    try:
        judged = await dying.append_judged([queued(), queued()])
        first, second = (record.event.job_id for record in records(judged.outcomes))
        await dying.append_judged([JobStarted(job_id=first, time=2.0)])
        await dying.append_judged(
            [JobCancelling(job_id=first, time=2.5, by="ann", reason="cancel")]
        )
        assert await alive.take_over() == []  # its lease still runs
        await trio.sleep(0.6)
        taken = await alive.take_over()
        assert [
            (job.job_id, job.phase, job.cancelling, job.cancelled_by) for job in taken
        ] == [(first, "running", True, "ann"), (second, "queued", False, None)]
        # Fenced: its late end of the job it ran is refused, whole batch.
        with pytest.raises(NodeFenced):
            await dying.append_judged(
                [JobDone(job_id=first, time=3.0, response=RecordedResponse(status=200))]
            )
        (claim,) = (
            await alive.append_judged([JobStarted(job_id=second, time=4.0)])
        ).outcomes
        assert isinstance(claim, Recorded)
        assert await alive.take_over() == []
    finally:
        await dying.aclose()
        await alive.aclose()


async def test_records_written_without_the_referee_are_folded_in_and_taken_over(pg_url):
    """A journal copied in (an exclusive writer's plain appends) holds jobs
    no node holds: the first node's take-over gets the unfinished ones."""
    history = [
        JobQueued(job_id=1, time=1, owner=None, store=True, request=REQUEST),
        JobQueued(job_id=2, time=1, owner=None, store=True, request=REQUEST),
        JobQueued(job_id=3, time=1, owner=None, store=True, request=REQUEST),
        JobStarted(job_id=1, time=2),
        JobDone(job_id=1, time=3, response=RecordedResponse(status=200)),
        JobStarted(job_id=2, time=2),
    ]
    copier = await trio.to_thread.run_sync(PostgresJournal.open, pg_url)
    try:
        await copier.append(numbered(history))
    finally:
        await copier.aclose()
    first = await node(pg_url, "first")
    try:
        taken = await first.take_over()
        assert [(job.job_id, job.phase) for job in taken] == [
            (2, "running"),
            (3, "queued"),
        ]
        (new,) = records((await first.append_judged([queued()])).outcomes)
        assert new.event.job_id == 4
        (late,) = (await first.append_judged([JobStarted(job_id=1, time=5)])).outcomes
        assert isinstance(late, Rejected)  # job 1 finished before the copy
    finally:
        await first.aclose()


async def test_nodes_write_one_snapshot_per_interval_between_them(nodes):
    a, b = nodes
    for _ in range(12):
        await a.append_judged([queued()])
    b.advance_to(12)
    header = {"position": 0, "last_job_id": 0}  # the views' header; no jobs
    assert await a.save_snapshot(8, {**header, "position": 8}, [], min_gap=5)
    assert not await b.save_snapshot(12, {**header, "position": 12}, [], min_gap=5)
    assert await b.save_snapshot(12, {**header, "position": 12}, [], min_gap=4)
    position, _header, _jobs = await trio.to_thread.run_sync(a.load_snapshot)
    assert position == 12


async def test_nodes_starting_while_others_append_never_report_damage(pg_url):
    """The head row and the last record are read in one snapshot: another
    node's commit between two reads would make them disagree, and the start
    would be refused as if rows had been edited by hand."""
    a, b = await node(pg_url, "a"), await node(pg_url, "b")
    starts = 0
    try:
        async with trio.open_nursery() as appending:

            async def append_forever(writer: PostgresNodeJournal) -> None:
                while True:
                    await writer.append_judged([queued()])

            appending.start_soon(append_forever, a)
            appending.start_soon(append_forever, b)
            for _start in range(40):
                started = await trio.to_thread.run_sync(
                    PostgresNodeJournal.open, pg_url
                )
                await started.aclose()
                starts += 1
            appending.cancel_scope.cancel()
    finally:
        await a.aclose()
        await b.aclose()
    assert starts == 40


async def test_a_node_start_still_reports_a_record_removed_by_hand(nodes, pg_url):
    a, _b = nodes
    await a.append_judged([queued(), queued(), queued()])
    sql(pg_url, f"DELETE FROM {schema_of(pg_url)}.records WHERE seq = 3")
    with pytest.raises(
        JournalCorrupt, match="says the last record is 3, but the records end at 2"
    ):
        await trio.to_thread.run_sync(PostgresNodeJournal.open, pg_url)


async def test_a_lease_that_only_ran_out_is_told_apart_from_one_taken_over(pg_url):
    """A node whose lease ran out (a database outage longer than the lease)
    says no other node took its jobs; once one has, it says that."""
    late = await node(pg_url, "late", lease=0.5)
    other = await node(pg_url, "other")
    try:
        await late.append_judged([queued()])
        sql(  # as if the lease ran out while the database was down
            pg_url,
            f"UPDATE {schema_of(pg_url)}.nodes SET lease_expires = clock_timestamp() "
            "- interval '1 second' WHERE node_id = %s",
            (late.node,),
        )
        assert not await late.renew_lease()
        reason = await late.lost_lease()
        assert "ran out by the database's clock" in reason, reason
        assert "no other node has taken over its jobs (1 unfinished" in reason, reason
        with pytest.raises(NodeFenced, match="no other node has taken over"):
            await late.append_judged([queued()])
        assert [job.job_id for job in await other.take_over()] == [1]
        reason = await late.lost_lease()
        assert "another node found it expired, fenced it and took over its jobs" in (
            reason
        ), reason
    finally:
        await late.aclose()
        await other.aclose()
