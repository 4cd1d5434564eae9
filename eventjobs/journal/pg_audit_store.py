"""The audit store of a PostgreSQL journal (see ``audit_store.py``). Blocking.

The id in the ``meta`` table, the lines in ``records`` (read through a
server-side cursor and checked for their seal and chain), and the signed
checkpoints in a ``checkpoints`` table made on first use. A PostgreSQL
journal is never pruned: its tree starts empty.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import JournalCorrupt
from ..merkle import Frontier
from .audit_base import checked_line, new_id
from .lines import GENESIS_HASH, chained_hash, sealed_hash

if TYPE_CHECKING:
    from .pg_url import PostgresLocation


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
        return [checked_line(lines[seq], seq, str(self.location)) for seq in seqs]

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
