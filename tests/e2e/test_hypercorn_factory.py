"""The app factory under the plain hypercorn command line:
``hypercorn -k trio 'eventjobs.asgi:create_app()'`` with settings from
``EVENTJOBS_*`` variables."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from eventjobs.actors.supervisor import SHUTDOWN_REASON
from eventjobs.events import JobInterrupted
from eventjobs.journal.segments import read_records

from tests.support import free_port, server_process

pytestmark = pytest.mark.e2e

STARTUP_TIMEOUT = 30.0


@contextmanager
def hypercorn(
    journal: Path | str,
    extra_env: dict[str, str] | None = None,
    *,
    checked: bool = False,
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Run the factory under hypercorn; yield the process and its base URL.

    *checked*: with ``--config python:eventjobs.hypercorn_config`` (which
    also sets the trio worker) instead of ``-k trio``.
    Output goes to a file (never a pipe nobody reads, which could fill up).
    """
    port = free_port()
    log = Path(str(journal) + ".log")
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hypercorn",
                *(
                    ("--config", "python:eventjobs.hypercorn_config")
                    if checked
                    else ("-k", "trio")
                ),
                "--bind",
                f"127.0.0.1:{port}",
                "eventjobs.asgi:create_app()",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "EVENTJOBS_JOURNAL": str(journal), **(extra_env or {})},
            # Its own process group: hypercorn's worker (and multiprocessing's
            # resource tracker) are stopped with it, not left orphaned.
            start_new_session=True,
        )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_ready(process: subprocess.Popen[bytes], url: str) -> None:
    """Poll ``/_eventjobs/ready`` until it answers 200 (bounded): the journal
    is replayed once hypercorn listens."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"hypercorn exited early with status {process.returncode}"
            )
        try:
            if httpx.get(url + "/_eventjobs/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise AssertionError("hypercorn did not become ready")


def output_of(journal: Path) -> str:
    return Path(str(journal) + ".log").read_text(errors="replace")


def test_hypercorn_serves_jobs_and_journals_them(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    with hypercorn(journal) as (process, url):
        wait_ready(process, url)
        with httpx.Client(base_url=url, timeout=10) as client:
            accepted = client.post(
                "/_admin/echo",
                content=b"via hypercorn",
                headers={"x-arango-async": "store"},
            )
            assert accepted.status_code == 202
            job_id = accepted.headers["x-arango-async-id"]
            deadline = time.monotonic() + 10
            while client.get(f"/_api/job/{job_id}").status_code != 200:
                assert time.monotonic() < deadline, "the job did not finish"
                time.sleep(0.01)
            result = client.put(f"/_api/job/{job_id}")
        assert result.status_code == 200
        assert result.headers["x-arango-async-id"] == job_id
        assert result.json()["body"] == "via hypercorn"
        segments = list(journal.glob("segment-*.jsonl"))
        assert len(segments) == 1
        assert b'"type":"fetched"' in segments[0].read_bytes()
        process.send_signal(signal.SIGTERM)
        try:
            status = process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                "hypercorn did not exit within 15 s of SIGTERM"
            ) from None
        assert status == 0, output_of(journal)
        assert "Traceback" not in output_of(journal)


# Without the config module exit statuses are not checked: hypercorn 0.18
# itself exits 0 when its worker process fails (run() joins the failed
# worker, then calls _join_exited again on the emptied list and returns
# that 0). With it, the checks run in hypercorn's own process: exit 1.


def failure_output(
    journal: Path, extra_env: dict[str, str] | None = None, *, checked: bool = False
) -> str:
    """Run the factory with a bad setting until hypercorn gives up (with
    *checked*, the exit status must be 1)."""
    with hypercorn(journal, extra_env, checked=checked) as (process, _url):
        try:
            status = process.wait(timeout=STARTUP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                "hypercorn kept running with a bad setting:\n" + output_of(journal)
            ) from None
    if checked:
        assert status == 1, output_of(journal)
    return output_of(journal)


def test_the_config_module_ends_hypercorn_with_status_1_on_a_bad_setting(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal"
    output = failure_output(journal, {"EVENTJOBS_MAX_RUNNING": "0"}, checked=True)
    assert "Traceback" not in output, output
    assert (
        "eventjobs: EVENTJOBS_MAX_RUNNING must be a whole number of at least 1, not 0"
        in output
    )
    assert "Running on" not in output  # it never listened
    assert not journal.exists()


def test_the_config_module_ends_hypercorn_with_status_1_on_a_journal_in_use(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal"
    with server_process("--journal", str(journal)):
        output = failure_output(journal, checked=True)
    assert "Traceback" not in output, output
    messages = [line for line in output.splitlines() if line.startswith("eventjobs: ")]
    assert len(messages) == 1, output
    assert "in use" in messages[0], messages[0]
    assert "Running on" not in output  # refused before it listened


def test_the_config_module_lets_hypercorn_serve(tmp_path: Path) -> None:
    """The check closes the journal again: the worker opens it and serves."""
    journal = tmp_path / "journal"
    with hypercorn(journal, checked=True) as (process, url):
        wait_ready(process, url)
        accepted = httpx.put(
            url + "/_admin/echo", headers={"x-arango-async": "store"}, timeout=10
        )
        assert accepted.status_code == 202, accepted.text
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0, output_of(journal)
    assert "Traceback" not in output_of(journal)


def test_hypercorn_factory_with_a_bad_setting_fails_with_one_sentence(
    tmp_path: Path,
) -> None:
    output = failure_output(tmp_path / "journal", {"EVENTJOBS_MAX_RUNNING": "0"})
    assert "Traceback" not in output
    assert (
        "eventjobs: EVENTJOBS_MAX_RUNNING must be a whole number of at least 1, not 0"
        in output
    )


def test_hypercorn_factory_with_an_unusable_journal_fails_with_one_sentence(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "a-file"
    journal.write_text("not a directory\n")
    output = failure_output(journal)
    assert "Traceback" not in output, output
    messages = [line for line in output.splitlines() if line.startswith("eventjobs: ")]
    assert len(messages) == 1, output
    assert repr(str(journal)) in messages[0]


def test_sigterm_under_plain_hypercorn_records_running_jobs_interrupted(
    tmp_path: Path,
) -> None:
    """Under plain hypercorn too, SIGTERM drains jobs for the shutdown timeout,
    records the rest interrupted (by the shutdown, not found later by a
    start), and exits 0."""
    journal = tmp_path / "journal"
    with hypercorn(journal, {"EVENTJOBS_SHUTDOWN_TIMEOUT": "0.2"}) as (process, url):
        wait_ready(process, url)
        with httpx.Client(base_url=url, timeout=10) as client:
            accepted = client.post(
                "/_admin/sleep?duration=600", headers={"x-arango-async": "store"}
            )
            job_id = int(accepted.headers["x-arango-async-id"])
            deadline = time.monotonic() + 10
            while b'"type":"started"' not in b"".join(
                p.read_bytes() for p in journal.glob("segment-*.jsonl")
            ):
                assert time.monotonic() < deadline, "the job did not start"
                time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0, output_of(journal)
    (interrupted,) = [
        r.event for r in read_records(journal) if isinstance(r.event, JobInterrupted)
    ]
    assert (interrupted.job_id, interrupted.reason) == (job_id, SHUTDOWN_REASON)


def test_hypercorn_with_json_logs_writes_each_of_its_lines_once(tmp_path: Path) -> None:
    """hypercorn gives its error logger a text handler of its own after the
    factory ran; with EVENTJOBS_LOG_FORMAT=json its lines are JSON, once."""
    journal = tmp_path / "journal"
    with hypercorn(journal, {"EVENTJOBS_LOG_FORMAT": "json"}) as (process, url):
        wait_ready(process, url)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0, output_of(journal)
    running = [line for line in output_of(journal).splitlines() if "Running on" in line]
    assert len(running) == 1, output_of(journal)
    assert json.loads(running[0])["logger"] == "hypercorn.error"
