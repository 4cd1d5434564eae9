"""Snapshot files of the file journal: the views at a position. Blocking.

``snapshot-<position, 20 digits>.json`` holds one sealed JSON line::

    {"position": 1200, "record_hash": "<hash of record 1200>", "table": {...},
     "hash": "<hash of this line without it>"}

It is written to a temporary file, fsynced and renamed into place, so a
crash never leaves half a snapshot. The newest two are kept.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import JournalCorrupt
from .lines import REPAIR_HINT, seal, sealed_hash

PREFIX = "snapshot-"
SUFFIX = ".json"
KEEP = 2


def snapshot_name(position: int) -> str:
    return f"{PREFIX}{position:020d}{SUFFIX}"


def snapshot_paths(directory: Path) -> list[Path]:
    """Snapshot files, oldest first (temporary files excluded)."""
    return sorted(
        path
        for path in directory.glob(f"{PREFIX}*{SUFFIX}")
        if path.name[len(PREFIX) : -len(SUFFIX)].isdigit()
    )


def write_snapshot(
    directory: Path, position: int, record_hash: str, table: dict[str, Any]
) -> Path:
    """Durably write the snapshot at *position*; drop all but the newest two."""
    line, _digest = seal({"position": position, "record_hash": record_hash, "table": table})
    path = directory / snapshot_name(position)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as file:
        file.write(line + b"\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    fsync_directory(directory)
    for old in snapshot_paths(directory)[:-KEEP]:
        old.unlink(missing_ok=True)
    return path


def latest_snapshot(directory: Path) -> tuple[int, str, dict[str, Any]] | None:
    """``(position, record hash, table dict)`` of the newest snapshot, or None.

    Raises:
        JournalCorrupt: the newest snapshot does not match its hash.
    """
    paths = snapshot_paths(directory)
    if not paths:
        return None
    path = paths[-1]
    line = path.read_bytes().rstrip(b"\n")
    if sealed_hash(line) is None:
        raise JournalCorrupt(
            f"{path}: the snapshot does not match its hash (it was edited or damaged); "
            f"move it aside to start from the segments alone. {REPAIR_HINT}"
        )
    data = json.loads(line)
    position, record_hash, table = data.get("position"), data.get("record_hash"), data.get("table")
    if type(position) is not int or not isinstance(record_hash, str) or not isinstance(table, dict):
        raise JournalCorrupt(f"{path}: not a snapshot eventjobs writes. {REPAIR_HINT}")
    return position, record_hash, table


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
