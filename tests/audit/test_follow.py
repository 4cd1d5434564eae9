"""Following a live journal: the CLI's ``log --follow`` and the HTTP stream
see what a running server appends; the follower crosses segment boundaries."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
import trio

from eventjobs.audit.reading import Follower, Scan
from eventjobs.journal import FileJournal
from tests.support import server_process

from .fixture import records

pytestmark = pytest.mark.e2e
TIMEOUT = 30


def test_follower_reads_appends_across_segments(tmp_path):
    """Records appended batch by batch, rolling segments, are each polled once, in order."""
    directory = tmp_path / "journal"
    all_records = records()
    seen: list[int] = []

    async def write_and_follow() -> None:
        journal = FileJournal.open(directory, segment_bytes=1500)
        try:
            await journal.append(all_records[:3])
            scan = Scan(directory)
            seen.extend(entry.record.seq for entry in scan)
            follower = Follower(directory, scan.last_seq, scan.last_hash)
            assert follower.poll() == []
            for record in all_records[3:]:
                await journal.append([record])
                seen.extend(entry.record.seq for entry in follower.poll())
        finally:
            await journal.aclose()

    trio.run(write_and_follow)
    assert len(list(directory.glob("segment-*.jsonl"))) >= 3
    assert seen == [record.seq for record in all_records]


def _lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=drain, daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue[str], needle: str) -> list[str]:
    seen = []
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} not seen in {seen}")


def test_log_follow_prints_events_of_a_running_server(tmp_path):
    """log --follow prints a job's events as the server records them; SIGINT ends it with 0."""
    directory = tmp_path / "journal"
    with server_process("--journal", str(directory)) as server:
        follow = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "eventjobs",
                "journal",
                "log",
                str(directory),
                "--follow",
                "--interval",
                "0.1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        try:
            lines = _lines_of(follow)
            _wait_for(lines, "SEQ")  # the (empty) table's header: following now
            response = httpx.get(
                f"{server.url}/_api/version", headers={"x-arango-async": "store"}
            )
            job = response.headers["x-arango-async-id"]
            seen = _wait_for(lines, "done")
            assert any(
                f"  {job}  queued" in line and "GET /_api/version" in line
                for line in seen
            )
        finally:
            follow.send_signal(signal.SIGINT)
            status = follow.wait(timeout=TIMEOUT)
        assert status == 0
        assert "Traceback" not in follow.stderr.read()


def test_http_follow_streams_new_records(tmp_path):
    """GET /_eventjobs/journal?follow=true delivers records appended after it began."""
    with server_process("--journal", str(tmp_path / "journal")) as server:
        with httpx.Client(timeout=TIMEOUT) as client:
            with client.stream(
                "GET", f"{server.url}/_eventjobs/journal?follow=true"
            ) as stream:
                assert stream.status_code == 200
                lines = stream.iter_lines()
                response = httpx.get(
                    f"{server.url}/_api/version", headers={"x-arango-async": "store"}
                )
                job = int(response.headers["x-arango-async-id"])
                types = []
                for line in lines:
                    record = json.loads(line)
                    assert record["job"] == job
                    types.append(record["type"])
                    if record["type"] == "done":
                        break
                assert types == ["queued", "started", "done"]
