"""What the verifiable audit trail keeps beside a journal. Blocking.

Three things, for each backend:

* the journal's **id**, made once (on first use) and never changed: it names
  the journal in every checkpoint's origin line, so a checkpoint of one
  journal can never pass for another's (file: ``journal-id`` in the
  directory; PostgreSQL: ``journal_id`` in the ``meta`` table; memory: the
  journal object);
* the **stored lines**, the leaves of the Merkle tree: each record's line
  exactly as stored, without its newline, from sequence number 1 on. The
  file and PostgreSQL journals store the same bytes (``journal copy`` keeps
  them), so both give the same tree; the memory journal keeps no lines and
  gives the ones a file journal would have written for its records;
* the **tree's start**: for a pruned journal directory, the frontier of the
  tree over the records ``journal prune`` removed (kept in its checkpoint
  file), from which the tree goes on with the lines that remain; every
  other journal starts from the empty tree;
* the **signed checkpoints** (file: ``checkpoints/<size>.txt``; PostgreSQL:
  the ``checkpoints`` table; memory: a list), the latest of which the server
  shows.

A store never needs the journal's lock: the audit commands use one on a
directory a live server is writing (a checkpoint file is written to a new
name and renamed, so a reader sees a whole one or none).
"""

from __future__ import annotations

import bisect
import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ConfigError, JournalCorrupt
from ..merkle import Frontier
from .lines import GENESIS_HASH, REPAIR_HINT, chained_hash, encode_record, sealed_hash
from .memory import MemoryJournal
from .segments import chain_anchor, checkpoint_name, list_segments, prune_point
from .snapshots import fsync_directory

if TYPE_CHECKING:
    from .pg_url import PostgresLocation

ID_FILE = "journal-id"
CHECKPOINT_DIRECTORY = "checkpoints"
_CHECKPOINT_SUFFIX = ".txt"


def origin_of(journal_id: str) -> str:
    """The checkpoint origin line of the journal *journal_id*."""
    return f"eventjobs/journal/{journal_id}"


def new_id() -> str:
    """A fresh journal id: 128 random bits in hex."""
    return secrets.token_hex(16)


class NoFrontier(JournalCorrupt):
    """The journal was pruned by a version that kept no Merkle frontier of
    what it removed: the tree cannot be rebuilt (the chain still verifies)."""


class AuditStore(Protocol):
    """The id, stored lines and checkpoints of one journal (see the module)."""

    #: Whether the methods do blocking I/O (call them from a worker thread).
    blocking: bool

    def journal_id(self, create: bool = True) -> str | None:
        """The journal's id, made now if it has none yet (with *create*;
        else None then)."""
        ...

    def tree_start(self) -> Frontier:
        """The frontier of the tree over the records before the first
        stored line (empty unless the journal was pruned).

        Raises:
            NoFrontier: pruned, and no frontier was kept.
            JournalCorrupt: the prune checkpoint is damaged.
        """
        ...

    def lines(self, after: int, upto: int | None) -> Iterator[bytes | bytearray]:
        """The stored lines of records ``after + 1`` to *upto* (None: to the
        last whole line), in order.

        Raises:
            JournalCorrupt: a record is missing, or pruned away (*after* is
                below ``tree_start().size``), or does not chain to the one
                before.
        """
        ...

    def lines_at(self, seqs: Sequence[int]) -> Sequence[bytes | bytearray]:
        """The stored lines of the records *seqs* (ascending, each stored),
        read one by one: a few reads each however long the journal. Each is
        checked for its seal and sequence number only (the caller compares
        it with the tree's leaf hash, which covers the chain).

        Raises:
            JournalCorrupt: a record is not there, or its line is damaged.
        """
        ...

    def save_checkpoint(self, size: int, note: str) -> None:
        """Keep the signed checkpoint *note* of the tree of *size* leaves
        (replacing one of the same size)."""
        ...

    def latest_checkpoint(self) -> str | None:
        """The kept checkpoint of the largest tree, or None."""
        ...


# -- memory ------------------------------------------------------------------------


