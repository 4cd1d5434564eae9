"""Helpers shared by the end-to-end tests against a real server process."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], what: str, timeout: float = 10.0) -> T:
    """Poll *predicate* until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def journal_events(journal: Path) -> list[dict[str, Any]]:
    """The records a server has written to *journal* so far, as dicts.

    Read while the server writes: a line being written is skipped.
    """
    events: list[dict[str, Any]] = []
    for segment in sorted(journal.glob("segment-*.jsonl")):
        for line in segment.read_bytes().splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                pass  # a line being written right now
    return events
