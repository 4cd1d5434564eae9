"""``eventjobs serve`` as an operator meets it: every bad configuration ends
the command with a non-zero status and one clear sentence on stderr (no
traceback), and SIGINT / SIGTERM end a running server cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import final_sentence, free_port, journal_dir, server_process

TIMEOUT = 30


def serve(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``eventjobs serve`` (on a free port unless *args* bind one)."""
    bind = [] if "--bind" in args else ["--bind", f"127.0.0.1:{free_port()}"]
    return subprocess.run(
        [sys.executable, "-m", "eventjobs", "serve", *bind, *args],
        capture_output=True,
        check=False,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, **(env or {})},
    )


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    """The single ``eventjobs: ...`` line a failed start must print."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    assert "listening on" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith("eventjobs: "), line
    return line


# -- bad configuration -------------------------------------------------------------


def test_journal_path_that_is_a_regular_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal"
    path.write_text("I am a file\n")
    message = one_sentence(serve("--journal", str(path)))
    assert repr(str(path)) in message
    assert "not a directory" in message


def test_journal_path_below_a_regular_file_is_refused(tmp_path: Path) -> None:
    # Root ignores permission bits; a path through a regular file cannot be
    # created by anyone.
    blocker = tmp_path / "blocker"
    blocker.write_text("I am a file\n")
    path = blocker / "journal"
    message = one_sentence(serve("--journal", str(path)))
    assert repr(str(path)) in message
    assert "cannot create the journal directory" in message


def test_journal_in_use_by_another_server_is_refused(tmp_path: Path) -> None:
    journal = journal_dir(tmp_path)
    with server_process("--journal", journal) as first:
        message = one_sentence(serve("--journal", journal))
    assert repr(journal) in message
    assert "in use by another eventjobs server" in message
    assert f"(pid {first.process.pid} on " in message
    assert "another --journal" in message


def test_more_than_one_worker_is_refused(tmp_path: Path) -> None:
    message = one_sentence(serve("--workers", "2", "--journal", journal_dir(tmp_path)))
    assert "--workers 2: several server processes need a PostgreSQL journal" in message
    assert not (tmp_path / "journal").exists()


def _write_journal(journal: str) -> Path:
    """Run a server briefly so that *journal* holds several records."""
    with server_process("--journal", journal) as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for _ in range(2):
                accepted = client.get(
                    "/_api/version", headers={"x-arango-async": "store"}
                )
                job_id = accepted.headers["x-arango-async-id"]
                deadline = time.monotonic() + 10
                while client.get(f"/_api/job/{job_id}").status_code != 200:
                    assert time.monotonic() < deadline
                    time.sleep(0.01)
                assert client.put(f"/_api/job/{job_id}").status_code == 200
        assert server.stop() == 0
    (segment,) = Path(journal).glob("segment-*.jsonl")
    return segment


def _change_a_digit_of_the_time(line: bytes) -> bytes:
    """Still valid JSON, but not the record that was hashed."""
    at = line.index(b'"time":') + len(b'"time":')
    digit = line[at : at + 1]
    assert digit.isdigit()
    return line[:at] + (b"2" if digit != b"2" else b"3") + line[at + 1 :]


def _break_the_json(line: bytes) -> bytes:
    return b"#" + line[1:]


@pytest.mark.parametrize(
    "damage", [_change_a_digit_of_the_time, _break_the_json], ids=["edited", "garbled"]
)
def test_journal_with_a_damaged_middle_record_is_refused(
    tmp_path: Path, damage
) -> None:
    journal = journal_dir(tmp_path)
    segment = _write_journal(journal)
    lines = segment.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 5
    middle = len(lines) // 2  # 0-based: line number middle + 1
    json.loads(lines[middle])
    lines[middle] = damage(lines[middle].rstrip(b"\n")) + b"\n"
    segment.write_bytes(b"".join(lines))

    message = final_sentence(serve("--journal", journal))
    assert str(segment) in message
    # The exact position of the damage (the design: "reported with the exact position").
    assert re.search(rf"\bline {middle + 1}\b", message), message
    # Nothing was cut off or "repaired".
    assert segment.read_bytes() == b"".join(lines)


def test_port_in_use_is_refused(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        message = one_sentence(
            serve("--journal", journal_dir(tmp_path), "--bind", f"127.0.0.1:{port}")
        )
    assert f"127.0.0.1:{port}" in message


def test_app_module_that_does_not_import_is_refused(tmp_path: Path) -> None:
    (tmp_path / "broken_service.py").write_text(
        "import no_such_dependency_here\napp = None\n"
    )
    message = one_sentence(
        serve(
            "--journal",
            journal_dir(tmp_path),
            "--app",
            "broken_service:app",
            env={"PYTHONPATH": str(tmp_path)},
        )
    )
    assert "broken_service" in message
    assert "does not import" in message
    assert "no_such_dependency_here" in message


def test_app_module_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    message = one_sentence(
        serve(
            "--journal", journal_dir(tmp_path), "--app", "no_such_module_anywhere:app"
        )
    )
    assert "no_such_module_anywhere" in message
    assert "does not import" in message


def test_app_that_is_neither_asgi_nor_wsgi_is_refused(tmp_path: Path) -> None:
    (tmp_path / "odd_service.py").write_text("def app(request):\n    return None\n")
    result = serve(
        "--journal",
        journal_dir(tmp_path),
        "--app",
        "odd_service:app",
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 1
    message = one_sentence(result)
    assert "odd_service" in message
    assert "'app'" in message
    assert "neither an ASGI nor a WSGI application" in message


def test_bad_upstream_is_refused(tmp_path: Path) -> None:
    result = serve(
        "--journal", journal_dir(tmp_path), "--upstream", "/reports=localhost:9000"
    )
    assert result.returncode == 1
    message = one_sentence(result)
    assert "/PREFIX=URL" in message
    assert "'/reports=localhost:9000'" in message


def test_max_running_zero_is_refused(tmp_path: Path) -> None:
    message = one_sentence(
        serve("--journal", journal_dir(tmp_path), "--max-running", "0")
    )
    assert "--max-running must" in message
    assert "0" in message


def test_malformed_bind_is_refused(tmp_path: Path) -> None:
    message = one_sentence(
        serve("--journal", journal_dir(tmp_path), "--bind", "localhost")
    )
    assert "'localhost'" in message


def test_refused_start_creates_no_journal(tmp_path: Path) -> None:
    journal = journal_dir(tmp_path)
    one_sentence(serve("--journal", journal, "--max-running", "0"))
    assert not Path(journal).exists()


# -- signals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"]
)
def test_signal_stops_the_server_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    with server_process("--journal", journal_dir(tmp_path)) as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            assert client.get("/_api/version").status_code == 200
        started = time.monotonic()
        status = server.stop(sig)
        elapsed = time.monotonic() - started
    assert status == 0, server.text
    assert elapsed < 10
    assert "Traceback" not in server.text
    assert f"{sig.name} received" in server.text


def test_each_worker_of_serve_workers_gets_the_command_line_less_workers_plus_the_socket():
    from eventjobs.server_processes import worker_arguments

    assert worker_arguments(
        [
            "serve",
            "--workers",
            "4",
            "--journal",
            "postgresql://h/d",
            "--workers=2",
            "--x",
        ],
        7,
    ) == ["serve", "--journal", "postgresql://h/d", "--x", "--listen-fd", "7"]
