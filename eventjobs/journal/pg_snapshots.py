"""Snapshots of the PostgreSQL journal: the views at a position, one row each. Blocking.

A row of ``snapshots`` holds the same sealed line as a file journal's
snapshot file (``{"position", "record_hash", "table", "hash"}``), so the
seal catches an edit and ``record_hash`` ties it to the record it follows.
The newest :data:`KEEP` are kept. Everything snapshot-specific of this
backend is in this module.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import JournalCorrupt
from .lines import REPAIR_HINT, seal, sealed_hash

if TYPE_CHECKING:
    import psycopg

KEEP = 2


def store_snapshot(
    conn: psycopg.Connection, schema: str, position: int, record_hash: str, table: dict[str, Any]
) -> None:
    """Durably store the snapshot at *position*; drop all but the newest :data:`KEEP`."""
    line, _digest = seal({"position": position, "record_hash": record_hash, "table": table})
    with conn.transaction():
        conn.execute(
            f"INSERT INTO {schema}.snapshots (position, line) VALUES (%s, %s) "  # type: ignore[arg-type]
            "ON CONFLICT (position) DO UPDATE SET line = EXCLUDED.line",
            (position, line.decode("ascii")),
        )
        conn.execute(
            f"DELETE FROM {schema}.snapshots WHERE position NOT IN "  # type: ignore[arg-type]
            f"(SELECT position FROM {schema}.snapshots ORDER BY position DESC LIMIT {KEEP})"
        )


def newest_snapshot(
    conn: psycopg.Connection, schema: str, where: str
) -> tuple[int, str, dict[str, Any]] | None:
    """``(position, record hash, table)`` of the newest snapshot, or None.

    Raises:
        JournalCorrupt: it does not match its seal, or is not a snapshot.
    """
    row = conn.execute(
        f"SELECT position, line FROM {schema}.snapshots ORDER BY position DESC LIMIT 1"  # type: ignore[arg-type]
    ).fetchone()
    if row is None:
        return None
    position, text = row
    line = text.encode("utf-8")
    here = f"{where}, table {schema}.snapshots, position {position}"
    if sealed_hash(line) is None:
        raise JournalCorrupt(
            f"{here}: the snapshot does not match its hash (it was edited or damaged); "
            f"delete that row to start from the records alone. {REPAIR_HINT}"
        )
    data = json.loads(line)
    record_hash, table = data.get("record_hash"), data.get("table")
    if data.get("position") != position or not isinstance(record_hash, str) or not isinstance(
        table, dict
    ):
        raise JournalCorrupt(f"{here}: not a snapshot eventjobs writes. {REPAIR_HINT}")
    return position, record_hash, table
