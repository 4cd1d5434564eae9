"""What the client shows on stderr while it waits: a spinner, and a progress
bar once the job reports progress.

Drawn only when stderr is a terminal (and ``TERM`` is not ``dumb``), so
scripts, pipes and tests that capture stderr get no control characters.
:func:`render_line` is pure (one line of text for a moment of the wait);
:class:`Spinner` redraws it ten times a second from a daemon thread, so the
spinner turns while the main thread sits in a held status request.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from types import TracebackType
from typing import Protocol, Self, TextIO

from .api import Pending

UNICODE_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ASCII_FRAMES = "|/-\\"
BAR_WIDTH = 20
#: Clear from the cursor to the end of the line (ECMA-48 EL).
CLEAR_LINE = "\r\x1b[K"


def format_elapsed(seconds: float) -> str:
    """``7s``, ``2m05s``, ``1h02m``."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def render_line(
    *,
    job_id: int,
    pending: Pending | None,
    elapsed: float,
    frame: int,
    width: int,
    unicode: bool = True,
) -> str:
    """The status line for job *job_id*, at most *width* - 1 characters (a
    line as wide as the terminal would wrap on some of them).

    Without progress: ``⠋ job 12 pending 3s``; with it:
    ``⠋ job 12 [████████░░░░░░░░░░░░]  42% page 42 of 100 3s``.
    *pending* None means no status has come back yet.
    """
    frames = UNICODE_FRAMES if unicode else ASCII_FRAMES
    parts = [frames[frame % len(frames)], f"job {job_id}"]
    if pending is not None and pending.cancelling:
        parts.append("cancelling")
    if pending is not None and pending.progress is not None:
        fraction, message = pending.progress
        filled = round(fraction * BAR_WIDTH)
        full, empty = ("█", "░") if unicode else ("#", "-")
        parts.append(
            f"[{full * filled}{empty * (BAR_WIDTH - filled)}] {fraction * 100:3.0f}%"
        )
        if message:
            # One line, whatever the job wrote.
            parts.append(" ".join(message.split()))
    elif pending is None or not pending.cancelling:
        parts.append("waiting" if pending is None else "pending")
    parts.append(format_elapsed(elapsed))
    line = " ".join(parts)
    limit = max(1, width - 1)
    if len(line) <= limit:
        return line
    return line[: limit - 1] + "…" if unicode else line[:limit]


class Display(Protocol):
    def update(self, pending: Pending) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class Silent:
    """No display: stderr is not a terminal."""

    def update(self, pending: Pending) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


class Spinner:
    """The status line of :func:`render_line` on *stream*, redrawn every
    0.1 s by a daemon thread until the ``with`` block ends, which clears
    the line (also on Ctrl-C) so that what follows starts on a clean one."""

    def __init__(self, stream: TextIO, job_id: int) -> None:
        self._stream = stream
        self._job_id = job_id
        self._pending: Pending | None = None
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        self._unicode = encoding == "utf8"
        self._thread = threading.Thread(
            target=self._run, name="eventjobs-spinner", daemon=True
        )

    def update(self, pending: Pending) -> None:
        self._pending = pending  # one reference swap: no lock needed

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            self._stream.write(CLEAR_LINE)
            self._stream.flush()

    def _width(self) -> int:
        # The width of the terminal stderr is on (shutil asks stdout's,
        # which may be a file).
        # A new pseudo-terminal may say 0 columns: take 80 then.
        try:
            columns = os.get_terminal_size(self._stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            columns = shutil.get_terminal_size((80, 24)).columns
        return columns if columns > 0 else 80

    def _run(self) -> None:
        frame = 0
        while not self._stop.is_set():
            width = self._width()
            line = render_line(
                job_id=self._job_id,
                pending=self._pending,
                elapsed=time.monotonic() - self._started,
                frame=frame,
                width=width,
                unicode=self._unicode,
            )
            with self._lock:
                self._stream.write(CLEAR_LINE + line)
                self._stream.flush()
            frame += 1
            self._stop.wait(0.1)


def display_for(stream: TextIO, job_id: int) -> Display:
    """A :class:`Spinner` on *stream* if it is a terminal, else :class:`Silent`."""
    try:
        terminal = stream.isatty()
    except ValueError:  # closed
        terminal = False
    if terminal and os.environ.get("TERM") != "dumb":
        return Spinner(stream, job_id)
    return Silent()
