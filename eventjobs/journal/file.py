"""The file journal: JSON Lines in a directory, hash-chained, fsynced per batch.

Layout of the journal directory (see ``journal/README.md`` and
``docs/journal-format.md``)::

    LOCK                                held by the one server writing here
    segment-00000000000000000001.jsonl  records from sequence number 1 on
    segment-00000000000000052311.jsonl  ... a new segment past --segment-bytes
    snapshot-00000000000000100000.jsonl the views as of record 100000
    checkpoint-00000000000000052310.json  the hash of the last pruned record

Record lines are sealed and chained (:mod:`eventjobs.journal.lines`). Writes:
one ``write`` of the whole batch to the active segment (``O_APPEND``), then
one ``fdatasync``: a batch becomes durable all at once (group commit).

Damage: a final line without its newline is a write torn by a crash; it was
never acknowledged, so :meth:`FileJournal.open` cuts it off with a warning.
Anything else that does not read back (bad JSON, a gap in the sequence, a
broken chain, an unknown event) raises :class:`JournalCorrupt` naming the
file, line and sequence number: nothing is ever skipped silently.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import trio

from ..errors import ConfigError, JournalCorrupt, JournalInUse, JournalUnavailable
from ._protocol import Recorded
from .lines import GENESIS_HASH, REPAIR_HINT, encode_record, parse_record, record_seq
from .memory import check_continues
from .segments import (
    chain_anchor,
    last_line,
    list_segments,
    location,
    read_at,
    read_records,
    segment_name,
    segment_paths,
)
from .snapshots import SNAPSHOT_HINT, fsync_directory, latest_snapshot, write_snapshot

log = logging.getLogger("eventjobs.journal")

LOCK_NAME = "LOCK"

#: A new segment is started once the active one has grown past this.
DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024

__all__ = ["DEFAULT_SEGMENT_BYTES", "FileJournal", "read_records", "segment_paths"]


class FileJournal:
    """The embedded default journal. Create it with :meth:`open`.

    Only one process may write a journal directory: :meth:`open` takes an
    exclusive lock on its ``LOCK`` file. Readers (audit tools) need no lock.
    """

    reads_block = True

    def __init__(
        self,
        directory: Path,
        lock_fd: int,
        head: int,
        last_hash: str,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    ) -> None:
        self.directory = directory
        self._lock_fd = lock_fd
        self._head = head
        self._last_hash = last_hash
        self._segment_bytes = segment_bytes
        segments = list_segments(directory)
        self._segment = segments[-1].path if segments else directory / segment_name(1)
        self._segment_first = segments[-1].first_seq if segments else 1
        paths = [segment.path for segment in segments]
        self._fd = os.open(self._segment, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if not paths:
            fsync_directory(directory)
        self._size = os.fstat(self._fd).st_size
        self._appending = False
        #: Told ``(first seq, lines)`` of each batch once it is durable: the
        #: lines exactly as written, so the audit trail's Merkle tree hashes
        #: them without reading them back (see runtime/transparency.py).
        self.line_observers: list[Callable[[int, list[bytes | bytearray]], None]] = []

    def __repr__(self) -> str:
        return f"<FileJournal {str(self.directory)!r} head={self._head}>"

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        *,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    ) -> FileJournal:
        """Open (creating if needed) the journal in *directory* for writing.

        A new segment file is started when the active one has grown past
        *segment_bytes*; old segments are never rewritten.

        Blocking: call it before serving or from a worker thread.

        Raises:
            ConfigError: the directory cannot be created, written or locked.
            JournalCorrupt: the last record cannot be read.
        """
        path = Path(directory)
        if path.exists() and not path.is_dir():
            raise ConfigError(
                f"the journal path {str(path)!r} exists but is not a directory; "
                "choose another --journal"
            )
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(
                f"cannot create the journal directory {str(path)!r}: {error.strerror}; "
                "choose another --journal, or create it with permissions this user can write"
            ) from None
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(
                f"the journal directory {str(path)!r} is not writable by this user; "
                "fix its permissions or choose another --journal"
            )
        lock_fd = _lock(path)
        try:
            _cut_torn_tail(path)
            head, last_hash = _read_head(path)
            return cls(path, lock_fd, head, last_hash, segment_bytes)
        except BaseException:
            os.close(lock_fd)
            raise

    @property
    def head(self) -> int:
        return self._head

    @property
    def last_hash(self) -> str:
        """The hash of the last record (the genesis hash when empty)."""
        return self._last_hash

    async def append(self, records: Sequence[Recorded]) -> list[int] | None:
        assert not self._appending, (
            "FileJournal.append is not reentrant: use one writer"
        )
        check_continues(self._head, records)
        if not records:
            await trio.lowlevel.checkpoint()
            return []
        lines = []
        prev = self._last_hash
        for record in records:
            line, prev = encode_record(record, prev)
            lines.append(line)
        data = _buffers(lines)
        self._appending = True
        try:
            # Not abandoned on cancel: the thread always finishes (or undoes)
            # the write, so no batch is left half on disk.
            segment, start = await trio.to_thread.run_sync(
                self._write, data, records[0].seq
            )
        finally:
            self._appending = False
        self._head += len(records)
        self._last_hash = prev
        for observer in self.line_observers:
            observer(records[0].seq, lines)
        locations = []
        for line in lines:
            locations.append(location(segment, start))
            start += len(line) + 1
        return locations

    def _write(self, data: list[bytes | bytearray], first_seq: int) -> tuple[int, int]:
        """Write (in order) and sync the buffers *data*; return (segment
        first seq, byte offset) of the first."""
        if self._size >= self._segment_bytes:
            self._roll(first_seq)
        start = self._size
        try:
            _write_all(self._fd, data)
            os.fdatasync(self._fd)
        except OSError as error:
            # Undo the partial batch so the file ends on a whole record.
            try:
                os.ftruncate(self._fd, start)
            except OSError:
                pass
            raise JournalUnavailable(
                f"appending to {str(self._segment)!r} failed: "
                f"{error.strerror or errno.errorcode.get(error.errno or 0, error)}"
            ) from error
        self._size = start + sum(len(buffer) for buffer in data)
        return self._segment_first, start

    def _roll(self, first_seq: int) -> None:
        """Continue in a new segment that starts with record *first_seq*."""
        path = self.directory / segment_name(first_seq)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            fsync_directory(self.directory)
        except OSError as error:
            raise JournalUnavailable(
                f"starting the segment {str(path)!r} failed: {error.strerror}"
            ) from error
        os.close(self._fd)
        self._fd, self._segment, self._size = fd, path, 0
        self._segment_first = first_seq
        log.info("journal %s: new segment %s", self.directory, path.name)

    def read(self, after: int = 0) -> Iterator[Recorded]:
        return read_records(self.directory, after)

    def read_at(self, location: int) -> Recorded:
        return read_at(self.directory, location)

    async def save_snapshot(
        self, position: int, header: dict[str, Any], jobs: Iterable[dict[str, Any]]
    ) -> None:
        """Durably store a snapshot as of *position* (at most the head);
        *jobs* is consumed in a worker thread, as the file is written.

        Raises:
            JournalUnavailable: the file could not be written (no partial
                file is left; the older snapshots stay).
        """
        if position > self._head:
            raise ValueError(
                f"a snapshot cannot be ahead of the head ({self._head}): {position}"
            )
        head, last_hash = self._head, self._last_hash

        def write() -> None:
            record_hash = last_hash if position == head else self._hash_of(position)
            try:
                write_snapshot(self.directory, position, record_hash, header, jobs)
            except OSError as error:
                raise JournalUnavailable(
                    f"writing the snapshot at sequence number {position} in "
                    f"{str(self.directory)!r} failed: {error.strerror or error}"
                ) from error

        await trio.to_thread.run_sync(write)

    def load_snapshot(
        self,
    ) -> tuple[int, dict[str, Any], Iterator[dict[str, Any]]] | None:
        """The newest snapshot ``(position, header, jobs)``, checked against
        the record it claims to follow; None when there is none. *jobs*
        reads the file a line at a time (:mod:`eventjobs.journal.snapshots`).

        Raises:
            JournalCorrupt: the snapshot is damaged or does not match the
                journal (also from *jobs*, naming the file and line).
        """
        found = latest_snapshot(self.directory)
        if found is None:
            return None
        position = found.position
        if position > self._head or self._hash_of(position) != found.record_hash:
            raise JournalCorrupt(
                f"{found.path}: the snapshot at sequence number {position} does not "
                f"match the journal's record there. {SNAPSHOT_HINT} {REPAIR_HINT}"
            )
        return position, found.header, found.jobs()

    def _hash_of(self, seq: int) -> str:
        """The hash of record *seq* ("" if there is none). Blocking."""
        if seq == self._head:
            return self._last_hash
        for segment in reversed(list_segments(self.directory)):
            if segment.first_seq <= seq:
                with segment.path.open("rb") as file:
                    for number, line in enumerate(file, start=segment.first_seq):
                        if number == seq:
                            where = (
                                f"{segment.path}, line {seq - segment.first_seq + 1}"
                            )
                            return parse_record(line.rstrip(b"\n"), where, seq, None)[1]
        return ""

    async def aclose(self) -> None:
        """Close the segment and release the lock. Closing twice is harmless."""
        if self._fd >= 0:
            os.close(self._fd)
            os.close(self._lock_fd)
            # -1 so a later append fails (EBADF) instead of writing into
            # whatever file reuses the descriptor number.
            self._fd = self._lock_fd = -1
        await trio.lowlevel.checkpoint()


#: A line this long is written from its own buffer (not copied into the
#: batch's): a big body's line is not held twice while it is written.
_OWN_BUFFER_BYTES = 1 << 16

#: At most this many buffers per ``writev`` (the system's limit).
_IOV_MAX = min(os.sysconf("SC_IOV_MAX"), 1024) if hasattr(os, "sysconf") else 16


def _buffers(lines: list[bytes | bytearray]) -> list[bytes | bytearray]:
    """The batch *lines* (each followed by a newline) as few buffers: short
    lines joined, long ones kept as they are."""
    buffers: list[bytes | bytearray] = []
    short: list[bytes | bytearray] = []
    for line in lines:
        if len(line) < _OWN_BUFFER_BYTES:
            short += (line, b"\n")
            continue
        if short:
            buffers.append(b"".join(short))
            short = []
        buffers += (line, b"\n")
    if short:
        buffers.append(b"".join(short))
    return buffers


def _write_all(fd: int, buffers: list[bytes | bytearray]) -> None:
    """Write every byte of *buffers*, in order (``writev`` may write less)."""
    views = [memoryview(buffer) for buffer in buffers]
    while views:
        written = os.writev(fd, views[:_IOV_MAX])
        while written:
            if written >= len(views[0]):
                written -= len(views.pop(0))
            else:
                views[0] = views[0][written:]
                written = 0


def _lock(directory: Path) -> int:
    lock_path = directory / LOCK_NAME
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise ConfigError(
            f"cannot open the journal lock {str(lock_path)!r}: {error.strerror}"
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _lock_holder(fd)
        os.close(fd)
        raise JournalInUse(
            f"the journal {str(directory.resolve())!r} is in use by another eventjobs "
            f"server{holder}: one process per journal directory (several processes or machines "
            "share a PostgreSQL journal instead, docs/deployment.md); stop that server, or "
            "give this one another --journal"
        ) from None
    # Say who holds it, for the message a second server gets (the lock, not
    # this text, is what excludes it; a stale text is harmless).
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
    except OSError:
        pass
    return fd


def _lock_holder(fd: int) -> str:
    """What the holder wrote into LOCK, as ``" (pid N on HOST)"``; "" if unknown."""
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return f" ({text})" if text.startswith("pid ") and "\n" not in text else ""


def _cut_torn_tail(directory: Path) -> None:
    """Cut off a final record left incomplete by a crash (it was never acked)."""
    paths = segment_paths(directory)
    if not paths:
        return
    last = paths[-1]
    data = last.read_bytes()
    if not data or data.endswith(b"\n"):
        return
    keep = data.rfind(b"\n") + 1
    log.warning(
        "journal %s: cut off an incomplete final record at byte offset %d "
        "(%d bytes, left by a crash mid-write; it was never acknowledged)",
        last,
        keep,
        len(data) - keep,
    )
    with last.open("r+b") as file:
        file.truncate(keep)
        file.flush()
        os.fsync(file.fileno())


def _read_head(directory: Path) -> tuple[int, str]:
    """The last record's sequence number and hash, without a full scan."""
    segments = list_segments(directory)
    for segment in reversed(segments):
        line = last_line(segment.path)
        if line is None:
            continue  # created just before a crash, nothing written yet
        try:
            # From the prefix when it is as eventjobs writes it: the last
            # line may hold a big body, and parse_record reads it anyway.
            seq = record_seq(line)
            if seq is None:
                seq = json.loads(line)["seq"]
        except (ValueError, KeyError, TypeError):
            raise JournalCorrupt(
                f"{segment.path}, last line: the last record does not read as a journal "
                f"record. {REPAIR_HINT}"
            ) from None
        if type(seq) is not int or seq < 1:
            raise JournalCorrupt(
                f"{segment.path}, last line: the last record has no valid 'seq'. {REPAIR_HINT}"
            )
        where = f"{segment.path}, line {seq - segment.first_seq + 1}"
        _record, digest = parse_record(line, where, seq, None)
        return seq, digest
    if segments:
        return segments[0].first_seq - 1, chain_anchor(directory, segments[0])
    return 0, GENESIS_HASH
