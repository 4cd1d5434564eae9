"""A progress bar on stderr for long reads (replay and stats of large journals).

Shown only when stderr is a terminal and the journal is large enough to take
a noticeable time; it overwrites one line and erases it when done, so it
never mixes into output that is piped or redirected.
"""

from __future__ import annotations

import time
from typing import TextIO

#: Below this many bytes a journal reads in well under a second: no bar.
MIN_BYTES = 8 << 20
#: At most this many redraws per second.
_INTERVAL = 0.2


class ProgressBar:
    """Call with ``(bytes read, bytes in all)``; :meth:`close` erases the line."""

    def __init__(
        self, stream: TextIO, label: str, *, min_bytes: int = MIN_BYTES
    ) -> None:
        self.stream = stream
        self.label = label
        self.min_bytes = min_bytes
        self._last = 0.0
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if total < self.min_bytes or now - self._last < _INTERVAL:
            return
        self._last = now
        fraction = done / total if total else 1.0
        filled = int(fraction * 30)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%}"
        )
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