class MemoryAuditStore:
    """A memory journal's: its lines are made from its records when first
    asked for (and kept), its id and checkpoints live on the journal object,
    so a second runtime on the same journal sees them."""

    blocking = False

    def __init__(self, journal: MemoryJournal) -> None:
        self._journal = journal

    def journal_id(self, create: bool = True) -> str | None:
        if self._journal.journal_id is None and create:
            self._journal.journal_id = new_id()
        return self._journal.journal_id

    def tree_start(self) -> Frontier:
        return Frontier()

    def lines(self, after: int, upto: int | None) -> Iterator[bytes | bytearray]:
        upto = self._journal.head if upto is None else upto
        made = self._journal.lines
        if len(made) < upto:
            prev = self._journal.lines_hash
            for record in self._journal.read(after=len(made)):
                if record.seq > upto:
                    break
                line, prev = encode_record(record, prev)
                made.append(line)
            self._journal.lines_hash = prev
        if len(made) < upto:
            raise JournalCorrupt(f"the memory journal has no record {upto}")
        return iter(made[after:upto])

    def lines_at(self, seqs: Sequence[int]) -> Sequence[bytes | bytearray]:
        if not seqs:
            return []
        made = self._journal.lines
        if len(made) < seqs[-1]:
            for _ in self.lines(len(made), seqs[-1]):
                pass
        return [made[seq - 1] for seq in seqs]

    def save_checkpoint(self, size: int, note: str) -> None:
        self._journal.checkpoints[size] = note

    def latest_checkpoint(self) -> str | None:
        checkpoints = self._journal.checkpoints
        return checkpoints[max(checkpoints)] if checkpoints else None


# -- a directory ---------------------------------------------------------------------


