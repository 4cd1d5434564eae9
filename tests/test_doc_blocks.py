"""The README's command blocks run as written, in order, on a fresh folder.

Every ``sh`` and ``console`` block of the README is run, in a new temporary
folder (the reader's fresh machine), one after the other, with the
``eventjobs`` of this tree. A block that cannot be run here is preceded by
``<!-- not run: REASON -->``; the test lists those blocks and their reasons
(:data:`NOT_RUN`), so that none is left out quietly. ``sh`` blocks run as one
script that must exit 0; in ``console`` blocks each ``$`` line must exit 0.

Two things are done for the reader that a document cannot do itself:

- ``eventjobs serve ...`` (a server that runs until stopped) is started in
  the background; the commands that follow talk to it, and it is stopped
  (SIGTERM, which must exit 0) before the next server starts or when the
  document ends. It must start listening, or the test fails with its output.
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
DOCUMENTS = [ROOT / "README.md"]

#: (document, first line of the block) -> why it is not run. Asserted equal
#: to the markers found, so that this list is the truth.
NOT_RUN = {
    ("README.md", "pip install ."): "installs the package",
    ("README.md", "pip install -e '.[test]'"): "runs the whole test suite",
    ("README.md", "eventjobs serve --app myservice.web:app"): "myservice is your app",
    (
        "README.md",
        "EVENTJOBS_JOURNAL=/var/lib/eventjobs hypercorn -k trio --bind 127.0.0.1:8529 "
        "'eventjobs.asgi:create_app()'",
    ): "a system directory; tests/e2e/test_hypercorn_factory.py runs this command",
    (
        "README.md",
        "pip install '.[postgres]'",
    ): "needs a PostgreSQL server at a URL of yours",
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


def commands(block: Block) -> list[str]:
    """The commands of *block*: its whole text for ``sh``, each ``$`` line
    (with its ``\\`` continuations) for ``console``."""
    if block.language == "sh":
        return [block.text]
    found: list[str] = []
    continuing = False
    for line in block.text.splitlines():
        if continuing:
            found[-1] += "\n" + line
        elif line.startswith("$ "):
            found.append(line[2:])
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
        for command in commands(block):
            where = f"{block.document}:{block.line}: {command!r}"
            if block.language == "console" and _SERVE.match(command):
                self.start(command.removesuffix("&").strip(), where)
                continue
            lines = command.splitlines()
            if block.language == "sh" and any(_SERVE.match(line) for line in lines):
                # The block ends by starting a server: the rest runs first.
                served = [line for line in lines if _SERVE.match(line)]
                assert len(served) == 1 and lines[-1] == served[0], where
                self.shell("\n".join(lines[:-1]), where)
                self.start(served[0], where)
                continue
            self.shell(command, where)

    def shell(self, script: str, where: str) -> None:
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", self.local(script)],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, (where, done.stdout, done.stderr)
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
        (block.document, block.first): block.not_run
        for path in DOCUMENTS
        for block in blocks(path)
        if block.not_run is not None
    }
    assert found == NOT_RUN


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
    skipped = sum(1 for document, _ in NOT_RUN if document == path.name)
    print(f"{path.name}: {ran} blocks run, {skipped} not run", file=sys.stderr)
    assert ran >= skipped, "most blocks must run"
