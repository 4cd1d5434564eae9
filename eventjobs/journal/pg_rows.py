"""The rows of a PostgreSQL journal's ``records`` table: writing and reading them. Blocking.

Each row holds the record's line exactly as the file format writes it
(:func:`eventjobs.journal.lines.encode_record`: sealed by its own hash,
chained by ``prev``), so every read here verifies the same seals and hash
chain as a file journal's, and reports damage with what to do about a
PostgreSQL journal. ``seq``, ``job_id``, ``type`` and ``time`` repeat parts of
the line for queries; ``node_id`` says which node wrote it (0: none).

Functions on a psycopg connection, for both journals (:mod:`.postgres`,
:mod:`.pg_node`), the referee's transactions (:mod:`.pg_cluster`) and the
audit tools; none holds state.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..codec import type_name
from ..errors import JournalCorrupt
from ._protocol import Recorded
from .lines import GENESIS_HASH, PG_REPAIR_HINT, encode_record, parse_record

if TYPE_CHECKING:
    import psycopg

    from .pg_url import PostgresLocation

#: Records fetched per round trip while reading (server-side cursor).
READ_CHUNK = 2000


def parse_row(
    line: str, where: str, expected_seq: int, prev: str | None
) -> tuple[Recorded, str]:
    """A row's line as :func:`~eventjobs.journal.lines.parse_record` reads it,
    damage reported with what to do about a PostgreSQL journal."""
    return parse_record(
        line.encode("utf-8"), where, expected_seq, prev, hint=PG_REPAIR_HINT
    )


def row_name(location: PostgresLocation, seq: int) -> str:
    """How messages name the row of record *seq*."""
    return f"{location}, table {location.schema}.records, row seq={seq}"


# -- writing ---------------------------------------------------------------------


def encode_rows(
    records: Sequence[Recorded], prev: str, node: int | None = None
) -> tuple[list[tuple[Any, ...]], str]:
    """The rows of *records*, chained on from the hash *prev*, and the hash
    of the last one. With *node*, each row says that node wrote it."""
    rows = []
    for record in records:
        line, prev = encode_record(record, prev)
        event = record.event
        row: tuple[Any, ...] = (
            record.seq,
            event.job_id,
            type_name(event),
            event.time,
            line.decode("ascii"),
        )
        rows.append(row if node is None else (*row, node))
    return rows, prev


#: The columns of a row from :func:`encode_rows`, by its length: without and
#: with the node that wrote it.
_COLUMNS = {
    5: "seq, job_id, type, time, line",
    6: "seq, job_id, type, time, line, node_id",
}


def copy_rows(
    conn: psycopg.Connection, schema: str, rows: list[tuple[Any, ...]]
) -> None:
    """Write *rows* (from :func:`encode_rows`) with ``COPY``, inside the
    caller's transaction; rows with a node id fill ``node_id`` too."""
    if not rows:
        return
    columns = _COLUMNS[len(rows[0])]
    with (
        conn.cursor() as cursor,
        cursor.copy(f"COPY {schema}.records ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


# -- reading ---------------------------------------------------------------------


def read_rows(
    conn: psycopg.Connection, location: PostgresLocation, after: int = 0
) -> Iterator[Recorded]:
    """The verified records of the journal after *after* (see :func:`read_hashed`)."""
    for record, _digest in read_hashed(conn, location, after):
        yield record


def read_hashed(
    conn: psycopg.Connection, location: PostgresLocation, after: int = 0
) -> Iterator[tuple[Recorded, str]]:
    """The verified records after *after* with their hashes, streamed in chunks.

    The chain is checked from record *after* (its own seal verified) on; with
    ``after=0`` from the genesis hash, so the whole journal is proven.

    Raises:
        JournalCorrupt: naming the row's seq and what is wrong.
    """
    schema = location.schema
    prev: str | None = GENESIS_HASH
    if after > 0:
        row = conn.execute(
            f"SELECT line FROM {schema}.records WHERE seq = %s", (after,)
        ).fetchone()
        # Missing: past the end (nothing follows), or a gap that the first
        # record's seq check below reports.
        prev = (
            None
            if row is None
            else parse_row(row[0], row_name(location, after), after, None)[1]
        )
    expected = after + 1
    with conn.transaction():
        with conn.cursor(name="eventjobs_read") as cursor:
            cursor.itersize = READ_CHUNK
            cursor.execute(
                f"SELECT seq, line FROM {schema}.records WHERE seq > %s ORDER BY seq",
                (after,),
            )
            for seq, line in cursor:
                record, prev = parse_row(line, row_name(location, seq), expected, prev)
                expected += 1
                yield record, prev


def select_followed(
    conn: psycopg.Connection, schema: str, after: int, upto: int
) -> list[tuple[int, str, int]]:
    """The rows ``(seq, line, node_id)`` after *after* up to *upto*, unread
    (parse them with :func:`parse_followed` once the connection is given back)."""
    rows = conn.execute(
        f"SELECT seq, line, node_id FROM {schema}.records "
        "WHERE seq > %s AND seq <= %s ORDER BY seq",
        (after, upto),
    ).fetchall()
    return [(int(seq), line, int(node)) for seq, line, node in rows]


def parse_followed(
    location: PostgresLocation, after: int, rows: list[tuple[int, str, int]]
) -> list[tuple[Recorded, int]]:
    """The records of *rows* (from :func:`select_followed`), each with the
    node that wrote it (0: none), checked against its own hash and chained
    to the one before it; each carries its location (its seq).

    Raises:
        JournalCorrupt: naming the row's seq and what is wrong.
    """
    followed = []
    prev: str | None = None
    expected = after + 1
    for seq, line, node in rows:
        record, prev = parse_row(line, row_name(location, seq), expected, prev)
        followed.append((attrs.evolve(record, location=seq), node))
        expected += 1
    return followed


def select_job(
    conn: psycopg.Connection, schema: str, job_id: int
) -> list[tuple[int, str]]:
    """The rows ``(seq, line)`` of job *job_id*, in order, unread (found by
    an index: no scan of the journal)."""
    rows = conn.execute(
        f"SELECT seq, line FROM {schema}.records WHERE job_id = %s ORDER BY seq",
        (job_id,),
    ).fetchall()
    return [(int(seq), line) for seq, line in rows]


def parse_job(
    location: PostgresLocation, rows: list[tuple[int, str]]
) -> list[Recorded]:
    """The records of *rows* (from :func:`select_job`), each checked against
    its own hash.

    Raises:
        JournalCorrupt: a row does not match its hash.
    """
    return [
        parse_row(line, row_name(location, seq), seq, None)[0] for seq, line in rows
    ]


def read_row_at(
    conn: psycopg.Connection, location: PostgresLocation, seq: int
) -> Recorded:
    """The record *seq*, checked against its own hash.

    Raises:
        JournalCorrupt: there is no such record, or it does not match its hash.
    """
    row = conn.execute(
        f"SELECT line FROM {location.schema}.records WHERE seq = %s",
        (seq,),
    ).fetchone()
    where = row_name(location, seq)
    if row is None:
        raise JournalCorrupt(f"{where}: there is no such record. {PG_REPAIR_HINT}")
    return parse_row(row[0], where, seq, None)[0]


def hash_of(conn: psycopg.Connection, location: PostgresLocation, seq: int) -> str:
    """The hash of record *seq* (its own seal checked); "" if there is none."""
    if seq == 0:
        return GENESIS_HASH
    row = conn.execute(
        f"SELECT line FROM {location.schema}.records WHERE seq = %s", (seq,)
    ).fetchone()
    if row is None:
        return ""
    return parse_row(row[0], row_name(location, seq), seq, None)[1]


def database_head(conn: psycopg.Connection, schema: str) -> int:
    """The head's seq in the database now (one query, no check)."""
    row = conn.execute(f"SELECT seq FROM {schema}.head").fetchone()
    return int(row[0]) if row else 0


def read_head(conn: psycopg.Connection, location: PostgresLocation) -> tuple[int, str]:
    """The head's seq and hash, checked against the last record, both read
    in one snapshot (appends committing meanwhile do not count as damage).

    Raises:
        JournalCorrupt: the head table and the records disagree, or the last
            record does not match its hash.
    """
    schema = location.schema
    # One statement, so one snapshot: another node's append committing
    # between two reads would make the head and the records disagree, and a
    # healthy journal would be reported as damaged.
    row = conn.execute(
        f"SELECT h.seq, h.hash, r.seq, r.line FROM (SELECT 1) AS one "
        f"LEFT JOIN {schema}.head AS h ON true LEFT JOIN LATERAL "
        f"(SELECT seq, line FROM {schema}.records ORDER BY seq DESC LIMIT 1) AS r "
        "ON true"
    ).fetchone()
    assert row is not None  # the one row of (SELECT 1)
    head = None if row[0] is None else (row[0], row[1])
    last = None if row[2] is None else (row[2], row[3])
    if head is None:
        raise JournalCorrupt(
            f"{location}: the table {schema}.head has no row (it was emptied by hand). "
            f"{PG_REPAIR_HINT}"
        )
    seq, digest = int(head[0]), head[1]
    last_seq = 0 if last is None else int(last[0])
    if last_seq != seq:
        raise JournalCorrupt(
            f"{location}: the table {schema}.head says the last record is {seq}, but the "
            f"records end at {last_seq} (rows were added or removed by hand). {PG_REPAIR_HINT}"
        )
    if last is not None:
        _record, actual = parse_row(last[1], row_name(location, seq), seq, None)
        if actual != digest:
            raise JournalCorrupt(
                f"{row_name(location, seq)}: the last record is not the one the head "
                f"table recorded (it was replaced). {PG_REPAIR_HINT}"
            )
    return seq, digest
