"""Several server processes on one machine: ``eventjobs serve --workers N``
and ``hypercorn -w N`` on a PostgreSQL journal, each process a node. (With
a file journal ``--workers 2`` is refused: tests/test_cli.py.)"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.cluster.nodes import (
    LEASE,
    assert_clean_output,
    assert_fetched_once,
    assert_journal_verifies,
    echoed_body,
    nodes_table,
    submit,
    wait_done,
)
from tests.e2e.helpers import wait_until
from tests.support import (
    ServerProcess,
    _drain_in_background,
    free_port,
    read_proc,
    server_process,
    wait_for_ready,
)

pytestmark = pytest.mark.e2e

WORKERS = 2
JOBS = 20


def live_nodes(pg_url: str) -> int:
    return sum(1 for row in nodes_table(pg_url) if not row[2])


def serve_jobs(url: str) -> None:
    """Submit and fetch JOBS echo jobs, each on a connection of its own (so
    that they spread over the processes sharing the socket)."""
    jobs = {}
    for n in range(JOBS):
        with httpx.Client(base_url=url, timeout=10) as client:
            jobs[submit(client, "/_admin/echo", content=f"job {n}".encode())] = (
                f"job {n}"
            )
    assert len(jobs) == JOBS  # ids unique across the processes
    for job, body in jobs.items():
        with httpx.Client(base_url=url, timeout=10) as client:
            wait_done(client, job)
            result = client.put(f"/_api/job/{job}")
            assert result.status_code == 200, result.text
            assert echoed_body(result) == body
            assert_fetched_once([client], job)


def test_eventjobs_serve_with_two_workers_on_postgres(pg_url: str) -> None:
    with server_process(
        "--journal",
        pg_url,
        "--workers",
        str(WORKERS),
        "--node-lease",
        str(LEASE),
        "--shutdown-timeout",
        "0",
    ) as server:
        wait_until(
            lambda: live_nodes(pg_url) == WORKERS, f"{WORKERS} nodes in the nodes table"
        )
        serve_jobs(server.url)
        assert live_nodes(pg_url) == WORKERS
        assert server.stop() == 0, server.text
    assert_clean_output(server)
    assert_journal_verifies(pg_url)


@pytest.fixture
def hypercorn_workers(pg_url: str) -> Iterator[ServerProcess]:
    """``hypercorn -w 2 -k trio 'eventjobs.asgi:create_app()'`` on *pg_url*."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hypercorn",
            "-k",
            "trio",
            "-w",
            str(WORKERS),
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
            "EVENTJOBS_NODE_LEASE": str(LEASE),
            "EVENTJOBS_SHUTDOWN_TIMEOUT": "0",
        },
    )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", [])
    _drain_in_background(server)
    try:
        wait_for_ready(server)
        yield server
    finally:
        server.stop()


def test_hypercorn_with_two_workers_on_postgres(
    pg_url: str, hypercorn_workers: ServerProcess
) -> None:
    wait_until(
        lambda: live_nodes(pg_url) == WORKERS, f"{WORKERS} nodes in the nodes table"
    )
    serve_jobs(hypercorn_workers.url)
    hypercorn_workers.stop()
    assert_clean_output(hypercorn_workers)
    assert_journal_verifies(pg_url)


def workers_of(pid: int) -> list[int]:
    """The worker processes ``serve --workers`` has started so far (any of
    them, or the parent, may exit while this reads /proc)."""
    listing = read_proc(f"/proc/{pid}/task/{pid}/children")
    if listing is None:
        return []
    workers = []
    for child in (int(child) for child in listing.split()):
        cmdline = read_proc(f"/proc/{child}/cmdline")
        if cmdline is not None and b"--listen-fd" in cmdline:
            workers.append(child)
    return workers


def test_a_stop_signal_while_the_workers_start_stops_them(pg_url: str) -> None:
    """SIGTERM to ``serve --workers N`` as soon as its first worker exists
    (a service manager stopping it right after starting it): the parent
    passes it on to every worker, the later ones included, and exits."""
    count = 8
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "eventjobs",
            "serve",
            "--journal",
            pg_url,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(count),
            "--node-lease",
            str(LEASE),
            "--shutdown-timeout",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: set[int] = set()
    try:
        while not workers_of(process.pid):
            assert process.poll() is None, (
                "serve --workers exited before starting a worker"
            )
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            workers.update(workers_of(process.pid))
            time.sleep(0.05)
        assert process.poll() is not None, "serve --workers did not stop on SIGTERM"
    finally:
        workers.update(workers_of(process.pid))
        if process.poll() is None:
            process.kill()
            process.wait()
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGKILL)
