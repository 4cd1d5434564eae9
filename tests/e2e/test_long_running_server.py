"""Long-running options of `eventjobs serve`, through a real server process."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support import journal_dir, server_process

pytestmark = pytest.mark.e2e


def test_job_timeout_option_stops_a_job_with_504(tmp_path: Path):
    """--job-timeout stops a job; waiting on it returns its 504 result."""
    with server_process(
        "--journal", journal_dir(tmp_path), "--job-timeout", "0.2"
    ) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            accepted = client.post(
                "/_admin/sleep?duration=60", headers={"x-arango-async": "store"}
            )
            job = accepted.headers["x-arango-async-id"]
            result = client.put(f"/_api/job/{job}", headers={"x-eventjobs-wait": "20"})
            assert (result.status_code, result.json()["errorNum"]) == (504, 21)
            assert result.headers["x-arango-async-id"] == job


def test_max_wait_option_caps_a_wait(tmp_path: Path):
    """--max-wait ends a longer wait with the pending 204."""
    with server_process(
        "--journal", journal_dir(tmp_path), "--max-wait", "0.2"
    ) as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            accepted = client.post(
                "/_admin/sleep?duration=60", headers={"x-arango-async": "store"}
            )
            job = accepted.headers["x-arango-async-id"]
            status = client.get(f"/_api/job/{job}", headers={"x-eventjobs-wait": "600"})
            assert status.status_code == 204


def test_worker_processes_zero_is_refused(tmp_path: Path):
    """--worker-processes 0 stops the server with a message naming it."""
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "eventjobs",
            "serve",
            "--journal",
            journal_dir(tmp_path),
            "--worker-processes",
            "0",
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "--worker-processes" in result.stderr
