"""Module-level functions for worker processes and threads in tests.

Worker processes import them by name, so they live here, not inside tests.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def add(a: int, b: int) -> int:
    return a + b


def pid() -> int:
    return os.getpid()


def spin_forever(marker: str) -> None:
    """Say it started (the marker file holds the pid), then burn CPU, never
    yielding, forever."""
    partial = Path(marker + ".partial")
    partial.write_text(str(os.getpid()))
    os.replace(partial, marker)  # atomic: whoever sees the marker can read the pid
    while True:
        pass


def fail(message: str) -> None:
    raise ValueError(message)


def exit_abruptly() -> None:
    os._exit(3)


def unpicklable_result() -> object:
    return threading.Lock()


def wait_for(event: threading.Event, started: threading.Event, value: str) -> str:
    """Block the calling thread until *event* is set (a stand-in for a C call
    nobody can interrupt)."""
    started.set()
    event.wait(30)
    return value


def spin_ignoring_sigterm(marker: str) -> None:
    """Like :func:`spin_forever`, but deaf to SIGTERM: only SIGKILL stops it."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    spin_forever(marker)
