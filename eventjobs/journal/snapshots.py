"""Snapshot files of the file journal: the views at a position. Blocking.

``snapshot-<position, 20 digits>.jsonl`` is JSON Lines, every line sealed
(its last member is the hash of the line without it, as for records)::

    {"snapshot":2,"position":1200,"record_hash":"<hash of record 1200>","header":{...},"hash":"..."}
    {...one job...,"hash":"..."}
    ...
    {"end":2,"digest":"<SHA-256 of the hashes of every line before>","hash":"..."}

The first line holds the position the snapshot covers, the hash of the
record there (so a snapshot of another history is refused) and the caller's
header; then one line per job; then the closing line, with the number of job
lines and a digest over the hashes of all lines before it (so a removed,
added, reordered or swapped-in line is caught, and a file cut short misses
it). A line's own seal names the line an edit damaged.

It is written a job at a time to a temporary file, fsynced and renamed
into place, so a crash never leaves half a snapshot; and read a job at a
time, so neither side holds the whole snapshot in memory. The newest two
are kept.

Version 1 snapshots (``snapshot-<position>.json``: one sealed line holding
``position``, ``record_hash`` and the whole ``table``) still read, decoded
at once; the next snapshot the server writes replaces them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO, ContextManager

_orjson: ModuleType | None
try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency; json still works
    _orjson = None

from ..errors import JournalCorrupt
from .lines import sealed_hash

PREFIX = "snapshot-"
SUFFIX = ".jsonl"
#: Version 1: one sealed line; still read.
OLD_SUFFIX = ".json"
FORMAT = 2
KEEP = 2

_HASH_OPEN = b',"hash":"'

SNAPSHOT_HINT = (
    "A snapshot only saves replaying the segments: move the file aside and the "
    "server starts from the segments (or the snapshot before it) instead."
)


def snapshot_name(position: int) -> str:
    return f"{PREFIX}{position:020d}{SUFFIX}"


def snapshot_paths(directory: Path) -> list[Path]:
    """Snapshot files of either version, oldest position first (a version 2
    file after a version 1 one of the same position); temporary files excluded."""
    found = []
    for suffix in (OLD_SUFFIX, SUFFIX):
        for path in directory.glob(f"{PREFIX}*{suffix}"):
            digits = path.name[len(PREFIX) : -len(suffix)]
            if digits.isdigit():
                found.append((int(digits), suffix == SUFFIX, path))
    return [path for _, _, path in sorted(found)]


def snapshot_lines(
    position: int,
    record_hash: str,
    header: dict[str, Any],
    jobs: Iterable[dict[str, Any]],
) -> Iterator[bytes]:
    """The sealed lines (newline included) of the snapshot at *position*,
    consuming *jobs* one at a time: the format above, for any storage."""
    digest = hashlib.sha256()
    count = 0
    line, line_hash = _seal(
        {
            "snapshot": FORMAT,
            "position": position,
            "record_hash": record_hash,
            "header": header,
        }
    )
    yield line
    digest.update(line_hash)
    for job in jobs:
        line, line_hash = _seal(job)
        yield line
        digest.update(line_hash)
        count += 1
    yield _seal({"end": count, "digest": digest.hexdigest()})[0]


def write_snapshot(
    directory: Path,
    position: int,
    record_hash: str,
    header: dict[str, Any],
    jobs: Iterable[dict[str, Any]],
) -> Path:
    """Durably write the snapshot at *position*, consuming *jobs* one at a
    time; drop all but the newest two snapshots."""
    path = directory / snapshot_name(position)
    temporary = path.with_name(path.name + ".tmp")
    try:
        with temporary.open("wb") as file:
            for line in snapshot_lines(position, record_hash, header, jobs):
                file.write(line)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)
    fsync_directory(directory)
    for old in snapshot_paths(directory)[:-KEEP]:
        old.unlink(missing_ok=True)
    return path


def _seal(value: dict[str, Any]) -> tuple[bytes, bytes]:
    """*value* as a sealed line with its newline, and its hash (hex, ASCII).

    Any JSON spelling will do (the seal covers the bytes as written, and a
    reader only checks them), so orjson writes it when it can: a snapshot
    of a million jobs is written in a worker thread, but that thread holds
    the GIL while it encodes.
    """
    if "hash" in value:
        raise ValueError(
            "a snapshot line may not have a member named 'hash' (its seal)"
        )
    data = None
    if _orjson is not None:
        try:
            data = _orjson.dumps(value)
        except TypeError:  # a lone surrogate, an integer beyond 64 bits
            pass
    if data is None or not data.isascii():
        data = json.dumps(value, separators=(",", ":")).encode("ascii")
    if not (data.startswith(b"{") and len(data) > 2):
        raise ValueError(f"a snapshot line must be a non-empty JSON object: {value!r}")
    line_hash = hashlib.sha256(data).hexdigest().encode("ascii")
    return data[:-1] + _HASH_OPEN + line_hash + b'"}\n', line_hash


def _loads(line: bytes) -> Any:
    if _orjson is not None:
        try:
            return _orjson.loads(line)
        except ValueError:
            pass  # a lone surrogate (json wrote it escaped), or damage: json says which
    return json.loads(line)


class SnapshotFile:
    """One snapshot, its first line read and checked.

    :meth:`jobs` then reads the job entries a line at a time. *path* names
    the snapshot in messages (a file, or a PostgreSQL table and position);
    *lines* opens its raw lines, the first included (by default the file
    at *path*).
    """

    def __init__(
        self,
        path: Path | str,
        position: int,
        record_hash: str,
        header: dict[str, Any],
        *,
        header_hash: bytes = b"",
        old_jobs: list[Any] | None = None,
        lines: Callable[[], ContextManager[Iterable[bytes]]] | None = None,
    ) -> None:
        self.path = path
        self._lines = lines if lines is not None else partial(_open_binary, path)
        self.position = position
        self.record_hash = record_hash
        self.header = header
        #: The first line's hash, where the closing digest starts.
        self._header_hash = header_hash
        #: The jobs of a version 1 snapshot, read with its one line.
        self._old_jobs = old_jobs

    def __repr__(self) -> str:
        return f"<SnapshotFile {str(self.path)!r} position={self.position}>"

    def jobs(self) -> Iterator[dict[str, Any]]:
        """The job entries, in file order, each checked against its seal.

        Blocking: reads the file as it is iterated. The closing line is
        checked once the last entry has been handed out, so the snapshot is
        known whole only when the iterator is exhausted without an error.

        Raises (while iterated):
            JournalCorrupt: a line is damaged, missing, added or out of place,
                or the file was cut short; naming the file and line.
        """
        if self._old_jobs is not None:
            return iter(self._old_jobs)
        return self._read_jobs()

    def _read_jobs(self) -> Iterator[dict[str, Any]]:
        digest = hashlib.sha256(self._header_hash)
        count = 0
        number = 1
        # One line of lookahead: the last line is the closing one, whatever
        # it holds, so a job entry may have any members but "hash".
        held: tuple[dict[str, Any], bytes] | None = None
        with self._lines() as lines:
            raws = iter(lines)
            next(raws, None)  # the first line, checked by read_snapshot
            for raw in raws:
                number += 1
                line = _parse_line(self.path, raw, number)
                if held is not None:
                    digest.update(held[1])
                    count += 1
                    yield held[0]
                held = line
        if held is None:
            raise JournalCorrupt(
                f"{self.path}: the snapshot ends after its first line, without its closing "
                f"line (the file was cut short). {SNAPSHOT_HINT}"
            )
        closing = held[0]
        if set(closing) != {"end", "digest"} or type(closing["end"]) is not int:
            raise _damage(
                self.path,
                number,
                "the last line is not a closing line (the file was cut short)",
            )
        if closing["end"] != count or closing["digest"] != digest.hexdigest():
            raise _damage(
                self.path,
                number,
                f"the closing line does not match the {count} job lines before it "
                "(lines were removed, added, reordered or replaced)",
            )


def read_snapshot(path: Path) -> SnapshotFile:
    """The snapshot in *path*, its first line checked (a version 1 file: all
    of it, as it is one line).

    Raises:
        JournalCorrupt: the first line is damaged or not a snapshot's.
    """
    if path.name.endswith(OLD_SUFFIX):
        return _read_old(path)
    with path.open("rb") as file:
        raw = file.readline()
    return open_snapshot(path, raw)


def open_snapshot(
    where: Path | str,
    first_line: bytes,
    lines: Callable[[], ContextManager[Iterable[bytes]]] | None = None,
) -> SnapshotFile:
    """The snapshot whose first raw line is *first_line*, checked; *lines*
    opens all its raw lines again for :meth:`SnapshotFile.jobs`.

    Raises:
        JournalCorrupt: the first line is damaged or not a snapshot's.
    """
    path = where
    value, line_hash = _parse_line(path, first_line, 1)
    position, record_hash, header = (
        value.get("position"),
        value.get("record_hash"),
        value.get("header"),
    )
    if (
        value.get("snapshot") != FORMAT
        or type(position) is not int
        or not isinstance(record_hash, str)
        or not isinstance(header, dict)
    ):
        raise _damage(path, 1, f"not the first line of a version {FORMAT} snapshot")
    return SnapshotFile(
        path, position, record_hash, header, header_hash=line_hash, lines=lines
    )


def _read_old(path: Path) -> SnapshotFile:
    line = path.read_bytes().rstrip(b"\n")
    if sealed_hash(line) is None:
        raise JournalCorrupt(
            f"{path}, line 1: the snapshot does not match its hash (it was edited or damaged). "
            f"{SNAPSHOT_HINT}"
        )
    try:
        data = _loads(line)
    except ValueError as error:
        raise _damage(path, 1, f"not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise _damage(path, 1, "not a JSON object")
    position, record_hash, table = (
        data.get("position"),
        data.get("record_hash"),
        data.get("table"),
    )
    if (
        type(position) is not int
        or not isinstance(record_hash, str)
        or not isinstance(table, dict)
        or not isinstance(table.get("jobs"), list)
    ):
        raise JournalCorrupt(
            f"{path}: not a snapshot eventjobs writes. {SNAPSHOT_HINT}"
        )
    jobs = table.pop("jobs")
    return SnapshotFile(path, position, record_hash, table, old_jobs=jobs)


def _open_binary(path: Path | str) -> BinaryIO:
    return Path(path).open("rb")


def _parse_line(
    path: Path | str, raw: bytes, number: int
) -> tuple[dict[str, Any], bytes]:
    """Line *number* of *path* (as read, newline included), checked against
    its seal and without it, and its hash."""
    if not raw.endswith(b"\n"):
        raise _damage(path, number, "the line is incomplete (the file was cut short)")
    line = raw[:-1]
    claimed = sealed_hash(line)
    if claimed is None:
        raise _damage(
            path, number, "the line does not match its hash (it was edited or damaged)"
        )
    try:
        value = _loads(line)
    except ValueError as error:
        raise _damage(path, number, f"not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise _damage(path, number, "not a JSON object")
    del value["hash"]
    return value, claimed.encode("ascii")


def _damage(path: Path | str, number: int, problem: str) -> JournalCorrupt:
    return JournalCorrupt(f"{path}, line {number}: {problem}. {SNAPSHOT_HINT}")


def latest_snapshot(directory: Path) -> SnapshotFile | None:
    """The newest snapshot (first line checked), or None.

    Raises:
        JournalCorrupt: its first line is damaged.
    """
    paths = snapshot_paths(directory)
    return read_snapshot(paths[-1]) if paths else None


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
