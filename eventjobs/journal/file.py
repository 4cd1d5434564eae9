"""The file journal: JSON Lines in a directory, hash-chained, fsynced per batch.

Layout of the journal directory (see ``journal/README.md`` and
``docs/journal-format.md``)::

    LOCK                               held by the one server writing here
    segment-00000000000000000001.jsonl records from sequence number 1 on

One record per line, for example::

    {"seq":3,"prev":"9f2c...","type":"started","v":1,"job":2,"time":1764412345.5,"hash":"41ab..."}

``hash`` is the SHA-256 (hex) of the line as it would read without it (the
same bytes with ``,"hash":"..."`` removed), so editing any byte of a record,
the last one included, is caught by the record itself. ``prev`` is the
previous record's ``hash`` (64 zeros for the first), so removing or
reordering lines breaks the chain at a known place.

Writes: one ``write`` of the whole batch to a file opened with ``O_APPEND``,
then one ``fdatasync``: a batch becomes durable all at once (group commit).

Damage: a final line without its newline is a write torn by a crash; it was
never acknowledged, so :meth:`FileJournal.open` cuts it off with a warning.
Anything else that does not read back (bad JSON, a gap in the sequence, a
broken chain, an unknown event) raises :class:`JournalCorrupt` naming the
file, line and sequence number: nothing is ever skipped silently.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import trio

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency; json still works
    _orjson = None

from ..codec import decode_event, encode_event
from ..errors import CodecError, ConfigError, JournalCorrupt, JournalUnavailable
from ._protocol import Recorded
from .memory import check_continues

log = logging.getLogger("eventjobs.journal")

GENESIS_HASH = "0" * 64
_HASH_OPEN = b',"hash":"'
_SEAL_LENGTH = len(_HASH_OPEN) + 64 + 2  # ,"hash":"<64 hex digits>"}
SEGMENT_PREFIX = "segment-"
SEGMENT_SUFFIX = ".jsonl"
LOCK_NAME = "LOCK"

_REPAIR_HINT = (
    "The journal was changed by something other than eventjobs. Restore the "
    "directory from a backup, or move it aside and start with an empty one; "
    "never edit journal files by hand."
)


def segment_name(first_seq: int) -> str:
    return f"{SEGMENT_PREFIX}{first_seq:020d}{SEGMENT_SUFFIX}"


def segment_paths(directory: Path) -> list[Path]:
    """The segment files of *directory*, in sequence order."""
    return sorted(directory.glob(f"{SEGMENT_PREFIX}*{SEGMENT_SUFFIX}"))


def encode_line(seq: int, prev: str, event_data: dict[str, Any]) -> tuple[bytes, str]:
    """The journal line (without newline) for one record, and its hash.

    The bytes are exactly ``json.dumps(record, separators=(",", ":"))``
    (ASCII, non-ASCII ``\\u``-escaped) whichever serialiser produced them;
    see :func:`_dumps`.
    """
    record = {"seq": seq, "prev": prev, **event_data}
    unsealed = _dumps(record)
    digest = hashlib.sha256(unsealed).hexdigest()
    return unsealed[:-1] + _HASH_OPEN + digest.encode("ascii") + b'"}', digest


def _dumps(record: dict[str, Any]) -> bytes:
    """Compact ASCII JSON for *record*, byte for byte what ``json.dumps`` gives.

    orjson is 4-8x faster than ``json.dumps`` on a journal record, and the
    encoding runs on the event loop for every event (docs/performance.md),
    so it is used when its output is provably the same bytes:

    - the output is ASCII: orjson writes non-ASCII characters as raw UTF-8
      where the format escapes them (``ensure_ascii``), so any other text
      takes the ``json`` path, which also handles lone surrogates (orjson
      refuses them);
    - the event time (the only float in a record) is 0 or has a magnitude in
      [1e-4, 1e16): there both print the shortest round-trip digits without
      an exponent; outside it they spell exponents differently (``1e+16``
      against ``1e16``);
    - integers fit 64 bits (orjson raises otherwise).

    ``tests/test_codec.py`` checks the equality on arbitrary events.
    """
    if _orjson is not None:
        time = record.get("time")
        if type(time) is not float or time == 0 or 1e-4 <= abs(time) < 1e16:
            try:
                data: bytes = _orjson.dumps(record)
            except TypeError:  # a lone surrogate, an integer beyond 64 bits
                pass
            else:
                if data.isascii():
                    return data
    # ensure_ascii keeps every line plain ASCII: any str round-trips, lone
    # surrogates included, and the bytes hashed are unambiguous.
    return json.dumps(record, separators=(",", ":")).encode("ascii")


def record_hash(line: bytes) -> str | None:
    """The hash a line claims, if it is the one its content has; else None."""
    if len(line) < _SEAL_LENGTH or not line.endswith(b'"}'):
        return None
    seal = line[-_SEAL_LENGTH:]
    if not seal.startswith(_HASH_OPEN):
        return None
    claimed = seal[len(_HASH_OPEN) : -2].decode("ascii", "replace")
    actual = hashlib.sha256(line[:-_SEAL_LENGTH] + b"}").hexdigest()
    return claimed if claimed == actual else None


class FileJournal:
    """The embedded default journal. Create it with :meth:`open`.

    Only one process may write a journal directory: :meth:`open` takes an
    exclusive lock on its ``LOCK`` file. Readers (audit tools) need no lock.
    """

    reads_block = True

    def __init__(self, directory: Path, lock_fd: int, head: int, last_hash: str) -> None:
        self.directory = directory
        self._lock_fd = lock_fd
        self._head = head
        self._last_hash = last_hash
        # One segment for now; segments/<first seq> naming leaves room for
        # rolling to new files without changing the reader.
        paths = segment_paths(directory)
        self._segment = paths[-1] if paths else directory / segment_name(1)
        self._fd = os.open(self._segment, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if not paths:
            _fsync_directory(directory)
        self._size = os.fstat(self._fd).st_size
        self._appending = False

    def __repr__(self) -> str:
        return f"<FileJournal {str(self.directory)!r} head={self._head}>"

    @classmethod
    def open(cls, directory: str | os.PathLike[str]) -> FileJournal:
        """Open (creating if needed) the journal in *directory* for writing.

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
            return cls(path, lock_fd, head, last_hash)
        except BaseException:
            os.close(lock_fd)
            raise

    @property
    def head(self) -> int:
        return self._head

    async def append(self, records: Sequence[Recorded]) -> None:
        assert not self._appending, "FileJournal.append is not reentrant: use one writer"
        check_continues(self._head, records)
        if not records:
            await trio.lowlevel.checkpoint()
            return
        lines = []
        prev = self._last_hash
        for record in records:
            line, prev = encode_line(record.seq, prev, encode_event(record.event))
            lines.append(line)
        data = b"\n".join(lines) + b"\n"
        self._appending = True
        try:
            # Not abandoned on cancel: the thread always finishes (or undoes)
            # the write, so no batch is left half on disk.
            await trio.to_thread.run_sync(self._write, data)
        finally:
            self._appending = False
        self._head += len(records)
        self._last_hash = prev

    def _write(self, data: bytes) -> None:
        start = self._size
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
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
        self._size = start + len(data)

    def read(self, after: int = 0) -> Iterator[Recorded]:
        return read_records(self.directory, after)

    async def aclose(self) -> None:
        """Close the segment and release the lock. Closing twice is harmless."""
        if self._fd >= 0:
            os.close(self._fd)
            os.close(self._lock_fd)
            # -1 so a later append fails (EBADF) instead of writing into
            # whatever file reuses the descriptor number.
            self._fd = self._lock_fd = -1
        await trio.lowlevel.checkpoint()


