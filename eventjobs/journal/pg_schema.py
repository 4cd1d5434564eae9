"""The PostgreSQL journal's tables: created on first use, version-checked on every start.

All of a journal's tables live in one PostgreSQL schema (``?schema=`` of the
URL, default ``eventjobs``); docs/journal-format.md describes them. The
schema's ``meta`` table holds ``schema_version``; a start refuses a journal
whose version is not :data:`SCHEMA_VERSION` instead of guessing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigError
from .lines import GENESIS_HASH
from .pg_url import PostgresLocation

if TYPE_CHECKING:
    import psycopg

#: The layout this eventjobs writes and reads. Bump it, and add a migration
#: note to docs/journal-format.md, whenever a table changes.
SCHEMA_VERSION = 3

#: First key of every eventjobs advisory lock ("evjb"); the second is the
#: schema name's hash, so journals in different schemas never collide.
LOCK_CLASS = 0x65766A62

#: What several nodes on one journal add (version 2, pg_cluster.py): which
#: node recorded each record; how far ``job_state`` has followed the records
#: and the last job id given out; the nodes and their leases; the referee's
#: state of every live job (eventjobs/referee.py).
CLUSTER_DDL = (
    "ALTER TABLE {s}.records ADD COLUMN IF NOT EXISTS node_id bigint NOT NULL DEFAULT 0",
    "ALTER TABLE {s}.head ADD COLUMN IF NOT EXISTS state_seq bigint NOT NULL DEFAULT 0",
    "ALTER TABLE {s}.head ADD COLUMN IF NOT EXISTS last_job_id bigint NOT NULL DEFAULT 0",
    """CREATE TABLE IF NOT EXISTS {s}.nodes (
        node_id bigserial PRIMARY KEY,
        name text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        lease_expires timestamptz NOT NULL,
        fenced boolean NOT NULL DEFAULT false
    )""",
    """CREATE TABLE IF NOT EXISTS {s}.job_state (
        job_id bigint PRIMARY KEY,
        phase text NOT NULL,
        visible boolean NOT NULL,
        node_id bigint NOT NULL,
        cancelling boolean NOT NULL DEFAULT false
    )""",
    "CREATE INDEX IF NOT EXISTS job_state_node ON {s}.job_state (node_id)",
)

#: What idempotency keys across nodes add (version 3, pg_cluster.py): the
#: first job of every (owner, key), and when it was queued, so that the
#: transaction appending a ``queued`` with a key sees a key used on any
#: node. ``owner`` is '' for a server without users (user names are never
#: empty), since a primary key cannot hold NULL.
KEYS_DDL = (
    """CREATE TABLE IF NOT EXISTS {s}.idempotency_keys (
        owner text NOT NULL,
        key text NOT NULL,
        job_id bigint NOT NULL,
        used_at double precision NOT NULL,
        PRIMARY KEY (owner, key)
    )""",
)

#: Fills ``idempotency_keys`` from the records already folded into
#: ``job_state`` when a version 2 journal is upgraded (the later ones are
#: folded with their keys by the next transaction): the first use of each
#: key, as the projection keeps it.
KEYS_BACKFILL = """INSERT INTO {s}.idempotency_keys (owner, key, job_id, used_at)
    SELECT DISTINCT ON (1, 2) coalesce(line::jsonb->>'owner', ''),
        line::jsonb->>'idempotency_key', job_id, time
    FROM {s}.records, {s}.head
    WHERE type = 'queued' AND records.seq <= head.state_seq
        AND line::jsonb ? 'idempotency_key'
    ORDER BY 1, 2, records.seq
    ON CONFLICT DO NOTHING"""

#: Tables of the schema, in creation order; ``{s}`` is the schema name
#: (checked to be a plain lower-case identifier: no quoting needed).
DDL = (
    "CREATE SCHEMA IF NOT EXISTS {s}",
    "CREATE TABLE IF NOT EXISTS {s}.meta (key text PRIMARY KEY, value text NOT NULL)",
    # line: the record exactly as the file format writes it (journal/lines.py),
    # sealed and chained; the other columns repeat parts of it for queries.
    """CREATE TABLE IF NOT EXISTS {s}.records (
        seq bigint PRIMARY KEY CHECK (seq >= 1),
        job_id bigint NOT NULL,
        type text NOT NULL,
        time double precision NOT NULL,
        line text NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS records_job_id ON {s}.records (job_id, seq)",
    # One row: the last record's seq and hash. Appends update it under its
    # row lock, which serialises them: a batch commits only after the one
    # before it, so readers never see seq N+1 without N.
    """CREATE TABLE IF NOT EXISTS {s}.head (
        one boolean PRIMARY KEY DEFAULT true CHECK (one),
        seq bigint NOT NULL,
        hash text NOT NULL
    )""",
    *CLUSTER_DDL,
    *KEYS_DDL,
    f"INSERT INTO {{s}}.head (seq, hash) VALUES (0, '{GENESIS_HASH}') ON CONFLICT DO NOTHING",
    # A snapshot: the lines of a snapshot file (journal/snapshots.py), line n
    # of the snapshot at position (pg_snapshots.py).
    """CREATE TABLE IF NOT EXISTS {s}.snapshots (
        position bigint NOT NULL,
        n integer NOT NULL,
        line text NOT NULL,
        PRIMARY KEY (position, n)
    )""",
    f"INSERT INTO {{s}}.meta VALUES ('schema_version', '{SCHEMA_VERSION}') ON CONFLICT DO NOTHING",
)


