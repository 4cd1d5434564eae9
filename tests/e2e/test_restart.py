"""A second server process on the same journal carries on where the first
stopped: results, ids, and what happened to the jobs it left running."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import journal_events, wait_until
from tests.support import ServerProcess, journal_dir, server_process

pytestmark = pytest.mark.e2e

STORE = {"x-arango-async": "store"}
INTERRUPTED_BODY = {
    "code": 503,
    "error": True,
    "errorMessage": "job interrupted: the server stopped while it ran",
    "errorNum": 30,
}
#: Headers that describe the transfer, not the result.
VOLATILE_HEADERS = {"date", "server"}


# -- helpers ---------------------------------------------------------------------


@contextmanager
def running(journal: Path, *args: str) -> Iterator[tuple[ServerProcess, httpx.Client]]:
    """A server on *journal* and a client for it (closed before the server
    stops, so no idle keep-alive connection delays its shutdown)."""
    with server_process("--journal", str(journal), *args) as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            yield server, client


def submit(client: httpx.Client, method: str, path: str, **kwargs: Any) -> int:
    response = client.request(method, path, headers=STORE, **kwargs)
    assert response.status_code == 202, (response.status_code, response.text)
    return int(response.headers["x-arango-async-id"])


def is_done(client: httpx.Client, job_id: int) -> bool:
    status = client.get(f"/_api/job/{job_id}").status_code
    assert status in (200, 204), f"job {job_id} has status {status}"
    return status == 200


def wait_done(client: httpx.Client, job_id: int) -> None:
    wait_until(lambda: is_done(client, job_id), f"job {job_id} to be done")


def wait_started(journal: Path, job_id: int) -> None:
    wait_until(
        lambda: any(
            event.get("type") == "started" and event.get("job") == job_id
            for event in journal_events(journal)
        ),
        f"job {job_id} to start",
    )


def fetch(client: httpx.Client, job_id: int) -> httpx.Response:
    return client.put(f"/_api/job/{job_id}")


def comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers (without date and server, in order) and body."""
    headers = [
        (name.lower(), value)
        for name, value in response.headers.multi_items()
        if name.lower() not in VOLATILE_HEADERS
    ]
    return response.status_code, headers, response.content


def stop(server: ServerProcess, client: httpx.Client, sig: int = signal.SIGTERM) -> int:
    """Close *client* (an idle keep-alive connection would make hypercorn
    wait its graceful timeout), then signal the server; its exit status."""
    client.close()
    started = time.monotonic()
    status = server.stop(sig)
    assert time.monotonic() - started < 15, "the server took too long to stop"
    return status


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return Path(journal_dir(tmp_path))


# -- results survive -------------------------------------------------------------

#: Deterministic requests: two identical submissions get identical results.
REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/_admin/echo?x=1&x=2", {"content": b"hello, journal"}),
    ("PUT", "/_db/_system/_admin/echo", {"content": b"\xff\xfe not utf-8 \x00"}),
    ("GET", "/_api/version", {}),
    ("GET", "/_admin/sleep?duration=abc", {}),  # a stored 400
    ("HEAD", "/_admin/echo", {}),
    ("GET", "/_api/collection", {}),
]


def test_done_results_are_served_identically_after_restart(journal: Path) -> None:
    # Every request is submitted twice: the first twin is fetched before the
    # restart, the second after it, and the two answers must be the same.
    with running(journal) as (server, client):
        twins = {
            f"{method} {path}": (
                submit(client, method, path, **kw),
                submit(client, method, path, **kw),
            )
            for method, path, kw in REQUESTS
        }
        # and a cancelled job's 410 result
        twins["cancelled sleep"] = (
            submit(client, "GET", "/_admin/sleep?duration=30"),
            submit(client, "GET", "/_admin/sleep?duration=30"),
        )
        for job_id in twins["cancelled sleep"]:
            assert client.put(f"/_api/job/{job_id}/cancel").status_code == 200
        for pair in twins.values():
            for job_id in pair:
                wait_done(client, job_id)
        before = {
            label: comparable(fetch(client, first))
            for label, (first, _) in twins.items()
        }
        done_before = client.get("/_api/job/done").json()
        assert done_before == sorted(
            (str(later) for _, later in twins.values()), key=int
        )
        assert stop(server, client) == 0
    with running(journal) as (server, client):
        assert client.get("/_api/job/done").json() == done_before
        for label, (_first, later) in twins.items():
            after = fetch(client, later)
            assert after.headers["x-arango-async-id"] == str(later), label
            status, headers, body = before[label]
            # The id header names the fetched job; all else is the same.
            headers = [
                (name, str(later) if name == "x-arango-async-id" else value)
                for name, value in headers
            ]
            assert comparable(after) == (status, headers, body), label


def test_result_statuses_survive_a_restart(journal: Path) -> None:
    with running(journal) as (server, client):
        ok = submit(client, "GET", "/_api/version")
        bad = submit(client, "GET", "/_admin/sleep?duration=-1")
        for job_id in (ok, bad):
            wait_done(client, job_id)
        assert stop(server, client) == 0
    with running(journal) as (server, client):
        assert client.get("/_api/job/done").json() == [str(ok), str(bad)]
        assert client.get("/_api/job/pending").json() == []
        version = fetch(client, ok)
        assert version.status_code == 200
        assert version.json()["server"] == "eventjobs"
        error = fetch(client, bad)
        assert error.status_code == 400
        assert error.json() == {
            "code": 400,
            "error": True,
            "errorMessage": "bad parameter: duration must be a number of seconds "
            "from 0 to 3600 (--max-sleep); not '-1'",
            "errorNum": 400,
        }


