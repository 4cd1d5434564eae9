"""Nodes through an outage of the database itself: a throwaway cluster's
server is stopped as by a crash (``pg_ctl stop -m immediate``) and started
again on the same port.

An outage shorter than the lease is survived by every node with no
restart, their running and queued jobs carrying on; one longer than the
lease leaves every node fenced, each saying that its lease ran out (not
that another node took its jobs: none could, the database was down).

The outage is the fault under test, so the database stays down for a set
time; everything else waits for a condition."""

from __future__ import annotations

import contextlib
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from eventjobs.journal.pg_connect import Pool
from eventjobs.journal.pg_url import parse_postgres_url
from tests.cluster.nodes import (
    STORE,
    assert_clean_output,
    assert_journal_verifies,
    clients,
    echoed_body,
    submit,
    submit_sleep,
    wait_done,
    wait_started,
)
from tests.e2e.helpers import wait_until
from tests.postgres.cluster import Server, start_throwaway
from tests.support import ServerProcess, server_process

pytestmark = pytest.mark.e2e

#: Seconds. A node renews every twentieth of it and, after a failure,
#: tries again at most that often: it survives any outage up to 0.9 of it
#: (less the time a failing try takes). Before, it waited a third of the
#: lease between tries, and died of any outage spanning two renewal times
#: (two thirds of the lease at most).
LEASE = 6.0
#: Longer than two thirds of the lease, well inside nine tenths of it.
SHORT_OUTAGE = 4.2
#: The lease of the nodes that are to be fenced: short, so the test is quick.
FENCED_LEASE = 3.0


@pytest.fixture(scope="module")
def restartable() -> Iterator[Server]:
    server = start_throwaway(Path(tempfile.mkdtemp(prefix="eventjobs-pg-")))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def journal_url(restartable: Server) -> str:
    return f"{restartable.url('postgres')}?schema=t_{uuid.uuid4().hex[:16]}"


@contextlib.contextmanager
def outage(server: Server) -> Iterator[None]:
    assert server.halt is not None and server.resume is not None
    server.halt()
    try:
        yield
    finally:
        server.resume()


@contextlib.contextmanager
def cluster(url: str, count: int, lease: float) -> Iterator[list[ServerProcess]]:
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(
                server_process(
                    "--journal",
                    url,
                    "--node-lease",
                    str(lease),
                    "--shutdown-timeout",
                    "0",
                    "--max-running",
                    "1",
                )
            )
            for _ in range(count)
        ]


def test_three_nodes_survive_an_outage_shorter_than_the_lease(
    restartable: Server, journal_url: str
) -> None:
    with cluster(journal_url, 3, LEASE) as servers, clients(servers) as live:
        # Each node runs one job across the outage, with one queued behind it.
        running = [submit_sleep(client, SHORT_OUTAGE + 2) for client in live]
        queued = {
            submit(client, "/_admin/echo", content=f"queued {n}".encode()): n
            for n, client in enumerate(live)
        }
        for client, job in zip(live, running, strict=True):
            wait_started(client, job)
        with outage(restartable):
            refused = live[0].put("/_admin/echo", headers=STORE, content=b"x")
            assert refused.status_code == 503, refused.text
            time.sleep(SHORT_OUTAGE)  # the outage itself, not a wait for anything
        for n, client in enumerate(live):
            wait_done(client, running[n], timeout=30)
            assert client.put(f"/_api/job/{running[n]}").status_code == 200
        for job, n in queued.items():
            wait_done(live[n], job, timeout=30)
            assert echoed_body(live[n].put(f"/_api/job/{job}")) == f"queued {n}"
        # New work after the outage, on every node.
        for client in live:
            job = submit(client, "/_admin/echo", content=b"after")
            wait_done(client, job, timeout=30)
        for server in servers:
            assert server.process.poll() is None, server.text
            assert "lost its lease" not in server.text, server.text
            assert_clean_output(server)
    assert_journal_verifies(journal_url)


def test_an_outage_longer_than_the_lease_fences_every_node_saying_so(
    restartable: Server, journal_url: str
) -> None:
    with cluster(journal_url, 3, FENCED_LEASE) as servers, clients(servers) as live:
        for client in live:
            wait_started(client, submit_sleep(client, 60))
        with outage(restartable):
            for server in servers:
                wait_until(
                    lambda server=server: server.process.poll() is not None,
                    "every node to stop once its lease ran out",
                    timeout=30,
                )
    for server in servers:
        assert server.process.returncode == 1, server.text
        assert_clean_output(server)
        last = [line for line in server.text.splitlines() if line.strip()][-1]
        assert last.startswith("eventjobs: this server (node "), server.text
        assert "lost its lease" in last, last
        assert "run out" in last, last
        # No node took its jobs over: the database was down for all of them.
        assert "another node" not in last, last
    assert_journal_verifies(journal_url)


def test_a_pool_reconnects_at_its_next_use_after_the_server_restarts(
    restartable: Server, journal_url: str
) -> None:
    pool = Pool(parse_postgres_url(journal_url), size=4)
    try:
        with contextlib.ExitStack() as borrowed:  # every connection open, then idle
            for _ in range(pool.size):
                borrowed.enter_context(pool.connection()).execute("SELECT 1")
        with outage(restartable):
            pass
        failures = 0
        while True:
            try:
                with pool.connection() as conn:
                    conn.execute("SELECT 1")
                break
            except psycopg.OperationalError:
                failures += 1  # the one that finds the server gone
                assert failures <= 1, "a dead idle connection was used again"
    finally:
        pool.close()