class FileAuditStore:
    """A journal directory's (see the module docstring)."""

    blocking = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def journal_id(self, create: bool = True) -> str | None:
        path = self.directory / ID_FILE
        try:
            return _read_id(path)
        except FileNotFoundError:
            if not create:
                return None
        made = new_id()
        try:
            # O_EXCL: of two processes making the id at once, one wins and
            # the other reads the winner's.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return _read_id(path)
        except OSError as error:
            raise ConfigError(
                f"cannot create the journal id file {str(path)!r}: {error.strerror}; "
                "make the journal directory writable by this user"
            ) from None
        try:
            os.write(fd, (made + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_directory(self.directory)
        return made

    def tree_start(self) -> Frontier:
        segments = list_segments(self.directory)
        if not segments or segments[0].first_seq == 1:
            return Frontier()
        first = segments[0]
        data = prune_point(self.directory, first)
        path = self.directory / checkpoint_name(first.first_seq - 1)
        if "tree" not in data:
            raise NoFrontier(
                f"{path}: records 1 to {first.first_seq - 1} were pruned by an older "
                "eventjobs that kept no Merkle frontier of them, so the audit trail "
                "cannot rebuild or extend this journal's tree (no checkpoint is signed, "
                "no receipt made); its hash chain still verifies ('eventjobs journal "
                "verify')"
            )
        try:
            frontier = Frontier.from_json(data["tree"])
        except ValueError as error:
            raise JournalCorrupt(
                f"{path}: the Merkle frontier does not read: {error}. {REPAIR_HINT}"
            ) from None
        if frontier.size != first.first_seq - 1:
            raise JournalCorrupt(
                f"{path}: the Merkle frontier is of {frontier.size} records, not of the "
                f"{first.first_seq - 1} pruned. {REPAIR_HINT}"
            )
        return frontier

    def lines(self, after: int, upto: int | None) -> Iterator[bytes | bytearray]:
        segments = list_segments(self.directory)
        if upto == 0 or (upto is None and not segments):
            return
        first_seq = segments[0].first_seq if segments else 1
        if not segments or after < first_seq - 1:
            raise JournalCorrupt(
                f"{self.directory}: records 1 to "
                f"{(first_seq - 1) if segments else upto} are not in the "
                "journal (pruned); the Merkle tree goes on from the frontier the "
                "prune kept, with the lines after it"
            )
        expected, prev = first_seq, chain_anchor(self.directory, segments[0])
        for segment in segments:
            if segment.first_seq != expected:
                raise JournalCorrupt(
                    f"{segment.path}: the segment should begin at sequence number "
                    f"{expected} (records are missing). {REPAIR_HINT}"
                )
            with segment.path.open("rb") as file:
                for number, raw in enumerate(file, start=1):
                    if not raw.endswith(b"\n"):
                        break  # being written: not durable yet
                    line = raw[:-1]
                    # Every line is checked for its seal and chain (cheap: no
                    # JSON decoding), so the tree never covers damage.
                    digest = chained_hash(line, expected, prev)
                    if digest is None:
                        raise JournalCorrupt(
                            f"{segment.path}, line {number}: record {expected} does not "
                            f"match its hash or does not chain to the one before. "
                            f"{REPAIR_HINT}"
                        )
                    prev = digest
                    if expected > after:
                        yield line
                    if expected == upto:
                        return
                    expected += 1
        if upto is not None:
            raise JournalCorrupt(
                f"{self.directory}: the journal ends at sequence number {expected - 1}, "
                f"before {upto}"
            )

    def lines_at(self, seqs: Sequence[int]) -> Sequence[bytes | bytearray]:
        segments = list_segments(self.directory)
        firsts = [segment.first_seq for segment in segments]
        found = []
        for seq in seqs:
            at = bisect.bisect_right(firsts, seq) - 1
            if at < 0:
                raise JournalCorrupt(
                    f"{self.directory}: record {seq} is not in the journal (pruned)"
                )
            found.append(find_line(segments[at].path, seq))
        return found

    def save_checkpoint(self, size: int, note: str) -> None:
        folder = self.directory / CHECKPOINT_DIRECTORY
        folder.mkdir(exist_ok=True)
        path = folder / f"{size:020d}{_CHECKPOINT_SUFFIX}"
        temporary = folder / f".{path.name}.{os.getpid()}.new"
        with temporary.open("w", encoding="utf-8") as file:
            file.write(note)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        fsync_directory(folder)

    def latest_checkpoint(self) -> str | None:
        folder = self.directory / CHECKPOINT_DIRECTORY
        try:
            names = sorted(
                name
                for name in os.listdir(folder)
                if name.endswith(_CHECKPOINT_SUFFIX) and not name.startswith(".")
            )
        except FileNotFoundError:
            return None
        if not names:
            return None
        return (folder / names[-1]).read_text(encoding="utf-8")


#: Below this many bytes, find_line reads on instead of halving again.
_SCAN = 1 << 14


def find_line(path: Path, seq: int) -> bytes:
    """The line of record *seq* in the segment *path*, found by halving the
    file by byte offset (records are in sequence order): some fifteen small
    reads for an 8 MiB segment, instead of reading it through.

    Raises:
        JournalCorrupt: it is not there, or its seal or number is wrong.
    """
    with path.open("rb") as file:
        low, high = 0, file.seek(0, os.SEEK_END)
        # The record's line starts in [low, high).
        while high - low > _SCAN:
            middle = (low + high) // 2
            file.seek(middle - 1)
            file.readline()  # to the first line starting at middle or after
            begins = file.tell()
            if begins >= high:
                high = middle
                continue
            number = _seq_of(file.readline())
            if number == seq:
                file.seek(begins)
                return _checked(file.readline().rstrip(b"\n"), seq, str(path))
            if number is not None and number < seq:
                low = begins + 1
            else:
                high = middle
        file.seek(max(low - 1, 0))
        if low:
            file.readline()
        while file.tell() < high:
            raw = file.readline()
            if not raw.endswith(b"\n"):
                break
            if _seq_of(raw) == seq:
                return _checked(raw[:-1], seq, str(path))
    raise JournalCorrupt(f"{path}: record {seq} is not in its segment. {REPAIR_HINT}")


def _seq_of(raw: bytes) -> int | None:
    if not raw.startswith(b'{"seq":'):
        return None
    end = raw.find(b",", 7, 30)
    digits = raw[7:end]
    return int(digits) if end > 0 and digits.isdigit() else None


def _checked(line: bytes, seq: int, where: str) -> bytes:
    if _seq_of(line) != seq or sealed_hash(line) is None:
        raise JournalCorrupt(
            f"{where}: record {seq} does not match its hash. {REPAIR_HINT}"
        )
    return line


def _read_id(path: Path) -> str:
    text = path.read_text(encoding="ascii", errors="replace").strip()
    if not text or not text.isalnum() or len(text) > 64:
        raise JournalCorrupt(f"{path}: not a journal id (hex digits). {REPAIR_HINT}")
    return text


# -- PostgreSQL ----------------------------------------------------------------------


class PostgresAuditStore:
    """A PostgreSQL journal's: the id in ``meta``, the lines in ``records``,
    checkpoints in a ``checkpoints`` table made on first use."""

    blocking = True

    def __init__(self, location: PostgresLocation) -> None:
        self.location = location

    def _connect(self) -> Any:
        from .pg_connect import connect

        return connect(self.location, autocommit=True)

    def journal_id(self, create: bool = True) -> str | None:
        schema = self.location.schema
        with self._connect() as conn:
            if create:
                conn.execute(
                    f"INSERT INTO {schema}.meta (key, value) VALUES ('journal_id', %s) "
                    "ON CONFLICT (key) DO NOTHING",
                    (new_id(),),
                )
            row = conn.execute(
                f"SELECT value FROM {schema}.meta WHERE key = 'journal_id'"
            ).fetchone()
        return None if row is None else str(row[0])

    def tree_start(self) -> Frontier:
        return Frontier()  # a PostgreSQL journal is never pruned

    def lines(self, after: int, upto: int | None) -> Iterator[bytes | bytearray]:
        schema = self.location.schema
        last = (1 << 63) - 1 if upto is None else upto
        with self._connect() as conn:
            expected = after + 1
            prev: str | None = None
            if after > 0:
                row = conn.execute(
                    f"SELECT line FROM {schema}.records WHERE seq = %s", (after,)
                ).fetchone()
                if row is None:
                    raise JournalCorrupt(f"{self.location}: record {after} is missing")
                from .lines import sealed_hash

                prev = sealed_hash(row[0].encode())
            else:
                prev = GENESIS_HASH
            with conn.transaction(), conn.cursor(name="eventjobs_tree") as cursor:
                cursor.itersize = 2000
                cursor.execute(
                    f"SELECT seq, line FROM {schema}.records "
                    "WHERE seq > %s AND seq <= %s ORDER BY seq",
                    (after, last),
                )
                for seq, text in cursor:
                    line = text.encode("utf-8")
                    digest = (
                        None
                        if seq != expected or prev is None
                        else chained_hash(line, expected, prev)
                    )
                    if digest is None:
                        raise JournalCorrupt(
                            f"{self.location}, record {expected}: missing, or it does "
                            "not match its hash or chain to the one before"
                        )
                    prev = digest
                    yield line
                    expected += 1
            if upto is not None and expected != upto + 1:
                raise JournalCorrupt(
                    f"{self.location}: the journal ends at sequence number "
                    f"{expected - 1}, before {upto}"
                )

    def lines_at(self, seqs: Sequence[int]) -> Sequence[bytes | bytearray]:
        if not seqs:
            return []
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT seq, line FROM {self.location.schema}.records "
                "WHERE seq = ANY(%s) ORDER BY seq",
                (list(seqs),),
            ).fetchall()
        lines = {seq: text.encode("utf-8") for seq, text in rows}
        missing = [seq for seq in seqs if seq not in lines]
        if missing:
            raise JournalCorrupt(f"{self.location}: record {missing[0]} is missing")
        return [_checked(lines[seq], seq, str(self.location)) for seq in seqs]

    def _ensure_table(self, conn: Any) -> None:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.location.schema}.checkpoints "
            "(size bigint PRIMARY KEY, note text NOT NULL)"
        )

    def save_checkpoint(self, size: int, note: str) -> None:
        with self._connect() as conn:
            self._ensure_table(conn)
            conn.execute(
                f"INSERT INTO {self.location.schema}.checkpoints (size, note) "
                "VALUES (%s, %s) ON CONFLICT (size) DO UPDATE SET note = EXCLUDED.note",
                (size, note),
            )

    def latest_checkpoint(self) -> str | None:
        schema = self.location.schema
        with self._connect() as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'checkpoints'",
                (schema,),
            ).fetchone()
            if exists is None:
                return None
            row = conn.execute(
                f"SELECT note FROM {schema}.checkpoints ORDER BY size DESC LIMIT 1"
            ).fetchone()
        return None if row is None else str(row[0])


def store_of(where: object) -> AuditStore:
    """The store of a journal object, a directory, or a PostgreSQL location."""
    from .pg_url import PostgresLocation

    if isinstance(where, MemoryJournal):
        return MemoryAuditStore(where)
    if isinstance(where, Path):
        return FileAuditStore(where)
    if isinstance(where, PostgresLocation):
        return PostgresAuditStore(where)
    directory = getattr(where, "directory", None)
    if isinstance(directory, Path):
        return FileAuditStore(directory)
    location = getattr(where, "location", None)
    if isinstance(location, PostgresLocation):
        return PostgresAuditStore(location)
    raise TypeError(f"no audit store for {where!r}")
