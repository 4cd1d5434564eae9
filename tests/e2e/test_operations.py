"""Operations against a real server process: readiness during a long
replay, a shutdown during it, metrics over HTTP, JSON logs."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import stat
import threading
from pathlib import Path

import httpx
import pytest

from eventjobs.bench.replay import build_journal
from eventjobs.journal.segments import segment_name
from tests.e2e.helpers import wait_until
from tests.observe.support import parse, value
from tests.support import server_process
from tests.test_cli import one_sentence, serve

pytestmark = pytest.mark.e2e

#: Records in the journal replayed: enough that the replay takes seconds
#: (it runs at some 50-80 k records/s), so that probes see it happen.
LONG_JOURNAL_RECORDS = 300_000

PROGRESS = re.compile(
    r"^the server is starting: replaying the journal: (\d+) of (\d+) records$"
)


@pytest.fixture(scope="module")
def long_journal(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    directory = tmp_path_factory.mktemp("long") / "journal"
    return directory, build_journal(directory, LONG_JOURNAL_RECORDS)


@pytest.fixture
def journal_copy(long_journal: tuple[Path, int], tmp_path: Path) -> tuple[Path, int]:
    """A fresh copy per test: a server writes its snapshot into the journal."""
    source, count = long_journal
    copy = tmp_path / "journal"
    shutil.copytree(source, copy)
    return copy, count


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10)


def test_ready_is_503_during_a_long_replay_and_200_after(journal_copy) -> None:
    journal, count = journal_copy
    with server_process("--journal", str(journal), wait_ready=False) as server:
        # The server listens before it replays: the first probes see the replay.
        first = get(server.url + "/_eventjobs/ready")
        assert first.status_code == 503, first.text
        assert first.json()["ready"] is False
        assert first.json()["reason"].startswith("the server is starting")

        # Meanwhile it is alive, and its job API says why it cannot answer yet
        # (readiness only goes one way: if ready still says 503 after the two
        # requests, both were made during the replay; a fast machine may finish
        # first, and tests/observe/test_probes.py holds the replay to check it).
        assert get(server.url + "/_eventjobs/health").json() == {"alive": True}
        pending = get(server.url + "/_api/job/pending")
        submitted = httpx.put(
            server.url + "/_admin/echo", headers={"x-arango-async": "store"}, timeout=10
        )
        if get(server.url + "/_eventjobs/ready").status_code == 503:
            for refused in (pending, submitted):
                assert refused.status_code == 503
                body = refused.json()
                assert (body["code"], body["errorNum"], body["error"]) == (
                    503,
                    503,
                    True,
                )
                assert body["errorMessage"].startswith("the server is starting")
            assert "x-arango-async-id" not in submitted.headers
            samples = parse(get(server.url + "/_eventjobs/metrics").text)
            if value(samples, "eventjobs_ready") == 0:  # (unless the replay just ended)
                assert (
                    value(
                        samples, "eventjobs_requests_refused_total", reason="starting"
                    )
                    == 2
                )

        # Poll until ready; the progress seen on the way only grows.
        progress: list[tuple[int, int]] = []

        def ready() -> bool:
            answer = get(server.url + "/_eventjobs/ready")
            if answer.status_code == 200:
                return True
            match = PROGRESS.match(answer.json()["reason"])
            if match:
                progress.append((int(match[1]), int(match[2])))
            return False

        wait_until(ready, "the replay to finish", timeout=120)
        # Whatever progress was seen (none if the replay won the race) counts
        # towards the whole journal and only grows.
        assert all(total == count for _read, total in progress)
        reads = [read for read, _total in progress]
        assert reads == sorted(reads) and all(read <= count for read in reads)
        assert get(server.url + "/_eventjobs/ready").json() == {"ready": True}

        # Now the job API answers from the replayed table.
        assert get(server.url + "/_api/job/pending").status_code == 200
        samples = parse(get(server.url + "/_eventjobs/metrics").text)
        assert value(samples, "eventjobs_ready") == 1
        assert value(samples, "eventjobs_replay_records_read") == count
        assert (
            value(samples, "eventjobs_journal_head") >= count
        )  # (+ the job, if accepted)
        assert server.stop() == 0


def held_at_its_first_segment(journal: Path) -> tuple[Path, bytes]:
    """Split *journal*'s one segment in two and make the first a named pipe:
    the server opens the journal (which reads only its last segment) and
    listens, and its replay then waits, reading the pipe, until the test
    writes the first segment's lines into it. Return the pipe and those
    lines."""
    (segment,) = journal.glob("segment-*.jsonl")
    lines = segment.read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    segment.unlink()
    (journal / segment_name(half + 1)).write_bytes(b"".join(lines[half:]))
    pipe = journal / segment_name(1)
    os.mkfifo(pipe)
    return pipe, b"".join(lines[:half])


def feed(pipe: Path, data: bytes) -> threading.Thread:
    """Write *data* into *pipe* in a thread (the reader may stop early)."""

    def write() -> None:
        with contextlib.suppress(BrokenPipeError), pipe.open("wb") as writer:
            writer.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_sigterm_during_the_replay_stops_the_server_cleanly(journal_copy) -> None:
    """The replay is held (its first segment is a pipe the test writes
    only after the signal), so it is surely running when SIGTERM comes."""
    journal, _count = journal_copy
    pipe, first_segment = held_at_its_first_segment(journal)

    def contents() -> dict[str, bytes]:  # (the LOCK file comes and stays empty)
        return {
            path.name: path.read_bytes()
            for path in journal.iterdir()
            if path.name != "LOCK" and path != pipe
        }

    before = contents()
    with server_process("--journal", str(journal), wait_ready=False) as server:
        reason = get(server.url + "/_eventjobs/ready").json().get("reason", "")
        assert reason.startswith("the server is starting"), reason
        server.process.send_signal(signal.SIGTERM)
        wait_until(
            lambda: "shutdown while starting (replaying the journal)" in server.text,
            "the server to take the signal",
        )
        feeder = feed(pipe, first_segment)
        assert server.stop(signal.SIGTERM) == 0, server.text
        feeder.join(timeout=10)
    assert (
        "shutdown while starting (replaying the journal): no job was served"
        in server.text
    )
    assert "replayed:" not in server.text
    # Nothing was recorded or snapshotted: the journal is as it was.
    assert contents() == before
    assert stat.S_ISFIFO(pipe.stat().st_mode)


def test_metrics_and_json_logs_of_a_real_server(tmp_path: Path) -> None:
    with server_process(
        "--journal",
        str(tmp_path / "journal"),
        "--log-format",
        "json",
        "--access-log",
        "--job-log",
    ) as server:
        accepted = httpx.put(
            server.url + "/_admin/echo",
            headers={"x-arango-async": "store"},
            content=b"hello",
            timeout=10,
        )
        job = int(accepted.headers["x-arango-async-id"])
        wait_until(
            lambda: get(f"{server.url}/_api/job/{job}").status_code == 200,
            "the job to finish",
        )
        assert httpx.put(f"{server.url}/_api/job/{job}", timeout=10).status_code == 200
        samples = parse(get(server.url + "/_eventjobs/metrics").text)
        assert value(samples, "eventjobs_jobs_submitted_total") == 1
        assert value(samples, "eventjobs_jobs_finished_total", status_class="2xx") == 1
        assert value(samples, "eventjobs_results_fetched_total") == 1
        assert value(samples, "eventjobs_results_stored") == 0
        assert value(samples, "eventjobs_journal_append_seconds_count") >= 1
        assert server.stop() == 0
    entries = []
    for line in server.text.splitlines():
        if " listening on " in line and not line.startswith("{"):
            continue  # the one line printed for people (stdout), not a log line
        entries.append(json.loads(line))  # every log line is one JSON object
    assert all(
        {"time", "level", "logger", "message"} <= entry.keys() for entry in entries
    )
    of_job = [entry for entry in entries if entry.get("job_id") == job]
    assert [entry["event"] for entry in of_job] == [
        "queued",
        "started",
        "done",
        "fetched",
    ]
    assert of_job[2]["status"] == 200
    assert all(entry["logger"] == "eventjobs.jobs" for entry in of_job)
    access = [entry for entry in entries if entry["logger"] == "hypercorn.access"]
    fetch = [
        e
        for e in access
        if e.get("method") == "PUT" and e.get("path") == f"/_api/job/{job}"
    ]
    # One line per request (tests/observe/test_access_log.py).
    assert [entry.get("status") for entry in fetch] == [200], access


def test_an_unknown_log_format_is_refused_in_one_sentence(tmp_path: Path) -> None:
    message = one_sentence(
        serve("--journal", str(tmp_path / "j"), "--log-format", "xml")
    )
    assert "log format must be one of text, json, not 'xml'" in message
    message = one_sentence(
        serve("--journal", str(tmp_path / "j"), env={"EVENTJOBS_LOG_FORMAT": "yaml"})
    )
    assert "EVENTJOBS_LOG_FORMAT" in message and "'yaml'" in message
    assert not (tmp_path / "j").exists()


def _job_lines(server_text: str) -> list[str]:
    return [
        line for line in server_text.splitlines() if " eventjobs.jobs: job " in line
    ]


def _run_one_job(url: str) -> None:
    accepted = httpx.put(
        url + "/_admin/echo", headers={"x-arango-async": "store"}, timeout=10
    )
    job = accepted.headers["x-arango-async-id"]
    wait_until(
        lambda: get(f"{url}/_api/job/{job}").status_code == 200, "the job to finish"
    )


def test_the_job_log_is_off_by_default_and_on_with_its_variable(tmp_path: Path) -> None:
    with server_process("--journal", ":memory:") as server:
        _run_one_job(server.url)
        assert server.stop() == 0
    assert _job_lines(server.text) == []
    with server_process(
        "--journal", ":memory:", env={"EVENTJOBS_JOB_LOG": "1"}
    ) as server:
        _run_one_job(server.url)
        assert server.stop() == 0
    lines = _job_lines(server.text)
    assert [line.split("eventjobs.jobs: ")[1] for line in lines] == [
        "job 1 queued: PUT /_admin/echo",
        "job 1 started",
        "job 1 done: status 200",
    ]


def test_a_journal_the_replay_cannot_read_fails_health_under_plain_hypercorn(
    tmp_path: Path,
) -> None:
    """Under hypercorn, which eventjobs cannot stop, a damaged journal found by
    the replay turns health and ready to 503 with the reason: a liveness
    probe restarts the process, and its log says why."""
    from tests.e2e.test_hypercorn_factory import hypercorn, output_of

    journal = tmp_path / "journal"
    build_journal(journal, 100)
    (segment,) = journal.glob("segment-*.jsonl")
    lines = segment.read_bytes().splitlines(keepends=True)
    lines[50] = b"#" + lines[50][1:]
    segment.write_bytes(b"".join(lines))
    with hypercorn(journal) as (_process, url):

        def health() -> httpx.Response | None:
            try:
                answer = get(url + "/_eventjobs/health")
            except httpx.TransportError:
                return None  # not listening yet
            return answer if answer.status_code == 503 else None

        answer = wait_until(health, "health to report the damaged journal", timeout=30)
        assert answer.json()["alive"] is False
        assert answer.json()["reason"].startswith("the journal cannot be read: ")
        assert f"{segment}, line 51" in answer.json()["reason"]
        ready = get(url + "/_eventjobs/ready")
        assert ready.status_code == 503
        assert ready.json()["reason"] == answer.json()["reason"]
        assert get(url + "/_api/job/pending").status_code == 503
    assert "eventjobs cannot serve jobs: " in output_of(journal)
