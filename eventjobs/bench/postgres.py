"""Where the benchmark finds PostgreSQL: ``--postgres URL``, else the local server.

Each measurement gets a fresh schema (``?schema=bench_<random>``) in that
database, dropped afterwards, so runs start alike and leave nothing behind.
Without psycopg or a reachable server the PostgreSQL rows are left out, and
the harness says why.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

from ..errors import ConfigError
from ..journal.pg_connect import connect
from ..journal.pg_url import parse_postgres_url

#: Tried when no --postgres is given: a local server with trust auth.
LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"


def usable(url: str) -> str | None:
    """None if *url* accepts a connection, else why not (one sentence)."""
    try:
        connect(parse_postgres_url(url), autocommit=True).close()
    except ConfigError as error:
        return str(error)
    return None


@contextlib.contextmanager
def fresh_journal(url: str) -> Iterator[str]:
    """A journal URL in a new schema of *url*'s database; dropped at the end."""
    schema = f"bench_{secrets.token_hex(6)}"
    base = url.split("?", 1)[0]
    try:
        yield f"{base}?schema={schema}"
    finally:
        with contextlib.closing(
            connect(parse_postgres_url(base), autocommit=True)
        ) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
