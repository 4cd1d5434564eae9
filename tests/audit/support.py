"""Running audit commands in-process and damaging journals on purpose."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from eventjobs.cli import main
from eventjobs.journal.segments import segment_paths


@attrs.frozen
class Ran:
    status: int
    out: str
    err: str


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Ran:
    """``eventjobs journal ARGS`` through the real command-line entry point."""
    capsys.readouterr()
    status = main(["journal", *args])
    captured = capsys.readouterr()
    return Ran(status, captured.out, captured.err)


def segment_lines(directory: Path, index: int = 0) -> tuple[Path, list[bytes]]:
    """The segment *index* of *directory* and its lines (newlines kept)."""
    path = segment_paths(directory)[index]
    return path, path.read_bytes().splitlines(keepends=True)


def views(table: dict) -> dict:
    """Encoded views without where each stored body happens to lie (memory or
    journal): that differs between a live server and a replay, by design;
    each result's status and completion time do not."""
    import json

    table = json.loads(json.dumps(table))
    for job in table["jobs"]:
        job.pop("response")
        job.pop("result_at")
    return table
