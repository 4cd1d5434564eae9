"""``eventjobs job list`` and ``delete`` against a real server of their own
(they act on all jobs, so they would disturb the other modules' tests)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.client.helpers import job
from tests.support import ServerProcess

pytestmark = pytest.mark.e2e


@pytest.fixture
def clean(server: ServerProcess) -> Iterator[ServerProcess]:
    """The module's server with no jobs, and none left running after the test."""
    assert httpx.delete(f"{server.url}/_api/job/all").status_code == 200
    yield server
    httpx.delete(f"{server.url}/_api/job/all")


def submit(server: ServerProcess, path: str) -> int:
    answer = httpx.post(f"{server.url}{path}", headers={"x-arango-async": "store"})
    assert answer.status_code == 202
    return int(answer.headers["x-arango-async-id"])


def finished(server: ServerProcess, path: str) -> int:
    job_id = submit(server, path)
    httpx.get(f"{server.url}/_api/job/{job_id}", headers={"x-eventjobs-wait": "30"})
    return job_id


def listed(server: ServerProcess, which: str, *more: str) -> list[int]:
    result = job("list", which, *more, url=server.url)
    assert (result.returncode, result.stderr) == (0, ""), result
    return [int(line) for line in result.stdout.splitlines()]


def test_list_pending_and_done_one_id_a_line(clean: ServerProcess):
    done = [finished(clean, "/_admin/sleep?duration=0") for _ in range(3)]
    pending = submit(clean, "/_admin/sleep?duration=60")
    assert listed(clean, "done") == done
    assert listed(clean, "pending") == [pending]
    assert listed(clean, "done", "--count", "2") == done[:2]


def test_list_of_nothing_prints_nothing(clean: ServerProcess):
    result = job("list", "done", url=clean.url)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_delete_one_job(clean: ServerProcess):
    first, second = (
        finished(clean, "/_admin/sleep?duration=0"),
        finished(clean, "/_admin/sleep?duration=0"),
    )
    result = job("delete", str(first), url=clean.url)
    assert (result.returncode, result.stdout) == (0, f"deleted job {first}\n")
    assert listed(clean, "done") == [second]
    again = job("delete", str(first), url=clean.url)
    assert again.returncode == 3


def test_delete_all_removes_pending_and_done(clean: ServerProcess):
    finished(clean, "/_admin/sleep?duration=0")
    submit(clean, "/_admin/sleep?duration=60")
    result = job("delete", "all", url=clean.url)
    assert (result.returncode, result.stdout) == (0, "deleted all jobs\n")
    assert listed(clean, "done") == listed(clean, "pending") == []


def test_delete_expired_before_an_iso_time_or_unix_seconds(clean: ServerProcess):
    """--before in either form is sent as the stamp the server expects:
    jobs done before it go, later ones stay."""
    old = finished(clean, "/_admin/sleep?duration=0")
    # The server's clock, so that the test does not depend on the two agreeing.
    cut = httpx.get(f"{clean.url}/_admin/time").json()["time"]
    while httpx.get(f"{clean.url}/_admin/time").json()["time"] <= cut:
        time.sleep(0.01)  # a completion stamp strictly after the cut
    new = finished(clean, "/_admin/sleep?duration=0")
    iso = datetime.fromtimestamp(cut, UTC).isoformat(timespec="microseconds")
    result = job("delete", "expired", "--before", iso, url=clean.url)
    assert result.returncode == 0, result
    assert result.stdout.startswith("deleted the jobs stamped before ")
    assert listed(clean, "done") == [new]
    # Unix seconds: a second later than the last job removes it too.
    newest = httpx.get(f"{clean.url}/_admin/time").json()["time"] + 1
    result = job("delete", "expired", "--before", f"{newest:.3f}", url=clean.url)
    assert result.returncode == 0, result
    assert listed(clean, "done") == []
    assert old != new
