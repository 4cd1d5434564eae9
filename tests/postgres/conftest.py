"""Helpers for the PostgreSQL journal tests (see tests/postgres/cluster.py).

The fixtures ``postgres_server``, ``pg_database_url`` and ``pg_url`` are in
tests/conftest.py, shared with the multi-node tests (tests/cluster).
"""

from __future__ import annotations

import psycopg


def schema_of(url: str) -> str:
    return url.rsplit("schema=", 1)[1]


def sql(
    url: str, statement: str, params: tuple[object, ...] = ()
) -> list[tuple[object, ...]]:
    """Run *statement* on the database of journal *url* (as a bystander would)."""
    database = url.split("?", 1)[0]
    with psycopg.connect(database, autocommit=True) as conn:
        cursor = conn.execute(statement, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []
