"""Stopping a real ``eventjobs serve`` while jobs run: what a second signal
does, and what a submission still arriving on an open connection gets."""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path

import pytest

from eventjobs.actors.supervisor import SHUTDOWN_REASON
from eventjobs.events import JobInterrupted, JobQueued, JobStarted
from eventjobs.journal.segments import read_records
from tests.e2e.helpers import wait_until
from tests.support import ServerProcess, server_process

pytestmark = pytest.mark.e2e


def events_of(journal: Path, kind: type) -> list:
    return [r.event for r in read_records(journal) if isinstance(r.event, kind)]


def start_sleeping_job(server: ServerProcess, journal: Path) -> int:
    """Submit a job that sleeps for ten minutes; return its id once it runs."""
    import httpx

    accepted = httpx.post(
        server.url + "/_admin/sleep?duration=600",
        headers={"x-arango-async": "store"},
        timeout=10,
    )
    assert accepted.status_code == 202, accepted.text
    job_id = int(accepted.headers["x-arango-async-id"])
    wait_until(
        lambda: any(e.job_id == job_id for e in events_of(journal, JobStarted)),
        "the job to start",
    )
    return job_id


@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"]
)
def test_a_second_signal_interrupts_the_running_jobs_and_exits_cleanly(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """A stop signal with a job that would hold the stop for ten minutes:
    the server says what it waits for; a second one (a second or more
    later: a first one may reach a process twice) interrupts the job at
    once. Signals keep coming until the process is gone, and it still exits
    0, without a traceback."""
    journal = tmp_path / "journal"
    with server_process(
        "--journal", str(journal), "--shutdown-timeout", "600"
    ) as server:
        job_id = start_sleeping_job(server, journal)
        server.process.send_signal(sig)
        wait_until(
            lambda: (
                "shutdown: waiting up to 600 s for 1 running job to finish"
                in server.text
            ),
            "the server to say what it waits for",
        )

        def signalled_until_gone() -> bool:
            if server.process.poll() is not None:
                return True
            server.process.send_signal(sig)
            return False

        wait_until(signalled_until_gone, "the server to exit", timeout=30)
        assert server.stop() == 0, server.text
    assert "Traceback" not in server.text, server.text
    assert f"{sig.name} received again: interrupting the running jobs now" in (
        server.text
    )
    (interrupted,) = events_of(journal, JobInterrupted)
    assert (interrupted.job_id, interrupted.reason) == (job_id, SHUTDOWN_REASON)


def read_response(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a content-length, read off *connection*."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        assert chunk, f"the connection closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines)
    }
    while len(body) < int(headers["content-length"]):
        chunk = connection.recv(65536)
        assert chunk, "the connection closed in the body"
        body += chunk
    return int(status_line.split()[1]), headers, body


def test_a_submission_on_an_open_connection_after_sigterm_is_refused(
    tmp_path: Path,
) -> None:
    """A job holds the stop; a submission arrives on a kept-alive connection
    after SIGTERM (hypercorn still serves requests already on their way):
    503 errorNum 30 with Retry-After, and nothing of it is journalled."""
    journal = tmp_path / "journal"
    with server_process("--journal", str(journal), "--shutdown-timeout", "1") as server:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            connection.sendall(
                b"POST /_admin/sleep?duration=600 HTTP/1.1\r\nhost: eventjobs\r\n"
                b"x-arango-async: store\r\ncontent-length: 0\r\n\r\n"
            )
            status, headers, _ = read_response(connection)
            assert status == 202 and headers.get("connection") != "close", headers
            (queued,) = events_of(journal, JobQueued)
            wait_until(lambda: events_of(journal, JobStarted), "the job to start")
            # The next request on the same connection, on its way (its body
            # not all sent) when the signal comes.
            connection.sendall(
                b"PUT /_admin/echo HTTP/1.1\r\nhost: eventjobs\r\n"
                b"x-arango-async: store\r\ncontent-length: 4\r\n\r\nab"
            )
            server.process.send_signal(signal.SIGTERM)
            wait_until(lambda: "SIGTERM received" in server.text, "the signal")
            connection.sendall(b"cd")
            status, headers, body = read_response(connection)
        assert status == 503, body
        assert server.stop() == 0, server.text
    assert json.loads(body) == {
        "code": 503,
        "error": True,
        "errorNum": 30,
        "errorMessage": "shutdown in progress",
    }
    assert headers["retry-after"] == "1"
    # Only the first job was ever queued: the refused one left no trace.
    assert [e.job_id for e in events_of(journal, JobQueued)] == [queued.job_id]
