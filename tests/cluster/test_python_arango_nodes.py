"""python-arango pointed at a round-robin of nodes: each of its requests goes
to the next node, so a job's submission, status, result, cancel and delete
land on different nodes, as behind a load balancer."""

from __future__ import annotations

import json

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from arango import ArangoClient
from arango.database import StandardDatabase
from arango.exceptions import (
    ArangoServerError,
    AsyncJobResultError,
    AsyncJobStatusError,
)
from arango.job import AsyncJob

from tests.cluster.nodes import CANCELLED, assert_clean_output, cluster
from tests.e2e.helpers import wait_until
from tests.e2e.test_python_arango import submit_sleep
from tests.support import ServerProcess

pytestmark = pytest.mark.e2e

T = TypeVar("T")


@pytest.fixture
def servers(pg_url: str, count: int) -> Iterator[list[ServerProcess]]:
    with cluster(pg_url, count) as servers:
        yield servers
    for server in servers:
        assert_clean_output(server)


@pytest.fixture
def db(servers: list[ServerProcess]) -> Iterator[StandardDatabase]:
    client = ArangoClient(
        hosts=[server.url for server in servers], host_resolver="roundrobin"
    )
    try:
        yield client.db("_system", username="root", password="", verify=True)
    finally:
        client.close()  # idle keep-alive connections would hold the nodes' shutdown up


def on_every_node(servers: list[ServerProcess], ask: Callable[[], T]) -> list[T]:
    """*ask* once per node: round robin sends consecutive requests to each in turn."""
    return [ask() for _ in servers]


def wait_done(servers: list[ServerProcess], job: AsyncJob[Any]) -> None:
    """Until every node says *job* is done (each answers from views that
    follow the journal: one node's "done" is not yet another's)."""
    wait_until(
        lambda: on_every_node(servers, job.status) == ["done"] * len(servers),
        f"job {job.id} done on every node",
    )


def test_async_jobs_across_a_round_robin_of_nodes(
    servers: list[ServerProcess], db: StandardDatabase
) -> None:
    adb = db.begin_async_execution(return_result=True)
    echoes: list[tuple[AsyncJob[Any], int]] = []
    for n in range(4):
        job = adb.echo({"n": n})
        # The next request goes to another node, right after the 202.
        assert job.status() in ("pending", "done")
        echoes.append((job, n))
    version = adb.version()
    sleeper = submit_sleep(adb, 60)
    ids = [job.id for job, _ in echoes] + [version.id, sleeper.id]
    assert len(set(ids)) == len(ids)

    for job, _ in echoes:
        wait_done(servers, job)
    wait_done(servers, version)
    done_ids = sorted([job.id for job, _ in echoes] + [version.id], key=int)
    wait_until(
        lambda: (
            on_every_node(servers, lambda: db.async_jobs("done"))
            == [done_ids] * len(servers)
        ),
        "every node to list the done jobs",
    )
    assert on_every_node(servers, lambda: db.async_jobs("pending")) == [
        [sleeper.id]
    ] * len(servers)

    # Results: each once, wherever asked.
    for job, n in echoes:
        assert json.loads(job.result()["body"]) == {"n": n}
        with pytest.raises(AsyncJobResultError) as again:
            job.result()
        assert again.value.http_code == 404
    assert version.result() == db.version()
    with pytest.raises(AsyncJobResultError) as caught:
        version.result()
    assert caught.value.http_code == 404

    # Cancel the running sleep through whichever node comes next.
    assert sleeper.cancel() is True
    wait_done(servers, sleeper)
    with pytest.raises(ArangoServerError) as cancelled:
        sleeper.result()
    assert cancelled.value.http_code == 410
    assert cancelled.value.response.body == CANCELLED

    # Delete: one job by id, then the rest.
    kept = adb.echo({"kept": True})
    dropped = adb.echo({"dropped": True})
    for job in (kept, dropped):
        wait_done(servers, job)
    assert dropped.clear() is True
    wait_until(
        lambda: (
            on_every_node(servers, lambda: db.async_jobs("done"))
            == [[kept.id]] * len(servers)
        ),
        "every node to list only the kept job",
    )
    for _ in servers:
        with pytest.raises(AsyncJobStatusError):
            dropped.status()
    assert db.clear_async_jobs() is True
    wait_until(
        lambda: (
            on_every_node(servers, lambda: db.async_jobs("done")) == [[]] * len(servers)
        ),
        "every node to list nothing",
    )
    for _ in servers:
        with pytest.raises(AsyncJobResultError):
            kept.result()