def test_fetched_and_deleted_jobs_stay_gone_after_restart(journal: Path) -> None:
    with running(journal) as (server, client):
        fetched = submit(client, "GET", "/_api/version")
        deleted = submit(client, "GET", "/_api/version")
        kept = submit(client, "GET", "/_api/version")
        for job_id in (fetched, deleted, kept):
            wait_done(client, job_id)
        assert fetch(client, fetched).status_code == 200
        assert client.delete(f"/_api/job/{deleted}").json() == {"result": True}
        assert stop(server, client) == 0
    with running(journal) as (server, client):
        for job_id in (fetched, deleted):
            assert client.get(f"/_api/job/{job_id}").status_code == 404
            gone = fetch(client, job_id)
            assert gone.status_code == 404
            assert gone.json()["errorNum"] == 404
            assert "x-arango-async-id" not in gone.headers
            assert client.delete(f"/_api/job/{job_id}").status_code == 404
        assert client.get("/_api/job/done").json() == [str(kept)]
        assert fetch(client, kept).status_code == 200


def test_job_ids_continue_above_the_highest_earlier_one(journal: Path) -> None:
    with running(journal) as (server, client):
        ids = [submit(client, "GET", "/_api/version") for _ in range(3)]
        assert ids == sorted(ids) and len(set(ids)) == 3
        for job_id in ids:
            wait_done(client, job_id)
        # The highest ids are gone from the views: they must not be reused.
        assert fetch(client, ids[2]).status_code == 200
        assert client.delete(f"/_api/job/{ids[1]}").status_code == 200
        assert stop(server, client) == 0
    with running(journal) as (server, client):
        new = submit(client, "GET", "/_admin/echo?new=1")
        assert new > max(ids)
        wait_done(client, new)
        assert fetch(client, new).json()["query"] == {"new": ["1"]}
        assert stop(server, client) == 0
    with running(journal) as (server, client):
        assert submit(client, "GET", "/_api/version") > new


# -- jobs the server stopped ------------------------------------------------------


def assert_interrupted(client: httpx.Client, job_id: int) -> None:
    assert client.get(f"/_api/job/{job_id}").status_code == 200  # done
    assert str(job_id) in client.get("/_api/job/done").json()
    result = fetch(client, job_id)
    assert result.status_code == 503
    assert result.headers["x-arango-async-id"] == str(job_id)
    assert result.headers["content-type"].startswith("application/json")
    assert result.json() == INTERRUPTED_BODY


def test_job_running_at_sigterm_is_stored_as_interrupted(journal: Path) -> None:
    with running(journal, "--shutdown-timeout", "0") as (server, client):
        job_id = submit(client, "GET", "/_admin/sleep?duration=30")
        wait_started(journal, job_id)
        assert stop(server, client) == 0
    with running(journal) as (server, client):
        assert client.get("/_api/job/pending").json() == []
        assert_interrupted(client, job_id)


def test_job_running_at_sigkill_is_interrupted_after_restart(journal: Path) -> None:
    with running(journal) as (server, client):
        job_id = submit(client, "GET", "/_admin/sleep?duration=30")
        wait_started(journal, job_id)
        assert stop(server, client, signal.SIGKILL) == -signal.SIGKILL
    with running(journal) as (server, client):
        assert client.get("/_api/job/pending").json() == []
        assert_interrupted(client, job_id)


def test_job_that_ends_within_the_shutdown_timeout_keeps_its_result(
    journal: Path,
) -> None:
    with running(journal, "--shutdown-timeout", "10") as (server, client):
        job_id = submit(client, "GET", "/_admin/sleep?duration=0.5")
        wait_started(journal, job_id)
        assert stop(server, client) == 0
    with running(journal) as (server, client):
        result = fetch(client, job_id)
        assert result.status_code == 200
        assert result.json() == {"code": 200, "duration": 0.5, "error": False}


def test_job_still_queued_at_shutdown_runs_after_restart(journal: Path) -> None:
    with running(journal, "--max-running", "1", "--shutdown-timeout", "0") as (
        server,
        client,
    ):
        blocker = submit(client, "GET", "/_admin/sleep?duration=30")
        wait_started(journal, blocker)
        queued = submit(client, "POST", "/_admin/echo", content=b"run me later")
        assert client.get("/_api/job/pending").json() == [str(blocker), str(queued)]
        assert stop(server, client) == 0
    with running(journal) as (server, client):
        wait_done(client, queued)
        result = fetch(client, queued)
        assert result.status_code == 200
        assert result.json()["body"] == "run me later"
        assert_interrupted(client, blocker)


def test_interrupted_fire_and_forget_job_is_never_listed(journal: Path) -> None:
    with running(journal, "--shutdown-timeout", "0") as (server, client):
        response = client.get(
            "/_admin/sleep?duration=30", headers={"x-arango-async": "true"}
        )
        assert response.status_code == 202
        assert "x-arango-async-id" not in response.headers
        wait_until(
            lambda: any(e.get("type") == "started" for e in journal_events(journal)),
            "the fire-and-forget job to start",
        )
        assert stop(server, client) == 0
    with running(journal) as (server, client):
        assert client.get("/_api/job/done").json() == []
        assert client.get("/_api/job/pending").json() == []
