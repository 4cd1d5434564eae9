"""The server under test: ``python -m eventjobs serve`` in its own process.

It is the real thing (hypercorn's trio worker, the file journal with
fdatasync group commit) on a fresh journal in a temporary directory, pinned
to the server's core where the OS allows.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import attrs

from .machine import pin_to

#: Large enough that a benchmark never hits the queue bound by accident:
#: a 503 is not a 202, and the figures count 202s only.
MAX_QUEUED = 1_000_000


@attrs.define
class Server:
    process: subprocess.Popen[bytes]
    host: str
    port: int
    journal: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the server has used so far.

        Unlike a rate, this barely moves when other processes share the
        machine, so CPU per request is the steadier figure on a busy host.
        NaN where ``/proc`` is not available.
        """
        try:
            with open(f"/proc/{self.process.pid}/stat") as file:
                fields = file.read().rpartition(")")[2].split()
        except OSError:
            return float("nan")
        # utime and stime are fields 14 and 15 of stat(5); [0] here is field 3.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def output(self) -> str:
        """What the server printed (its log goes to a file, not a pipe the
        harness would have to drain while it measures)."""
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running_server(
    cores: set[int] | None,
    *extra: str,
    journal_url: str | None = None,
    processes: int = 1,
) -> Iterator[Server]:
    """Start a server on a fresh journal (a temporary directory, or the empty
    PostgreSQL journal *journal_url*); stop it (SIGTERM) when the block ends.
    With *processes* > 1 it is ``--workers N`` (PostgreSQL only), ready once
    every worker has said it listens.

    Raises:
        RuntimeError: the server exited or did not listen within 30 s.
    """
    with tempfile.TemporaryDirectory(prefix="eventjobs-bench-") as tmp:
        journal = Path(tmp) / "journal"
        log = Path(tmp) / "server.log"
        port = _free_port()
        command = [
            sys.executable,
            "-m",
            "eventjobs",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--journal",
            journal_url or str(journal),
            "--max-queued",
            str(MAX_QUEUED),
            *(("--workers", str(processes)) if processes > 1 else ()),
            *extra,
        ]
        with log.open("wb") as sink:
            process = subprocess.Popen(
                command,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=dict(os.environ),
                preexec_fn=pin_to(cores),
            )
        server = Server(process, "127.0.0.1", port, journal, log)
        try:
            _wait_for_listening(server, processes)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_listening(
    server: Server, processes: int = 1, timeout: float = 30
) -> None:
    """Wait until the server (each of its *processes*) listens and has
    replayed its journal (it listens first: /_eventjobs/ready answers 200
    once the replay is done; with several processes, of whichever answers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.output().count("listening on") >= processes and _ready(server):
            return
        if server.process.poll() is not None:
            raise RuntimeError(
                "the server exited before listening:\n" + server.output()
            )
        time.sleep(0.05)
    raise RuntimeError("the server did not listen within 30 s:\n" + server.output())


def _ready(server: Server) -> bool:
    try:
        with urllib.request.urlopen(
            server.url + "/_eventjobs/ready", timeout=5
        ) as answer:
            return bool(answer.status == 200)
    except OSError:  # refused, or 503 (HTTPError is an OSError)
        return False
