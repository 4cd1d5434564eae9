"""Reading a journal directory record by record, as a read-only bystander. Blocking.

Unlike :func:`eventjobs.journal.segments.read_records` (the server's reader),
:class:`Scan` treats a torn last line of the newest segment as the end of the
journal rather than as damage: a live server may be writing that very line.
It still checks everything else in full (JSON, sequence numbers, each record's
own hash, the hash chain from the genesis or the checkpoint, event shapes),
and it remembers where each record sits (file and line) so that reports can
point at it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

from ..errors import JournalCorrupt
from ..journal import Recorded
from ..journal.lines import GENESIS_HASH, parse_record
from ..journal.opening import InMemory, foreign_files, listed, parse_location
from ..journal.pg_connect import connect
from ..journal.pg_rows import parse_row, read_hashed, row_name
from ..journal.pg_schema import check_version
from ..journal.pg_url import PostgresLocation
from ..journal.segments import chain_anchor, list_segments


class NoJournal(Exception):
    """The directory does not exist, is not a directory or holds files but
    no journal (or the PostgreSQL schema holds no journal)."""


#: Where a journal is: a directory, or a PostgreSQL schema.
Source = Path | PostgresLocation


def source_of(text: str) -> Source:
    """The journal a command-line argument names: a ``postgresql://`` URL or a directory.

    Raises:
        ConfigError: a PostgreSQL URL that does not parse, or a URL of
            another scheme.
    """
    location = parse_location(text)
    # The in-memory journal lives inside a server: read as a directory of
    # that name, it is reported missing like any other.
    return Path(text) if isinstance(location, InMemory) else location


def check_directory(directory: Path) -> None:
    """That *directory* is a journal, or an empty directory (an empty journal).

    Raises:
        NoJournal: it is missing, not a directory, or holds files but no
            journal; the message says which.
    """
    if not directory.is_dir():
        raise NoJournal(f"there is no journal directory at {str(directory)!r}")
    if names := foreign_files(directory):
        raise NoJournal(
            f"the directory {str(directory)!r} holds no journal, only other files "
            f"({listed(names)})"
        )


@attrs.frozen
class Entry:
    """One record and where it was read from."""

    record: Recorded
    path: Path
    line: int


@attrs.frozen
class TornTail:
    """A final line without its newline: being written, or cut by a crash."""

    path: Path
    line: int


class Scan:
    """Iterate the :class:`Entry` of every record of *directory*, oldest first.

    After iteration, :attr:`torn` says whether the last line was incomplete
    and :attr:`first_seq` where the kept records begin (1 unless pruned).

    Raises (while iterating):
        NoJournal: *directory* is missing.
        JournalCorrupt: naming file, line and sequence number of the first
            record that is wrong, and what is wrong with it.
    """

    def __init__(
        self, directory: Source, progress: Callable[[int, int], None] | None = None
    ) -> None:
        self.directory = directory
        #: Told ``(bytes read, bytes of all segments)`` as reading goes on.
        self.progress = progress
        self.torn: TornTail | None = None
        self.first_seq = 1
        #: Sequence number and hash of the last record read (to follow on from).
        self.last_seq = 0
        self.last_hash = GENESIS_HASH

    def __iter__(self) -> Iterator[Entry]:
        if isinstance(self.directory, PostgresLocation):
            yield from self._rows(self.directory)
            return
        check_directory(self.directory)
        segments = list_segments(self.directory)
        if not segments:
            return
        self.first_seq = segments[0].first_seq
        total = (
            sum(segment.path.stat().st_size for segment in segments)
            if self.progress
            else 0
        )
        done = 0
        prev = chain_anchor(self.directory, segments[0])
        expected = segments[0].first_seq
        for index, segment in enumerate(segments):
            newest = index == len(segments) - 1
            if segment.first_seq != expected:
                raise JournalCorrupt(
                    f"{segment.path}, line 1: the segment begins at sequence number "
                    f"{segment.first_seq} where {expected} was expected (records are "
                    "missing: the segment before it was truncated or removed)"
                )
            with segment.path.open("rb") as file:
                for number, line in enumerate(file, start=1):
                    if not line.endswith(b"\n"):
                        if newest:
                            # A live server may be writing this line right now.
                            self.torn = TornTail(segment.path, number)
                            return
                        raise JournalCorrupt(
                            f"{segment.path}, line {number} (expected sequence number "
                            f"{expected}): the record is incomplete, and it is not the "
                            "last one of the journal (the segment was truncated)"
                        )
                    where = f"{segment.path}, line {number}"
                    record, prev = parse_record(line[:-1], where, expected, prev)
                    expected += 1
                    if self.progress is not None:
                        done += len(line)
                        self.progress(done, total)
                    self.last_seq, self.last_hash = record.seq, prev
                    yield Entry(record, segment.path, number)

    def _rows(self, location: PostgresLocation) -> Iterator[Entry]:
        """The records of a PostgreSQL journal, checked as the server reads
        them (the whole chain from the genesis hash). A row's "line" is its seq."""
        with open_bystander(location) as conn:
            total = head_of(conn, location) if self.progress else 0
            label = Path(f"{location}, table {location.schema}.records")
            for record, digest in read_hashed(conn, location):
                if self.progress is not None:
                    self.progress(record.seq, total)
                self.last_seq, self.last_hash = record.seq, digest
                yield Entry(record, label, record.seq)


