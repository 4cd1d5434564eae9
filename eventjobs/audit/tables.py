"""Aligned text tables and times for the audit commands. Pure.

On a terminal the header is bold and the event type coloured; through a pipe
(or with ``colour=False``) the same aligned table is written as plain text, so
golden files and ``grep`` see no escape codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, UTC

_BOLD = "\x1b[1m"
_RESET = "\x1b[0m"
#: Event type -> ANSI colour: failures red, results green, removals dim.
TYPE_COLOURS = {
    "queued": "\x1b[36m",
    "started": "\x1b[34m",
    "done": "\x1b[32m",
    "cancelled": "\x1b[33m",
    "interrupted": "\x1b[31m",
    "requeued": "\x1b[35m",
    "retrying": "\x1b[35m",
    "fetched": "\x1b[32m",
    "deleted": "\x1b[2m",
}


def iso(seconds: float | None) -> str:
    """``2023-11-14T22:13:20.250Z`` (UTC, milliseconds); ``-`` for None."""
    if seconds is None:
        return "-"
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def duration(seconds: float | None) -> str:
    """``2.500s``; ``-`` for None."""
    return "-" if seconds is None else f"{seconds:.3f}s"


def who(name: str | None) -> str:
    """A user name as shown; ``-`` when nobody was authenticated (auth off)."""
    return "-" if name is None else name


def render(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    colour: bool = False,
    colour_column: int | None = None,
) -> str:
    """*rows* under *header*, columns padded to their widest cell, one line
    each, no trailing spaces. With *colour*, the header is bold and the cells
    of *colour_column* are coloured by :data:`TYPE_COLOURS`."""
    widths = [len(name) for name in header]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    lines = []
    for number, row in enumerate([list(header), *map(list, rows)]):
        cells = []
        for index, cell in enumerate(row):
            padded = cell.ljust(widths[index]) if index < len(row) - 1 else cell
            if colour and number == 0:
                padded = _BOLD + padded + _RESET
            elif colour and index == colour_column and cell in TYPE_COLOURS:
                padded = TYPE_COLOURS[cell] + padded + _RESET
            cells.append(padded)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"
