"""Fixtures shared across test packages: a PostgreSQL server and fresh schemas.

They live here, not in tests/postgres/conftest.py, so that the PostgreSQL
journal tests and the multi-node tests (tests/cluster) share one session
server: a throwaway cluster (tests/postgres/cluster.py) is started once per
run, not once per package.

``postgres_server``: one server for the session (the local one, or a
throwaway cluster stopped at the end). ``pg_url``: a journal URL in a fresh
schema of the ``eventjobs_test`` database, dropped after the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.postgres.cluster import NoPostgres, Server, find_server

TEST_DATABASE = "eventjobs_test"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    try:
        server = find_server()
    except NoPostgres as reason:
        pytest.skip(f"!!! PostgreSQL journal tests NOT RUN: {reason}")
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (TEST_DATABASE,)
        ).fetchone()
        if not exists:
            conn.execute(f"CREATE DATABASE {TEST_DATABASE}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_database_url(postgres_server: Server) -> str:
    """The test database (schemas in it are the tests' own)."""
    return postgres_server.url(TEST_DATABASE)


@pytest.fixture
def pg_url(pg_database_url: str) -> Iterator[str]:
    """A journal URL in a schema no one has used; the schema is dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    yield f"{pg_database_url}?schema={schema}"
    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
