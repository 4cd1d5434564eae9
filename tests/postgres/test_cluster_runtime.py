"""Two nodes in one process (two apps, one PostgreSQL schema), through their
test clients: what a node does with jobs it holds, finds or is told about.
The multi-process tests (real servers, kill -9) are in tests/cluster/."""

from __future__ import annotations

import time

import trio
import trio.testing

from eventjobs import Settings
from eventjobs.events import JobQueued, RecordedRequest
from tests.postgres.conftest import schema_of, sql
from tests.support import FakeClock, serve_app, submit

#: Short leases: a lease keeper's pass every 0.2 s.
LEASE = 0.6


def settings(pg_url: str) -> Settings:
    return Settings(journal=pg_url, shutdown_timeout=0, node_lease=LEASE)


async def wait_for(predicate, what: str, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while not (value := await predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await trio.sleep(0.02)
    return value


async def test_a_job_queued_in_the_journal_but_never_handed_to_the_node_runs(pg_url):
    """A ``queued`` whose commit reached the database but whose reply was
    lost leaves a job the node holds and never scheduled; its lease keeper
    finds it (twice, to be sure) and runs it."""
    async with serve_app(settings(pg_url), clock=FakeClock()) as node:
        journal = node.runtime.journal
        request = RecordedRequest(method="GET", path="/_api/version")
        judged = await journal.append_judged(
            [JobQueued(job_id=0, time=1.0, owner=None, store=True, request=request)]
        )
        (record,) = judged.outcomes
        job_id = record.event.job_id

        async def done() -> bool:
            response = await node.client.get(f"/_api/job/{job_id}")
            return response.status_code == 200

        await wait_for(done, "the stray job to run")
        result = await node.client.put(f"/_api/job/{job_id}")
        assert result.status_code == 200
        assert "version" in (await result.get_json())


async def test_two_nodes_in_one_process_answer_for_each_others_jobs(pg_url):
    async with serve_app(settings(pg_url)) as a, serve_app(settings(pg_url)) as b:
        job = await submit(a.client, "PUT", "/_admin/echo", data=b"hello")
        # Asked right after the 202, on the other node: never 404.
        assert (await b.client.get(f"/_api/job/{job}")).status_code in (200, 204)

        async def done() -> bool:
            return (await b.client.get(f"/_api/job/{job}")).status_code == 200

        await wait_for(done, "the job done, seen from the other node")
        assert (await b.client.get("/_api/job/done")).status_code == 200
        taken = await b.client.put(f"/_api/job/{job}")
        assert taken.status_code == 200
        assert (await taken.get_json())["body"] == "hello"
        assert (await a.client.put(f"/_api/job/{job}")).status_code == 404


async def test_a_cancel_that_crosses_the_start_on_the_running_node_stops_the_job(
    pg_url,
):
    """A cancel asked of the node that runs the job, while its ``started``
    is on its way to the journal (the views still say queued), is recorded
    ``cancelled`` after ``started``: the referee admits it, since this node
    holds the job. The job must then stop, not run on with its 410 given."""
    from eventjobs.identity import ANONYMOUS
    from eventjobs.projection import Phase

    async with serve_app(settings(pg_url)) as node:
        runtime = node.runtime
        job = await submit(node.client, "POST", "/_admin/sleep?duration=600")
        supervisor = runtime._supervisor
        # The actor has asked for `started` (it is in the writer's queue or
        # in flight) while the views still say queued.
        while supervisor.statistics().running != 1:
            await trio.lowlevel.checkpoint()
        assert runtime.table.jobs[job].phase is Phase.QUEUED
        assert await runtime.jobs.cancel(job, ANONYMOUS)

        async def stopped() -> bool:
            return supervisor.statistics().running == 0

        await wait_for(stopped, "the cancelled job to stop running", seconds=15)
        answer = await node.client.put(f"/_api/job/{job}")
        assert answer.status_code == 410


async def test_a_fenced_node_stops_its_jobs_and_starts_no_more(pg_url):
    """A node fenced while a job runs and another waits (under plain
    hypercorn, where the process lives on): the running job is another
    node's now, so it stops here at once; and the waiting one is not
    dispatched again and again to a writer that can record nothing."""
    from eventjobs.errors import NodeFenced
    from tests.postgres.conftest import schema_of, sql

    try:
        async with serve_app(
            Settings(
                journal=pg_url, shutdown_timeout=0, node_lease=LEASE, max_running=1
            )
        ) as node:
            runtime = node.runtime
            await submit(node.client, "POST", "/_admin/sleep?duration=600")
            supervisor = runtime._supervisor

            async def running() -> bool:
                return supervisor.statistics().running == 1

            await wait_for(running, "the sleep to run")
            await submit(node.client, "PUT", "/_admin/echo", data=b"waits")
            sql(pg_url, f"UPDATE {schema_of(pg_url)}.nodes SET fenced = true")

            async def fenced() -> bool:
                return runtime.fatal is not None

            await wait_for(fenced, "the node to find it was fenced")

            async def stopped() -> bool:
                return supervisor.statistics().running == 0

            await wait_for(stopped, "the fenced node's job to stop", seconds=15)
            # A node that keeps re-dispatching the waiting job never idles.
            with trio.move_on_after(15) as busy:
                await trio.testing.wait_all_tasks_blocked()
            assert not busy.cancelled_caught, (
                "the fenced node keeps trying to start a job"
            )
    except BaseExceptionGroup as group:
        # The test app raises what ended the runtime (hypercorn logs it).
        fenced_error, rest = group.split(NodeFenced)
        if rest is not None:
            raise rest from None
        assert fenced_error is not None


async def test_a_fenced_node_refuses_submissions_saying_why(pg_url):
    """Every submission a fenced node refuses says it lost its lease (not
    that some writer is closed), the first one and those after it."""
    from eventjobs.errors import NodeFenced
    from tests.postgres.conftest import schema_of, sql

    answers = []
    try:
        async with serve_app(settings(pg_url)) as node:
            sql(pg_url, f"UPDATE {schema_of(pg_url)}.nodes SET fenced = true")
            for _ in range(3):
                answer = await node.client.put(
                    "/_admin/echo", headers={"x-arango-async": "store"}, data=b"x"
                )
                answers.append(
                    (answer.status_code, (await answer.get_json())["errorMessage"])
                )
    except BaseExceptionGroup as group:
        fenced_error, rest = group.split(NodeFenced)
        if rest is not None:
            raise rest from None
        assert fenced_error is not None
    for status, message in answers:
        assert status == 503, answers
        assert "lost its lease" in message and "restart it" in message, answers


async def test_long_reads_holding_every_pooled_connection_do_not_cost_the_lease(pg_url):
    """Reads of the whole journal (a job's history, a journal dump) hold a
    pooled connection each for as long as they take: on a long journal,
    seconds. Four at once hold the pool; the node must still renew its
    lease meanwhile, or another node fences it and it stops for good."""
    from tests.postgres.conftest import schema_of, sql

    async with serve_app(settings(pg_url)) as node:
        await submit(node.client, "PUT", "/_admin/echo", data=b"x")
        journal = node.runtime.journal
        readers = [journal.read() for _ in range(journal._pool.size)]
        for reader in readers:  # each now holds a pooled connection
            await trio.to_thread.run_sync(next, reader)
        try:
            query = f"SELECT lease_expires FROM {schema_of(pg_url)}.nodes"
            seen = {sql(pg_url, query)[0][0]}

            async def renewed_twice() -> bool:
                seen.add(sql(pg_url, query)[0][0])
                return len(seen) >= 3

            await wait_for(
                renewed_twice, "the lease renewed while the reads run", seconds=15
            )
            assert node.runtime.fatal is None
        finally:
            for reader in readers:
                await trio.to_thread.run_sync(reader.close)


async def test_a_jobs_history_on_postgres_is_its_own_records_found_by_id(pg_url):
    """``/_eventjobs/jobs/{id}/history`` on a node reads the job's rows by
    id (an index), not the whole journal: the other job's records are not
    in it, and an edit of one of them does not disturb it."""
    async with serve_app(settings(pg_url)) as node:
        first = await submit(node.client, "PUT", "/_admin/echo", data=b"one")
        second = await submit(node.client, "PUT", "/_admin/echo", data=b"two")

        async def both_done() -> bool:
            codes = [
                (await node.client.get(f"/_api/job/{job}")).status_code
                for job in (first, second)
            ]
            return codes == [200, 200]

        await wait_for(both_done, "both jobs done")
        sql(
            pg_url,
            f"UPDATE {schema_of(pg_url)}.records SET line = replace(line, 'two', 'owt') "
            "WHERE job_id = %s AND type = 'queued'",
            (second,),
        )
        answer = await node.client.get(f"/_eventjobs/jobs/{first}/history")
        assert answer.status_code == 200
        body = await answer.get_json()
        assert [event["type"] for event in body["events"]] == [
            "queued",
            "started",
            "done",
        ]
        assert {event["job"] for event in body["events"]} == {first}
        seqs = [event["seq"] for event in body["events"]]
        assert seqs == sorted(seqs)


async def test_a_submission_whose_caller_stopped_waiting_still_runs_at_once(pg_url):
    """A client that disconnects while its job's ``queued`` is being
    committed cancels only its wait: the job runs as soon as it is in the
    journal (not a lease keeper's passes later: the lease here is a minute)."""
    from eventjobs.identity import ANONYMOUS

    lease_of_a_minute = Settings(journal=pg_url, shutdown_timeout=0, node_lease=60)
    async with serve_app(lease_of_a_minute) as node:
        request = RecordedRequest(method="GET", path="/_api/version")
        with trio.CancelScope() as waiting:
            waiting.cancel()  # the wait for the commit is cancelled at once
            await node.runtime.jobs.submit(request, ANONYMOUS, store=True)
        assert waiting.cancelled_caught

        async def ran() -> bool:
            await node.runtime.jobs.sync()
            done = node.runtime.jobs.job_ids(ANONYMOUS, pending=False, count=10)
            return bool(done)

        await wait_for(ran, "the job to run", seconds=10)
