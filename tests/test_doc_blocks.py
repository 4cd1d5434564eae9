"""The command blocks of the README and of docs/*.md run as written, in
order, on a fresh folder.

Every ``sh`` and ``console`` block of a document is run, in a new temporary
folder per document (the reader's fresh machine), one after the other, with
the ``eventjobs`` of this tree: a block may use what an earlier block of the
same document made (a journal, a key, a running server). A block that cannot be run here is preceded by
``<!-- not run: REASON -->``; the test lists those blocks and their reasons
(:data:`NOT_RUN`), so that none is left out quietly. ``sh`` blocks run as one
script that must exit 0; in ``console`` blocks each ``$`` line must exit 0,
unless the document shows its status: a ``$ echo $?`` line after its output,
followed by the status (``1``), which the command must then exit with.

Two things are done for the reader that a document cannot do itself:

- ``eventjobs serve ...`` (a server that runs until stopped) is started in
  the background; the commands that follow talk to it, and it is stopped
  (SIGTERM, which must exit 0) before the next server starts or when the
  document ends. It must start listening, or the test fails with its output.
  In an ``sh`` block, the lines before it run first and those after it next.
  ``$ kill %1`` (the reader stopping that background server) stops it the
  same way.
- The port 8529 (where ``eventjobs serve`` listens by default) is replaced by
  a free one in every command, a ``serve`` without ``--bind`` is given that
  port and ``EVENTJOBS_URL`` points ``eventjobs job`` there, so that the test
  can run beside anything else on this machine.

Outputs are not compared (job ids, times and sizes differ from run to run);
tests/test_docs.py checks the samples that can be checked.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from tests.support import free_port

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: document -> (first line of the block, why it is not run), in the order of
#: the document. Asserted equal to the markers found, so that this list is
#: the truth.
NOT_RUN: dict[str, list[tuple[str, str]]] = {
    "README.md": [
        ("pip install .", "installs the package"),
        ("pip install -e '.[test]'", "runs the whole test suite"),
        ("eventjobs serve --app myservice.web:app", "myservice is your app"),
        (
            "EVENTJOBS_JOURNAL=/var/lib/eventjobs hypercorn -k trio --bind 127.0.0.1:8529 'eventjobs.asgi:create_app()'",
            "a system directory; tests/e2e/test_hypercorn_factory.py runs this command",
        ),
        ("pip install '.[postgres]'", "needs a PostgreSQL server at a URL of yours"),
    ],
    "audit.md": [
        (
            "$ curl -s http://127.0.0.1:8529/_eventjobs/checkpoint | tee checkpoint-1.txt",
            "needs the server's first checkpoint, signed up to 10 s after the journal grew; tests/audit/test_trail_commands.py runs these commands",
        ),
        (
            "$ curl -s http://127.0.0.1:8529/_eventjobs/jobs/2/receipt > receipt.json",
            "needs the server's first checkpoint, signed up to 10 s after the journal grew; tests/audit/test_trail_commands.py runs these commands",
        ),
        (
            "$ eventjobs journal show trail 2 --key jobs.pub | tail -n 1",
            "needs the server's first checkpoint, signed up to 10 s after the journal grew; tests/audit/test_trail_commands.py runs these commands",
        ),
        (
            "$ eventjobs journal monitor http://127.0.0.1:8529 --key jobs.pub --store seen --once",
            "needs the server's first checkpoint, signed up to 10 s after the journal grew; tests/audit/test_trail_commands.py runs these commands",
        ),
        (
            "$ kill %1",
            "needs the server's first checkpoint, signed up to 10 s after the journal grew; tests/audit/test_trail_commands.py runs these commands",
        ),
    ],
    "auth.md": [
        (
            "eventjobs users add --file /etc/eventjobs/users.json root --superuser",
            "writes to /etc/eventjobs, a system directory; the README's authentication block runs the same commands in a folder of its own",
        ),
    ],
    "cli-client.md": [
        (
            "$ eventjobs job submit PUT /_admin/echo --data 'hello'",
            "a session with your own app (/reports, query.json, jobs 3 to 8 in the states shown); tests/client/ run these commands",
        ),
        (
            "$ eventjobs job status 3",
            "a session with your own app (/reports, query.json, jobs 3 to 8 in the states shown); tests/client/ run these commands",
        ),
        (
            "$ eventjobs job fetch 2",
            "a session with your own app (/reports, query.json, jobs 3 to 8 in the states shown); tests/client/ run these commands",
        ),
        (
            "$ eventjobs job cancel 5",
            "a session with your own app (/reports, query.json, jobs 3 to 8 in the states shown); tests/client/ run these commands",
        ),
        (
            "$ eventjobs job list done --count 2",
            "a session with your own app (/reports, query.json, jobs 3 to 8 in the states shown); tests/client/ run these commands",
        ),
        (
            "$ eventjobs job delete 6",
            "a session with your own app (/reports, query.json, jobs 3 to 8 in the states shown); tests/client/ run these commands",
        ),
        (
            "$ eventjobs job submit POST '/_admin/sleep?duration=600' --wait",
            "a session with your own app (/reports, query.json, jobs 3 to 8 in the states shown); tests/client/ run these commands",
        ),
    ],
    "dashboard.md": [
        (
            "$ curl -sN http://127.0.0.1:8529/_eventjobs/events",
            "follows the feed until interrupted; tests/http/test_dashboard_feed.py reads it",
        ),
    ],
    "deployment.md": [
        (
            "eventjobs serve --journal /var/lib/eventjobs --bind 0.0.0.0:8529",
            "a system directory, on every interface",
        ),
        (
            "EVENTJOBS_JOURNAL=/var/lib/eventjobs \\",
            "a system directory, on every interface; tests/e2e/test_hypercorn_factory.py runs hypercorn",
        ),
        (
            "pip install 'eventjobs[postgres]'          # psycopg 3",
            "installs packages and needs a PostgreSQL server of yours",
        ),
        (
            "eventjobs journal copy ./journal 'postgresql://localhost/jobs?schema=eventjobs'",
            "needs a PostgreSQL server of yours; tests/postgres/ copy both ways",
        ),
    ],
    "durability.md": [
        (
            "eventjobs journal prune ./journal --before 2026-10-01 [--archive /backup/journal]",
            "a synopsis ([--archive DIR] is optional) for a journal of yours with old segments; tests/audit/ prune journals",
        ),
    ],
    "embedding.md": [
        (
            "hypercorn -k trio library_app:app --bind 127.0.0.1:8529",
            "runs in a clone's docs/examples until stopped; tests/http/test_embedding.py serves this app",
        ),
        ("eventjobs serve --app myservice.web:app", "myservice is your app"),
        (
            "cd docs/examples",
            "runs in a clone's docs/examples; tests/http/test_embedding.py serves this app",
        ),
        (
            "cd docs/examples",
            "runs in a clone's docs/examples; tests/http/test_wsgi.py serves this app",
        ),
        (
            "cd docs/examples",
            "runs in a clone's docs/examples; tests/http/test_wsgi.py serves this project",
        ),
        (
            "cd docs/examples",
            "runs in a clone's docs/examples; tests/http/test_upstream.py runs this service",
        ),
    ],
    "long-running.md": [
        (
            "$ curl -i http://127.0.0.1:8529/_api/job/3",
            "job 3 is a thread job of your app being cancelled; tests/e2e/test_long_running_server.py makes one",
        ),
        (
            "$ curl -i -X PUT -H 'x-eventjobs-wait: 30' http://127.0.0.1:8529/_api/job/7",
            "job 7 is a job of your app; tests/e2e/test_long_running_server.py waits on one",
        ),
    ],
    "operations.md": [
        (
            "EVENTJOBS_JOURNAL=/var/lib/eventjobs hypercorn --config python:eventjobs.hypercorn_config \\",
            "a system directory; tests/e2e/test_hypercorn_factory.py runs hypercorn with this config",
        ),
    ],
    "performance.md": [
        (
            "apt-get install -y wrk                 # optional: else a Python load generator is used",
            "installs packages and runs for minutes (a benchmark)",
        ),
    ],
}

_MARKER = re.compile(r"<!--\s*not run:\s*(.*?)\s*-->")
_SERVE = re.compile(r"^eventjobs serve\b(?!.*--help)")


@attrs.frozen
class Block:
    document: str
    line: int
    language: str
    text: str
    not_run: str | None

    @property
    def first(self) -> str:
        return self.text.splitlines()[0]


def blocks(path: Path) -> Iterator[Block]:
    """The ``sh`` and ``console`` blocks of *path*, with the reason given
    in a ``not run`` comment on the line before the fence, if any."""
    lines = path.read_text().splitlines()
    number = 0
    while number < len(lines):
        fence = re.match(r"\s*```(\w*)\s*$", lines[number])
        if not fence:
            number += 1
            continue
        end = number + 1
        while not lines[end].lstrip().startswith("```"):
            end += 1
        before = lines[number - 1] if number else ""
        marker = _MARKER.search(before)
        if fence[1] in ("sh", "console"):
            yield Block(
                path.name,
                number + 1,
                fence[1],
                "\n".join(lines[number + 1 : end]),
                marker[1] if marker else None,
            )
        number = end + 1


def commands(block: Block) -> list[tuple[str, int]]:
    """The commands of *block*, each with the exit status it must have: its
    whole text for ``sh``, each ``$`` line (with its ``\\`` continuations)
    for ``console``, where a ``$ echo $?`` line and the status under it set
    the status of the command before it (and are not run themselves)."""
    if block.language == "sh":
        return [(block.text, 0)]
    found: list[tuple[str, int]] = []
    continuing = False
    lines = block.text.splitlines()
    for number, line in enumerate(lines):
        if continuing:
            found[-1] = (found[-1][0] + "\n" + line, 0)
        elif line == "$ echo $?" and found:
            shown = lines[number + 1] if number + 1 < len(lines) else ""
            assert shown.isdigit(), (
                f"{block.document}:{block.line}: echo $? shows no status"
            )
            found[-1] = (found[-1][0], int(shown))
        elif line.startswith("$ "):
            found.append((line[2:], 0))
        else:
            continue
        continuing = line.endswith("\\")
    return found


class Reader:
    """A reader at a fresh machine: one folder, and the server they started."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.server: subprocess.Popen[str] | None = None
        self.server_output = folder / "server-output.txt"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "HOME": str(folder),
            "NO_COLOR": "1",
            # The client's default address, moved to the same free port.
            "EVENTJOBS_URL": f"http://127.0.0.1:{self.port}",
        }

    def local(self, command: str) -> str:
        return command.replace("8529", str(self.port))

    def run(self, block: Block) -> None:
        for command, status in commands(block):
            where = f"{block.document}:{block.line}: {command!r}"
            if block.language == "console" and _SERVE.match(command):
                self.start(command.removesuffix("&").strip(), where)
                continue
            if block.language == "console" and command == "kill %1":
                assert self.server is not None, f"{where}: no server to stop"
                self.stop()
                continue
            if block.language == "sh":
                # A server started in the middle: what comes before runs
                # first, what comes after talks to it.
                script: list[str] = []
                for line in command.splitlines():
                    if _SERVE.match(line):
                        self.shell("\n".join(script), where)
                        self.start(line, where)
                        script = []
                    else:
                        script.append(line)
                command = "\n".join(script)
            self.shell(command, where, status)

    def shell(self, script: str, where: str, status: int = 0) -> None:
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", self.local(script)],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == status, (where, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, (where, done.stderr)

    def start(self, command: str, where: str) -> None:
        self.stop()
        command = self.local(command)
        if "--bind" not in command:
            command += f" --bind 127.0.0.1:{self.port}"
        output = self.server_output.open("w")
        self.server = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=self.folder,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 20
        while "listening on" not in self.server_output.read_text():
            if self.server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{where}: the server did not start:\n{self.output()}")
            time.sleep(0.02)  # polling a process's output: nothing to wait on
        self._wait_ready(where)

    def _wait_ready(self, where: str) -> None:
        import httpx

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(
                    f"http://127.0.0.1:{self.port}/_eventjobs/ready", timeout=5
                )
                if ready.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        pytest.fail(f"{where}: the server did not become ready:\n{self.output()}")

    def output(self) -> str:
        return self.server_output.read_text()

    def stop(self) -> None:
        if self.server is None:
            return
        server, self.server = self.server, None
        server.send_signal(signal.SIGTERM)
        status = server.wait(timeout=20)
        assert status == 0, self.output()


def test_the_not_run_markers_are_the_ones_listed() -> None:
    found = {
        path.name: [
            (block.first, block.not_run)
            for block in blocks(path)
            if block.not_run is not None
        ]
        for path in DOCUMENTS
    }
    assert {name: marked for name, marked in found.items() if marked} == NOT_RUN


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.name)
def test_every_command_block_runs_as_written(path: Path, tmp_path: Path) -> None:
    reader = Reader(tmp_path)
    ran = 0
    try:
        for block in blocks(path):
            if block.not_run is None:
                reader.run(block)
                ran += 1
    finally:
        reader.stop()
    skipped = len(NOT_RUN.get(path.name, []))
    print(f"{path.name}: {ran} blocks run, {skipped} not run", file=sys.stderr)
    if path.name == "README.md":  # the reader's first steps, all of them
        assert ran >= skipped, "most blocks must run"
