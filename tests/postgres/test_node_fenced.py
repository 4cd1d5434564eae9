"""A node of a PostgreSQL journal whose connections are cut carries on; a
node that was fenced (its lease taken for expired, its jobs taken over by
another node) stops writing and says so: ``eventjobs serve`` ends with one
sentence and exit status 1; under plain hypercorn, health and ready answer
503 with it. The fence is set here the way another node sets it (one UPDATE
of ``nodes``), so the test needs no timing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.helpers import wait_until
from tests.postgres.conftest import schema_of, sql
from tests.postgres.test_postgres_server import eventjobs, submit
from tests.support import ServerProcess, free_port, server_process, wait_for_ready

pytestmark = pytest.mark.e2e

LEASE = "1.5"


def a_job_done(client: httpx.Client) -> None:
    job = submit(client, "/_admin/echo", content=b"x")
    wait_until(lambda: client.put(f"/_api/job/{job}").status_code == 200, "done")


def the_node(pg_url: str) -> int:
    """The node id of the one server on the journal (under hypercorn its
    worker process, not the one the test started, names the row)."""
    rows = sql(pg_url, f"SELECT node_id FROM {schema_of(pg_url)}.nodes")
    assert len(rows) == 1, rows
    return int(rows[0][0])


def fence(pg_url: str, node: int) -> None:
    sql(
        pg_url,
        f"UPDATE {schema_of(pg_url)}.nodes SET fenced = true WHERE node_id = %s",
        (node,),
    )


def test_a_node_whose_connections_are_cut_carries_on(pg_url: str) -> None:
    with server_process("--journal", pg_url, "--node-lease", LEASE) as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            a_job_done(client)
            cut = sql(
                pg_url,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name LIKE %s",
                (f"eventjobs pid {server.process.pid} %",),
            )
            assert cut, "the server had no connection to cut"

            def served() -> bool:
                try:
                    a_job_done(client)
                except (AssertionError, KeyError):
                    return False  # a 503 while it reconnects
                return True

            wait_until(served, "a job served after the cut", timeout=30)
        assert server.process.poll() is None, server.text
    assert eventjobs("journal", "verify", pg_url).stdout.startswith("ok: ")


def test_eventjobs_serve_stops_with_one_sentence_when_fenced(pg_url: str) -> None:
    with server_process(
        "--journal", pg_url, "--node-lease", LEASE, "--shutdown-timeout", "0"
    ) as node:
        with httpx.Client(base_url=node.url, timeout=10) as client:
            a_job_done(client)
        fence(pg_url, the_node(pg_url))
        status = node.process.wait(timeout=30)
        node.stop()
    output = [line for line in node.text.splitlines() if line.strip()]
    assert status == 1, node.text
    assert "Traceback" not in node.text and "ExceptionGroup" not in node.text, node.text
    assert output[-1].startswith("eventjobs: this server (node "), node.text
    assert "lost its lease" in output[-1] and "took over its jobs" in output[-1], (
        output[-1]
    )
    # What it wrote before is whole.
    assert eventjobs("journal", "verify", pg_url).stdout.startswith("ok: ")


@pytest.fixture
def hypercorn_server(pg_url: str) -> Iterator[ServerProcess]:
    """``hypercorn eventjobs.asgi:create_app()`` on *pg_url* (no eventjobs serve)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hypercorn",
            "-k",
            "trio",
            "--bind",
            f"127.0.0.1:{port}",
            "eventjobs.asgi:create_app()",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **os.environ,
            "EVENTJOBS_JOURNAL": pg_url,
            "EVENTJOBS_SHUTDOWN_TIMEOUT": "0",
            "EVENTJOBS_NODE_LEASE": LEASE,
        },
    )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", [])
    from tests.support import _drain_in_background

    _drain_in_background(server)
    try:
        wait_for_ready(server)
        yield server
    finally:
        server.stop()


def test_under_hypercorn_health_and_ready_say_the_node_was_fenced(
    pg_url: str, hypercorn_server: ServerProcess
) -> None:
    with httpx.Client(base_url=hypercorn_server.url, timeout=10) as client:
        a_job_done(client)
        fence(pg_url, the_node(pg_url))
        wait_until(
            lambda: client.get("/_eventjobs/health").status_code == 503,
            "the node to notice it was fenced",
            timeout=30,
        )
        health = client.get("/_eventjobs/health")
        ready = client.get("/_eventjobs/ready")
        refused = client.put(
            "/_admin/echo", headers={"x-arango-async": "store"}, content=b"x"
        )
    assert health.status_code == 503 and ready.status_code == 503
    assert refused.status_code == 503, refused.text
    for answer in (health.json(), ready.json()):
        reason = answer["reason"]
        assert reason.startswith(
            "the journal cannot be written any more: this server (node "
        ), reason
        assert "lost its lease" in reason
    assert "Traceback" not in hypercorn_server.text, hypercorn_server.text