def ensure_schema(conn: psycopg.Connection, location: PostgresLocation) -> None:
    """Create the journal's tables if the schema is new; check its version.

    Blocking; commits. Two processes starting at once on a new schema are
    serialised by a transaction-level advisory lock.

    Raises:
        ConfigError: the schema holds something other than an eventjobs
            journal, or a journal of another schema version.
    """
    schema = location.schema
    with conn.transaction():
        conn.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_CLASS - 1, schema)
        )
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
            )
        }
        if tables and "meta" not in tables:
            raise ConfigError(
                f"the PostgreSQL journal {location}: schema {schema!r} already holds tables "
                f"({', '.join(sorted(tables))}) and is not an eventjobs journal; choose "
                "another schema with ?schema=NAME in the URL"
            )
        if not tables:
            for statement in DDL:
                conn.execute(statement.format(s=schema))
        row = conn.execute(
            f"SELECT value FROM {schema}.meta WHERE key = 'schema_version'"
        ).fetchone()
        if row is not None and row[0] in ("1", "2"):
            # Version 1 (one server per journal) gains the cluster tables;
            # their state is brought up from the records at the first append.
            # Version 2 gains the keys table, filled from what job_state holds.
            upgrade = CLUSTER_DDL + KEYS_DDL if row[0] == "1" else KEYS_DDL
            for statement in upgrade:
                conn.execute(statement.format(s=schema))
            if row[0] == "2":
                conn.execute(KEYS_BACKFILL.format(s=schema))
            conn.execute(
                f"UPDATE {schema}.meta SET value = %s WHERE key = 'schema_version'",
                (str(SCHEMA_VERSION),),
            )
            row = (str(SCHEMA_VERSION),)
    check_version(location, None if row is None else row[0])


#: The versions whose records a read-only reader (``eventjobs journal ...``)
#: reads as they are: version 2 differs only by the table of keys, which
#: only appending nodes use (version 1 lacks ``records.node_id``).
READABLE_VERSIONS = frozenset({2, SCHEMA_VERSION})


def check_version(
    location: PostgresLocation, found: str | None, *, reading: bool = False
) -> None:
    """Raise ConfigError unless *found* is this eventjobs' schema version
    (*reading*: or one of :data:`READABLE_VERSIONS`)."""
    if found is not None and found.isdigit() and int(found) == SCHEMA_VERSION:
        return
    readable = found is not None and found.isdigit() and int(found) in READABLE_VERSIONS
    if reading and readable:
        return
    if found is not None and found.isdigit() and int(found) > SCHEMA_VERSION:
        raise ConfigError(
            f"the PostgreSQL journal {location} has schema version {found}, written by a "
            f"newer eventjobs (this one reads version {SCHEMA_VERSION}); upgrade eventjobs"
        )
    raise ConfigError(
        f"the PostgreSQL journal {location} has schema version {found!r}, which this "
        f"eventjobs (version {SCHEMA_VERSION}) cannot read; no migration exists for it: "
        "keep the older eventjobs, or copy the journal to a file journal with it "
        "('eventjobs journal copy') and from there to a new schema"
    )
