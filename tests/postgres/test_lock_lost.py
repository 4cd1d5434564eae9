"""A server that loses its PostgreSQL journal to another: the lock that
keeps one server per journal is a session's, so a database restart or a
killed connection drops it, and another server may take the journal before
this one reconnects. The first server must then stop writing and say so:
``eventjobs serve`` ends with one sentence and exit status 1; under plain
hypercorn, health and ready answer 503 with it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from eventjobs.journal.pg_schema import LOCK_CLASS
from tests.e2e.helpers import wait_until
from tests.postgres.conftest import schema_of, sql
from tests.postgres.test_postgres_server import eventjobs, submit
from tests.support import ServerProcess, free_port, server_process, wait_for_ready

pytestmark = pytest.mark.e2e

STORE = {"x-arango-async": "store"}
LOCK_HOLDER = (
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
    "AND classid::bigint = %s AND objid::bigint = (hashtext(%s)::bigint & 4294967295)"
)


def lock_holders(pg_url: str) -> list[int]:
    return [row[0] for row in sql(pg_url, LOCK_HOLDER, (LOCK_CLASS, schema_of(pg_url)))]


def cut(pg_url: str, server: ServerProcess, *, lock_only: bool) -> None:
    """Terminate the server's lock connection (or all its connections), and
    wait until the lock is free."""
    if lock_only:
        sql(pg_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY(%s)",
            (lock_holders(pg_url),))
    else:
        sql(pg_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name LIKE %s", (f"eventjobs pid {server.process.pid} %",))
    wait_until(lambda: not lock_holders(pg_url), "the lock released")


def a_job_done(client: httpx.Client) -> None:
    job = submit(client, "/_admin/echo", content=b"x")
    wait_until(lambda: client.get(f"/_api/job/{job}").status_code == 200, "done")


def submit_until_refused_for_good(client: httpx.Client, server: ServerProcess | None = None) -> None:
    """Submit until the server has noticed (its writer retries first)."""

    def noticed() -> bool:
        if server is not None and server.process.poll() is not None:
            return True
        try:
            client.put("/_admin/echo", headers=STORE, content=b"after")
        except httpx.TransportError:  # the server is going away
            return server is not None
        return server is None and client.get("/_eventjobs/health").status_code == 503

    wait_until(noticed, "the first server to notice", timeout=30)


@pytest.mark.parametrize("lock_only", [True, False], ids=["lock connection", "every connection"])
def test_eventjobs_serve_stops_with_one_sentence_when_another_server_took_the_journal(
    pg_url: str, lock_only: bool
) -> None:
    with server_process("--journal", pg_url, "--shutdown-timeout", "0") as first:
        with httpx.Client(base_url=first.url, timeout=10) as client:
            a_job_done(client)
            cut(pg_url, first, lock_only=lock_only)
            with server_process("--journal", pg_url, "--shutdown-timeout", "0") as second:
                submit_until_refused_for_good(client, first)
                status = first.process.wait(timeout=30)
                first.stop()
                output = [line for line in first.text.splitlines() if line.strip()]
                assert status == 1, first.text
                assert "Traceback" not in first.text and "ExceptionGroup" not in first.text, first.text
                assert output[-1].startswith("eventjobs: the PostgreSQL journal "), first.text
                assert f"was taken by another eventjobs server (eventjobs pid {second.process.pid} " in output[-1]
                # The second server goes on, on a journal that verifies.
                with httpx.Client(base_url=second.url, timeout=10) as other:
                    a_job_done(other)
                assert second.stop() == 0, second.text
    assert eventjobs("journal", "verify", pg_url).stdout.startswith("ok: ")


@pytest.fixture
def hypercorn_server(pg_url: str) -> Iterator[ServerProcess]:
    """``hypercorn eventjobs.asgi:create_app()`` on *pg_url* (no eventjobs serve)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "hypercorn", "-k", "trio", "--bind", f"127.0.0.1:{port}",
         "eventjobs.asgi:create_app()"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "EVENTJOBS_JOURNAL": pg_url, "EVENTJOBS_SHUTDOWN_TIMEOUT": "0"},
    )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", [])
    from tests.support import _drain_in_background

    _drain_in_background(server)
    try:
        wait_for_ready(server)
        yield server
    finally:
        server.stop()


def test_under_hypercorn_health_and_ready_say_the_journal_was_taken(
    pg_url: str, hypercorn_server: ServerProcess
) -> None:
    with httpx.Client(base_url=hypercorn_server.url, timeout=10) as client:
        a_job_done(client)
        cut(pg_url, hypercorn_server, lock_only=True)
        with server_process("--journal", pg_url, "--shutdown-timeout", "0"):
            submit_until_refused_for_good(client)
            health = client.get("/_eventjobs/health")
            ready = client.get("/_eventjobs/ready")
    assert health.status_code == 503 and ready.status_code == 503
    for answer in (health.json(), ready.json()):
        reason = answer["reason"]
        assert reason.startswith("the journal cannot be written any more: the PostgreSQL journal "), reason
        assert "was taken by another eventjobs server" in reason
    assert "Traceback" not in hypercorn_server.text, hypercorn_server.text