@contextlib.contextmanager
def open_bystander(location: PostgresLocation) -> Iterator[Any]:
    """A connection to an existing PostgreSQL journal, version checked. Blocking.

    Raises:
        ConfigError: the server cannot be reached, or the schema version differs.
        NoJournal: the schema holds no eventjobs journal.
    """
    conn = connect(location, autocommit=True)
    try:
        row = conn.execute(
            "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'meta'",
            (location.schema,),
        ).fetchone()
        if row is None:
            raise NoJournal(
                f"there is no eventjobs journal at {location} (schema {location.schema!r} "
                "has no journal tables)"
            )
        version = conn.execute(
            f"SELECT value FROM {location.schema}.meta WHERE key = 'schema_version'"
        ).fetchone()
        check_version(location, None if version is None else version[0], reading=True)
        yield conn
    finally:
        conn.close()


def head_of(conn: Any, location: PostgresLocation) -> int:
    row = conn.execute(f"SELECT seq FROM {location.schema}.head").fetchone()
    return int(row[0]) if row else 0


def records(
    directory: Source, progress: Callable[[int, int], None] | None = None
) -> Iterator[Recorded]:
    """Just the records of *directory* (see :class:`Scan`)."""
    for entry in Scan(directory, progress):
        yield entry.record


class Follower:
    """Reads the records a live server appends, poll by poll. Blocking.

    Start it after a :class:`Scan` with the last record seen (its sequence
    number and hash, as the chain must continue from it). Each :meth:`poll`
    returns the complete records appended since, checked like a scan's, and
    moves on to the next segment when the server starts one. A line still
    being written is left for the next poll.
    """

    def __init__(self, directory: Path, last_seq: int, last_hash: str) -> None:
        self.directory = directory
        self.expected = last_seq + 1
        self.prev = last_hash
        self._path: Path | None = None
        self._offset = 0
        self._line = 0

    def poll(self) -> list[Entry]:
        """The records appended since the last poll (possibly none).

        Raises:
            JournalCorrupt: what was appended does not continue the chain.
        """
        entries: list[Entry] = []
        while True:
            if self._path is None and not self._find_segment():
                return entries
            assert self._path is not None
            with self._path.open("rb") as file:
                file.seek(self._offset)
                data = file.read()
            complete = data[: data.rfind(b"\n") + 1]
            for line in complete.splitlines():
                self._line += 1
                where = f"{self._path}, line {self._line}"
                record, self.prev = parse_record(line, where, self.expected, self.prev)
                self.expected += 1
                entries.append(Entry(record, self._path, self._line))
            self._offset += len(complete)
            if complete != data or not self._next_segment_exists():
                return entries
            self._path = None  # the segment is finished: the next one holds the rest

    def _find_segment(self) -> bool:
        """Position at the segment holding ``self.expected``, if any."""
        holding = [
            s for s in list_segments(self.directory) if s.first_seq <= self.expected
        ]
        if not holding:
            return False
        segment = holding[-1]
        self._path, self._offset, self._line = segment.path, 0, 0
        # Skip the records already seen in it (their lines are complete).
        with segment.path.open("rb") as file:
            for _ in range(self.expected - segment.first_seq):
                line = file.readline()
                self._offset += len(line)
                self._line += 1
        return True

    def _next_segment_exists(self) -> bool:
        return any(s.first_seq == self.expected for s in list_segments(self.directory))


class PostgresFollower:
    """:class:`Follower` for a PostgreSQL journal: each poll reads the rows
    past the last one seen, checked against the chain, on one connection
    kept from poll to poll (opened again if the database dropped it).
    Blocking."""

    def __init__(
        self, location: PostgresLocation, last_seq: int, last_hash: str
    ) -> None:
        self.location = location
        self.expected = last_seq + 1
        self.prev = last_hash
        self._connection = contextlib.ExitStack()
        self._conn: Any = None

    def poll(self) -> list[Entry]:
        """The records appended since the last poll (possibly none).

        Raises:
            JournalCorrupt: what was appended does not continue the chain.
            ConfigError: the database cannot be reached.
        """
        import psycopg

        try:
            rows = self._rows_after()
        except psycopg.OperationalError:
            self.close()  # dropped (a database restart): once more, connected anew
            rows = self._rows_after()
        label = Path(f"{self.location}, table {self.location.schema}.records")
        entries = []
        for seq, line in rows:
            record, self.prev = parse_row(
                line, row_name(self.location, seq), self.expected, self.prev
            )
            self.expected += 1
            entries.append(Entry(record, label, record.seq))
        return entries

    def _rows_after(self) -> list[tuple[int, str]]:
        if self._conn is None:
            self._conn = self._connection.enter_context(open_bystander(self.location))
        rows: list[tuple[int, str]] = self._conn.execute(
            f"SELECT seq, line FROM {self.location.schema}.records WHERE seq >= %s "
            "ORDER BY seq",
            (self.expected,),
        ).fetchall()
        return rows

    def close(self) -> None:
        """Close the connection (the next poll opens another)."""
        self._conn = None
        self._connection.close()


def follower(
    source: Source, last_seq: int, last_hash: str
) -> Follower | PostgresFollower:
    """The follower for *source* (a directory or a PostgreSQL journal)."""
    if isinstance(source, PostgresLocation):
        return PostgresFollower(source, last_seq, last_hash)
    return Follower(source, last_seq, last_hash)