def read_records(directory: Path, after: int = 0) -> Iterator[Recorded]:
    """Yield the records of the journal in *directory* with ``seq > after``.

    Every line is checked (JSON, sequence, hash chain, event shape) as it is
    read, also those before *after*, since the chain runs through them.

    Raises:
        JournalCorrupt: naming the file, line, sequence number and the damage.
    """
    expected_seq = 1
    prev = GENESIS_HASH
    for path in segment_paths(directory):
        with path.open("rb") as file:
            for number, line in enumerate(file, start=1):
                where = f"{path}, line {number}"
                if not line.endswith(b"\n"):
                    raise JournalCorrupt(
                        f"{where}: the last record is incomplete (the journal is being "
                        "written, or a crash tore it); the server cuts such a record "
                        "off when it starts"
                    )
                record, prev = _parse(line[:-1], where, expected_seq, prev)
                expected_seq += 1
                if record.seq > after:
                    yield record


def _parse(line: bytes, where: str, expected_seq: int, prev: str) -> tuple[Recorded, str]:
    """The record on *line* and its hash, after checking both against the chain."""
    try:
        data = json.loads(line)
    except ValueError as error:
        raise JournalCorrupt(
            f"{where} (expected sequence number {expected_seq}): "
            f"not valid JSON ({error}). {_REPAIR_HINT}"
        ) from None
    if not isinstance(data, dict):
        raise JournalCorrupt(
            f"{where} (expected sequence number {expected_seq}): "
            f"not a JSON object. {_REPAIR_HINT}"
        )
    seq = data.pop("seq", None)
    if type(seq) is not int:
        raise JournalCorrupt(
            f"{where} (expected sequence number {expected_seq}): "
            f"the record has no integer 'seq'. {_REPAIR_HINT}"
        )
    if seq != expected_seq:
        raise JournalCorrupt(
            f"{where}: sequence number {seq} where {expected_seq} was expected "
            f"(records are missing, duplicated or out of order). {_REPAIR_HINT}"
        )
    digest = record_hash(line)
    if digest is None or data.pop("hash", None) != digest:
        raise JournalCorrupt(
            f"{where}, sequence number {seq}: the record does not match its hash "
            f"(it was edited). {_REPAIR_HINT}"
        )
    if data.pop("prev", None) != prev:
        raise JournalCorrupt(
            f"{where}, sequence number {seq}: the hash chain is broken (the record "
            f"before it was removed, replaced or reordered). {_REPAIR_HINT}"
        )
    try:
        event = decode_event(data)
    except CodecError as error:
        raise JournalCorrupt(
            f"{where}, sequence number {seq}: {error}. {_REPAIR_HINT}"
        ) from None
    return Recorded(seq, event), digest


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
        os.close(fd)
        raise ConfigError(
            f"the journal {str(directory)!r} is in use by another eventjobs server; "
            "stop that server or choose another --journal"
        ) from None
    return fd


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
    """The last record's sequence number and line hash, without a full scan."""
    for path in reversed(segment_paths(directory)):
        data = path.read_bytes()
        if not data:
            continue
        lines = data.split(b"\n")
        line = lines[-2]  # data ends with a newline: the last item is b""
        where = f"{path}, line {len(lines) - 1}"
        try:
            seq = json.loads(line)["seq"]
        except (ValueError, KeyError, TypeError):
            raise JournalCorrupt(
                f"{where}: the last record does not read as a journal record. {_REPAIR_HINT}"
            ) from None
        if type(seq) is not int or seq < 1:
            raise JournalCorrupt(f"{where}: the last record has no valid 'seq'. {_REPAIR_HINT}")
        digest = record_hash(line)
        if digest is None:
            raise JournalCorrupt(
                f"{where}, sequence number {seq}: the record does not match its hash "
                f"(it was edited). {_REPAIR_HINT}"
            )
        return seq, digest
    return 0, GENESIS_HASH


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
