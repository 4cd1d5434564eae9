"""A node whose append fails: what was submitted while it was in flight is
answered 503 when it fails, not after the writer's back-off and another try.

The failure is the database's own: a trigger on the records table raises
once it may take a lock that the test holds, so the test decides when the
append in flight fails.
"""

from __future__ import annotations

import psycopg
import trio

from eventjobs import Settings
from tests.postgres.conftest import schema_of
from tests.postgres.test_cluster_runtime import wait_for
from tests.support import ASYNC_STORE, Served, serve_app

LOCK = 4242


def fail_appends(conn: psycopg.Connection, schema: str) -> None:
    """Make every append wait for the advisory lock LOCK, then fail."""
    conn.execute(
        f"CREATE FUNCTION {schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN PERFORM pg_advisory_xact_lock({LOCK}); "
        "RAISE EXCEPTION 'no space left on device (the test says so)'; END $$"
    )
    conn.execute(
        f"CREATE TRIGGER refuse BEFORE INSERT ON {schema}.records "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {schema}.refuse()"
    )


async def test_submissions_queued_behind_a_failing_append_are_answered_at_once(
    pg_url: str,
) -> None:
    schema = schema_of(pg_url)
    settings = Settings(journal=pg_url, shutdown_timeout=0)
    async with serve_app(settings) as node:
        with psycopg.connect(pg_url.split("?", 1)[0], autocommit=True) as conn:
            fail_appends(conn, schema)
            conn.execute("SELECT pg_advisory_lock(%s)", (LOCK,))
            answers: dict[str, int] = {}
            failed_when_answered: dict[str, int] = {}

            async def submit(name: str, served: Served) -> None:
                response = await served.client.put(
                    "/_admin/echo", data=name.encode(), headers=ASYNC_STORE
                )
                answers[name] = response.status_code
                writer = served.runtime.statistics().writer
                assert writer is not None
                failed_when_answered[name] = writer.failed_appends

            async def append_waits() -> bool:
                rows = conn.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND NOT granted"
                ).fetchall()
                return rows[0][0] == 1

            async with trio.open_nursery() as nursery:
                nursery.start_soon(submit, "first", node)
                await wait_for(append_waits, "the first append in flight")
                nursery.start_soon(submit, "second", node)
                # The second is queued behind the append in flight.
                await trio.testing.wait_all_tasks_blocked()
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK,))
        assert answers == {"first": 503, "second": 503}
        # The second was answered when the first append failed: it was
        # never sent itself.
        assert failed_when_answered == {"first": 1, "second": 1}
