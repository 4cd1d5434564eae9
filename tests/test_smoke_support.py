"""The test helpers themselves work (a real server starts and answers)."""

import subprocess
import sys

import httpx

from tests.support import journal_dir, read_open_proc, read_proc, server_process


def test_server_process_serves_version(tmp_path):
    with server_process("--journal", journal_dir(tmp_path)) as server:
        response = httpx.get(server.url + "/_api/version")
    assert response.json()["server"] == "eventjobs"
    assert server.process.returncode == 0


def test_reading_proc_of_a_process_that_exits_after_open_gives_none():
    """A process that exits between open() and read() of its /proc file
    makes read() raise ProcessLookupError: the helpers that poll processes
    take it for a process gone, as FileNotFoundError before open()."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    with open(f"/proc/{child.pid}/cmdline", "rb") as cmdline:
        child.stdin.close()
        child.wait()
        assert read_open_proc(cmdline) is None
    assert read_proc(f"/proc/{child.pid}/cmdline") is None
