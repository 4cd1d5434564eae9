"""Driving the server with wrk (a compiled load generator) and Lua scripts.

Python fallback: :mod:`.pyload` prints the same ``BENCH`` line, so the rest
of the harness does not care which generator ran.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .load import LoadResult
from .lua import SCRIPTS
from .machine import pin_to


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_load(
    client: str,
    kind: str,
    url: str,
    *,
    connections: int,
    seconds: float,
    args: tuple[str, ...] = (),
    cores: set[int] | None = None,
) -> LoadResult:
    """Run one *kind* of load (a key of :data:`.lua.SCRIPTS`) for *seconds*.

    *client* is ``"wrk"`` or ``"python"``; the generator runs as its own
    process pinned to *cores*.
    """
    if client == "wrk":
        with tempfile.TemporaryDirectory(prefix="eventjobs-wrk-") as tmp:
            script = Path(tmp) / f"{kind}.lua"
            script.write_text(SCRIPTS[kind])
            # wrk takes whole seconds; one thread: one client core.
            command = [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                url,
                *args,
            ]
            return _run(command, cores)
    command = [
        sys.executable,
        "-m",
        "eventjobs.bench.pyload",
        kind,
        url,
        str(connections),
        str(seconds),
        *args,
    ]
    return _run(command, cores)


def _run(command: list[str], cores: set[int] | None) -> LoadResult:
    done = subprocess.run(
        command, capture_output=True, text=True, preexec_fn=pin_to(cores), check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{command[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return LoadResult.parse(done.stdout)
