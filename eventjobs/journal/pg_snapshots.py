"""Snapshots of the PostgreSQL journal: the views at a position, a row per line. Blocking.

A snapshot is the same sealed lines as a file journal's snapshot file
(:mod:`eventjobs.journal.snapshots`: a first line with the position and the
hash of the record there, one line per job, a closing line with a digest
over all lines before it), stored as rows ``(position, n, line)`` of
``snapshots``, written in one transaction with ``COPY`` and read back a
chunk of rows at a time through a server-side cursor: neither side holds
the whole snapshot in memory. The newest :data:`KEEP` are kept. Everything
snapshot-specific of this backend is in this module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ContextManager

from ..errors import JournalCorrupt
from .lines import PG_REPAIR_HINT
from .snapshots import SnapshotFile, open_snapshot, snapshot_lines

if TYPE_CHECKING:
    import psycopg

KEEP = 2
#: First key of the advisory lock that serialises snapshot writers (the
#: second is the schema name's hash, as for the journal's lock).
SNAPSHOT_LOCK = 0x65766A63
#: Rows fetched per round trip while a snapshot is read.
CHUNK_ROWS = 2000


def store_snapshot(
    conn: psycopg.Connection,
    schema: str,
    position: int,
    record_hash: str,
    header: dict[str, Any],
    jobs: Iterable[dict[str, Any]],
    *,
    min_gap: int = 0,
) -> bool:
    """Durably store the snapshot at *position*, consuming *jobs* one at a
    time; drop all but the newest :data:`KEEP`. All or nothing.

    Writers are serialised (a transaction-level advisory lock); with
    *min_gap*, nothing is stored unless the newest snapshot is at least
    that many records older. Returns whether it was stored.
    """
    with conn.transaction():
        conn.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (SNAPSHOT_LOCK, schema)
        )
        if min_gap:
            newest = conn.execute(
                f"SELECT max(position) FROM {schema}.snapshots"
            ).fetchone()
            if (
                newest is not None
                and newest[0] is not None
                and position - newest[0] < min_gap
            ):
                return False
        conn.execute(f"DELETE FROM {schema}.snapshots WHERE position = %s", (position,))
        with (
            conn.cursor() as cursor,
            cursor.copy(
                f"COPY {schema}.snapshots (position, n, line) FROM STDIN"
            ) as copy,
        ):
            for n, line in enumerate(
                snapshot_lines(position, record_hash, header, jobs), 1
            ):
                copy.write_row((position, n, line[:-1].decode("ascii")))
        conn.execute(
            f"DELETE FROM {schema}.snapshots WHERE position NOT IN "
            f"(SELECT DISTINCT position FROM {schema}.snapshots ORDER BY position DESC LIMIT {KEEP})"
        )
    return True


def newest_snapshot(
    conn: psycopg.Connection,
    schema: str,
    where: str,
    lines_of: Callable[[int], ContextManager[Iterable[bytes]]],
) -> SnapshotFile | None:
    """The newest snapshot, its first line checked, or None; its jobs are
    read through ``lines_of(position)`` (a fresh connection and cursor).

    Raises:
        JournalCorrupt: its first line does not match its seal, or is not a
            snapshot's (naming the table, position and line).
    """
    row = conn.execute(
        f"SELECT position, line FROM {schema}.snapshots WHERE n = 1 "
        "ORDER BY position DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    position, text = row
    name = f"{where}, table {schema}.snapshots, position {position}"
    snapshot = open_snapshot(
        name, text.encode("utf-8") + b"\n", lambda: lines_of(position)
    )
    if snapshot.position != position:
        raise JournalCorrupt(
            f"{name}: its first line says position {snapshot.position}. {PG_REPAIR_HINT}"
        )
    return snapshot


@contextlib.contextmanager
def snapshot_rows(
    conn: psycopg.Connection, schema: str, position: int
) -> Iterator[Iterator[bytes]]:
    """The raw lines of the snapshot at *position*, in order, fetched
    :data:`CHUNK_ROWS` at a time (a server-side cursor in a transaction)."""
    with conn.transaction(), conn.cursor(name=f"snapshot_{position}") as cursor:
        cursor.itersize = CHUNK_ROWS
        cursor.execute(
            f"SELECT line FROM {schema}.snapshots WHERE position = %s ORDER BY n",
            (position,),
        )
        yield (line.encode("utf-8") + b"\n" for (line,) in cursor)
