"""The PostgreSQL journal beyond the contract: damage, versions, the lock,
notifications, snapshots, URLs, and the throwaway-cluster fixture itself."""

from __future__ import annotations

import tempfile
from pathlib import Path

import psycopg
import pytest
import trio

from eventjobs.audit.reading import Scan, follower, source_of
from eventjobs.errors import (
    ConfigError,
    JournalConflict,
    JournalCorrupt,
    JournalUnavailable,
)
from eventjobs.journal.lines import GENESIS_HASH, encode_record
from eventjobs.journal.pg_connect import application_name, explain_connect_error
from eventjobs.journal.pg_schema import SCHEMA_VERSION
from eventjobs.journal.pg_url import parse_postgres_url, redact
from eventjobs.journal.postgres import PostgresJournal
from eventjobs.events import (
    JobDone,
    JobQueued,
    JobStarted,
    RecordedRequest,
    RecordedResponse,
)
from eventjobs.journal import Recorded
from eventjobs.projection import fold
from eventjobs.snapshot_codec import encode_header, encode_jobs, encode_snapshot
from tests.journal.contract import SAMPLE_EVENTS, numbered
from tests.postgres.cluster import start_throwaway
from tests.postgres.conftest import schema_of, sql


async def opened(url: str) -> PostgresJournal:
    return await trio.to_thread.run_sync(PostgresJournal.open, url)


async def written(url: str, count: int = len(SAMPLE_EVENTS)) -> None:
    journal = await opened(url)
    try:
        await journal.append(numbered(SAMPLE_EVENTS[:count]))
    finally:
        await journal.aclose()


# -- the records are the file format's lines ------------------------------------------


async def test_rows_hold_chained_sealed_lines_and_query_columns(pg_url):
    await written(pg_url)
    schema = schema_of(pg_url)
    rows = sql(
        pg_url,
        f"SELECT seq, job_id, type, time, line FROM {schema}.records ORDER BY seq",
    )
    assert [row[0] for row in rows] == list(range(1, len(SAMPLE_EVENTS) + 1))
    assert rows[0][1:4] == (1, "queued", 1_700_000_000.25)
    assert rows[0][4].startswith(f'{{"seq":1,"prev":"{GENESIS_HASH}"')
    head = sql(pg_url, f"SELECT seq, hash FROM {schema}.head")
    assert head == [(len(SAMPLE_EVENTS), rows[-1][4][-66:-2])]


async def test_read_at_a_location_from_append(pg_url):
    journal = await opened(pg_url)
    try:
        locations = await journal.append(numbered(SAMPLE_EVENTS))
        assert journal.read_at(locations[2]) == numbered(SAMPLE_EVENTS)[2]
        with pytest.raises(JournalCorrupt, match="no such record"):
            journal.read_at(999)
    finally:
        await journal.aclose()


# -- damage ------------------------------------------------------------------------------


async def test_an_edited_row_is_found_by_reading_with_its_seq(pg_url):
    await written(pg_url)
    schema = schema_of(pg_url)
    sql(
        pg_url,
        f"UPDATE {schema}.records SET line = replace(line, 'alice', 'mallory') WHERE seq = 5",
    )
    journal = await opened(pg_url)
    try:
        with pytest.raises(JournalCorrupt) as caught:
            list(journal.read())
    finally:
        await journal.aclose()
    message = str(caught.value)
    assert f"table {schema}.records, row seq=5" in message
    assert "does not match its hash (it was edited)" in message
    # What to do, said for tables, not for a journal directory.
    assert message.endswith("never edit the tables by hand."), message
    assert "Restore the schema from a backup (pg_dump --schema=NAME)" in message


async def test_a_deleted_row_breaks_the_sequence(pg_url):
    await written(pg_url)
    sql(pg_url, f"DELETE FROM {schema_of(pg_url)}.records WHERE seq = 3")
    journal = await opened(pg_url)
    try:
        with pytest.raises(
            JournalCorrupt, match="sequence number 4 where 3 was expected"
        ):
            list(journal.read())
    finally:
        await journal.aclose()


async def test_head_table_out_of_step_with_records_refuses_to_open(pg_url):
    await written(pg_url)
    sql(
        pg_url,
        f"DELETE FROM {schema_of(pg_url)}.records WHERE seq = {len(SAMPLE_EVENTS)}",
    )
    with pytest.raises(JournalCorrupt, match="the records end at 7"):
        await opened(pg_url)


def history() -> list[Recorded]:
    """Two finished jobs and a queued one: a legal history to fold."""
    request = RecordedRequest(method="PUT", path="/_admin/echo", body=b"kept")
    response = RecordedResponse(status=200, headers=(), body=b"kept")
    events = [
        JobQueued(job_id=1, time=1.0, owner=None, store=True, request=request),
        JobStarted(job_id=1, time=2.0),
        JobDone(job_id=1, time=3.0, response=response),
        JobQueued(job_id=2, time=4.0, owner="alice", store=True, request=request),
        JobStarted(job_id=2, time=5.0),
        JobDone(job_id=2, time=6.0, response=response),
        JobQueued(job_id=3, time=7.0, owner=None, store=False, request=request),
    ]
    return numbered(events)


def loaded(journal: PostgresJournal) -> tuple[int, dict, list[dict]] | None:
    found = journal.load_snapshot()
    if found is None:
        return None
    position, header, jobs = found
    return position, header, list(jobs)


async def test_a_snapshot_round_trips_a_row_per_line(pg_url):
    """The views of a real history come back as saved, read in chunks."""
    journal = await opened(pg_url)
    try:
        await journal.append(history())
        table = fold(list(journal.read()))
        assert len(table.jobs) == 3
        await journal.save_snapshot(7, *encode_snapshot(table))
        expected = (7, encode_header(table), list(encode_jobs(table.jobs.values())))
        assert loaded(journal) == expected
        rows = sql(pg_url, f"SELECT count(*) FROM {schema_of(pg_url)}.snapshots")
        assert rows == [
            (len(table.jobs) + 2,)
        ]  # first line, a line per job, closing line
    finally:
        await journal.aclose()


async def test_a_damaged_snapshot_is_refused_naming_its_line(pg_url):
    journal = await opened(pg_url)
    try:
        await journal.append(numbered(SAMPLE_EVENTS))
        await journal.save_snapshot(3, {"views": "as of 3"}, [{"job": 1}, {"job": 2}])
        assert loaded(journal) == (3, {"views": "as of 3"}, [{"job": 1}, {"job": 2}])
        schema = schema_of(pg_url)
        sql(
            pg_url,
            f"UPDATE {schema}.snapshots SET line = replace(line, '2', '7') WHERE n = 3",
        )
        with pytest.raises(
            JournalCorrupt,
            match=r"snapshots, position 3, line 3: .*does not match its hash",
        ):
            loaded(journal)
        sql(pg_url, f"DELETE FROM {schema}.snapshots WHERE n = 3")
        with pytest.raises(
            JournalCorrupt, match="closing line does not match the 1 job lines"
        ):
            loaded(journal)
        sql(
            pg_url,
            f"UPDATE {schema}.snapshots SET line = replace(line, '3', '4') WHERE n = 1",
        )
        with pytest.raises(
            JournalCorrupt, match="line 1: the line does not match its hash"
        ):
            journal.load_snapshot()
    finally:
        await journal.aclose()


async def test_a_snapshot_over_an_edited_record_is_refused(pg_url):
    journal = await opened(pg_url)
    try:
        await journal.append(history())
        await journal.save_snapshot(3, {}, [])
        schema = schema_of(pg_url)
        sql(
            pg_url,
            f"UPDATE {schema}.records SET line = replace(line, 'kept', 'lost') WHERE seq = 3",
        )
        with pytest.raises(JournalCorrupt, match="seq=3"):
            journal.load_snapshot()
    finally:
        await journal.aclose()


async def test_only_the_newest_two_snapshots_are_kept(pg_url):
    journal = await opened(pg_url)
    try:
        await journal.append(numbered(SAMPLE_EVENTS))
        for position in (0, 2, 5, 8):
            await journal.save_snapshot(position, {"at": position}, [{"job": position}])
        with pytest.raises(ValueError, match="ahead of the head"):
            await journal.save_snapshot(9, {}, [])
        assert loaded(journal) == (8, {"at": 8}, [{"job": 8}])
    finally:
        await journal.aclose()
    positions = sql(
        pg_url,
        f"SELECT DISTINCT position FROM {schema_of(pg_url)}.snapshots ORDER BY 1",
    )
    assert positions == [(5,), (8,)]


# -- schema version --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (str(SCHEMA_VERSION + 1), "written by a newer eventjobs"),
        ("0", "no migration exists"),
    ],
)
async def test_another_schema_version_is_refused(pg_url, version, expected):
    await written(pg_url, 2)
    sql(pg_url, f"UPDATE {schema_of(pg_url)}.meta SET value = %s", (version,))
    with pytest.raises(ConfigError) as caught:
        await opened(pg_url)
    assert f"schema version {version}" in str(caught.value).replace("'", "")
    assert expected in str(caught.value)


async def test_a_schema_holding_other_tables_is_refused(pg_url):
    schema = schema_of(pg_url)
    sql(pg_url, f"CREATE SCHEMA {schema}")
    sql(pg_url, f"CREATE TABLE {schema}.customers (id int)")
    with pytest.raises(
        ConfigError, match=r"already holds tables \(customers\).*\?schema=NAME"
    ):
        await opened(pg_url)


# -- one server per journal -----------------------------------------------------------


async def test_a_second_open_is_refused_naming_the_first(pg_url):
    first = await opened(pg_url)
    try:
        with pytest.raises(ConfigError) as caught:
            await opened(pg_url)
    finally:
        await first.aclose()
    message = str(caught.value)
    assert "is in use by another eventjobs server (eventjobs pid " in message
    assert "as its exclusive writer" in message
    # Closing released the lock.
    await (await opened(pg_url)).aclose()


async def test_journals_in_other_schemas_are_independent(pg_url):
    other = pg_url + "x"
    first, second = await opened(pg_url), await opened(other)
    try:
        await first.append(numbered(SAMPLE_EVENTS[:2]))
        assert second.head == 0
    finally:
        await first.aclose()
        await second.aclose()
        sql(pg_url, f"DROP SCHEMA {schema_of(other)} CASCADE")


async def test_a_second_writer_behind_the_lock_gets_a_conflict(pg_url):
    """Should the lock ever be lost (the lock connection dropped), the head
    check still refuses a batch that does not continue the database's head."""
    journal = await opened(pg_url)
    try:
        await journal.append(numbered(SAMPLE_EVENTS[:2]))
        sql(pg_url, f"UPDATE {schema_of(pg_url)}.head SET seq = 3")  # "another writer"
        with pytest.raises(
            JournalConflict, match="expected the head at 2 but it is at 3"
        ):
            await journal.append(numbered(SAMPLE_EVENTS[2:4], first=3))
        assert sql(pg_url, f"SELECT count(*) FROM {schema_of(pg_url)}.records") == [
            (2,)
        ]
    finally:
        await journal.aclose()


# -- notifications -----------------------------------------------------------------------


async def test_wait_for_head_is_woken_by_an_append(pg_url):
    journal = await opened(pg_url)
    woken: list[int] = []
    try:
        await journal.append(numbered(SAMPLE_EVENTS[:2]))
        async with trio.open_nursery() as nursery:

            async def wait() -> None:
                # No polling: only the notification can wake it.
                woken.append(await journal.wait_for_head(2, poll_seconds=3600))

            nursery.start_soon(wait)
            await trio.testing.wait_all_tasks_blocked()
            await journal.append(numbered(SAMPLE_EVENTS[2:5], first=3))
    finally:
        await journal.aclose()
    assert woken == [5]


async def test_wait_for_head_is_woken_by_another_connections_notify(pg_url):
    """What a follower on another node sees: a commit by someone else."""
    journal = await opened(pg_url)
    woken: list[int] = []
    schema = schema_of(pg_url)
    try:
        async with trio.open_nursery() as nursery:

            async def wait() -> None:
                woken.append(await journal.wait_for_head(0, poll_seconds=3600))

            nursery.start_soon(wait)
            await trio.testing.wait_all_tasks_blocked()
            with psycopg.connect(pg_url.split("?")[0]) as other:
                other.execute(f"UPDATE {schema}.head SET seq = 7")
                other.execute("SELECT pg_notify(%s, '7')", (journal.channel,))
    finally:
        await journal.aclose()
    assert woken == [7]


async def test_wait_for_head_returns_at_once_when_already_past(pg_url):
    journal = await opened(pg_url)
    try:
        await journal.append(numbered(SAMPLE_EVENTS[:3]))
        assert await journal.wait_for_head(1, poll_seconds=3600) == 3
    finally:
        await journal.aclose()


# -- URLs and messages -----------------------------------------------------------------


def test_url_keeps_libpq_parameters_and_takes_out_the_schema():
    location = parse_postgres_url(
        "postgres://u:pw@h:5433/db?sslmode=disable&schema=jobs"
    )
    assert location.schema == "jobs"
    assert location.conninfo == "postgres://u:pw@h:5433/db?sslmode=disable"
    assert location.redacted == "postgres://u:***@h:5433/db?sslmode=disable&schema=jobs"
    assert parse_postgres_url("postgresql://h/db").schema == "eventjobs"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://h/db?schema=Jobs",
        "postgresql://h/db?schema=1x",
        "postgresql://h:x/db",
        "postgresql://h/db?schema=a&schema=b",
    ],
)
def test_bad_urls_are_refused_without_the_password(url):
    with pytest.raises(ConfigError) as caught:
        parse_postgres_url(url.replace("//", "//u:hunter2@"))
    assert "hunter2" not in str(caught.value)
    assert "u:***@" in str(caught.value)


def test_password_in_the_query_is_redacted():
    assert (
        redact("postgresql://h/db?password=hunter2&x=1")
        == "postgresql://h/db?password=***&x=1"
    )


def test_a_wrong_password_gets_a_hint():
    # libpq's own text for that failure (the test servers trust every login).
    message = explain_connect_error(
        parse_postgres_url("postgresql://u:pw@h/db"),
        'connection failed: connection to server at "h", port 5432 failed: FATAL:  '
        'password authentication failed for user "u"',
    )
    assert message == (
        "cannot connect to the PostgreSQL journal 'postgresql://u:***@h/db': connection to "
        'server at "h", port 5432 failed: FATAL: password authentication failed for user "u"; '
        "check the user and password in the URL (or PGPASSWORD, ~/.pgpass) and the server's "
        "pg_hba.conf"
    )


# -- the throwaway cluster the fixtures fall back on --------------------------------


async def test_throwaway_cluster_serves_a_journal():
    """The fallback path of tests/postgres/cluster.py, run whatever the local
    server's state (it never touches the machine's server)."""
    server = await trio.to_thread.run_sync(start_throwaway, Path(tempfile.mkdtemp()))
    try:
        assert server.kind == "throwaway"
        assert not server.admin_url.endswith(":5432/postgres")
        url = server.url("postgres") + "?schema=throwaway"
        await written(url)
        journal = await opened(url)
        try:
            assert list(journal.read()) == numbered(SAMPLE_EVENTS)
        finally:
            await journal.aclose()
    finally:
        await trio.to_thread.run_sync(server.stop)


async def test_the_audit_follower_reads_what_is_appended_after_a_scan(pg_url):
    """``eventjobs journal log --follow`` on a PostgreSQL journal."""
    journal = await opened(pg_url)
    try:
        await journal.append(numbered(SAMPLE_EVENTS[:3]))
        scan = Scan(source_of(pg_url))
        assert [entry.record.seq for entry in scan] == [1, 2, 3]
        following = follower(source_of(pg_url), scan.last_seq, scan.last_hash)
        assert following.poll() == []
        await journal.append(numbered(SAMPLE_EVENTS[3:5], first=4))
        assert [entry.record for entry in following.poll()] == numbered(SAMPLE_EVENTS)[
            3:5
        ]
        assert following.poll() == []
        # One connection from poll to poll, and a new one once it is dropped.
        mine = "SELECT pid FROM pg_stat_activity WHERE query LIKE %s AND pid <> pg_backend_pid()"
        (pid,) = {row[0] for row in sql(pg_url, mine, ("%records WHERE seq >= %",))}
        assert following.poll() == []
        assert {row[0] for row in sql(pg_url, mine, ("%records WHERE seq >= %",))} == {
            pid
        }
        sql(pg_url, "SELECT pg_terminate_backend(%s)", (pid,))
        await journal.append(numbered(SAMPLE_EVENTS[5:6], first=6))
        assert [entry.record.seq for entry in following.poll()] == [6]
        following.close()
    finally:
        await journal.aclose()


async def test_appends_fail_cleanly_while_the_connections_are_lost_then_resume(pg_url):
    """The database drops every connection (a restart, a failover): the next
    append raises JournalUnavailable with nothing written (the writer answers
    503 and retries), and the one after reconnects and succeeds."""

    journal = await opened(pg_url)
    try:
        await journal.append(numbered(SAMPLE_EVENTS[:2]))
        journal.read_at(1)  # a second pooled connection, idle now
        sql(
            pg_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s",
            (application_name(),),
        )
        with pytest.raises(
            JournalUnavailable, match="appending to the PostgreSQL journal"
        ):
            await journal.append(numbered(SAMPLE_EVENTS[2:4], first=3))
        assert journal.head == 2
        await journal.append(numbered(SAMPLE_EVENTS[2:4], first=3))
        assert list(journal.read()) == numbered(SAMPLE_EVENTS[:4])
        # The lock went with the connections; the journal took it again.
        with pytest.raises(ConfigError, match="in use by another eventjobs server"):
            await opened(pg_url)
    finally:
        await journal.aclose()


async def test_a_failed_append_that_did_commit_is_taken_from_the_database(pg_url):
    """A COMMIT whose reply was lost: the next append reads the head from the
    database, so it continues after the batch that did land."""

    journal = await opened(pg_url)
    try:
        await journal.append(numbered(SAMPLE_EVENTS[:2]))
        # Commit record 3 behind the journal's back (as the lost attempt
        # did), then make its next statement fail (as the lost reply did).
        line, digest = _last_line(numbered(SAMPLE_EVENTS[:3]))
        schema = schema_of(pg_url)
        sql(pg_url, f"UPDATE {schema}.head SET seq = 3, hash = %s", (digest,))
        sql(
            pg_url,
            f"INSERT INTO {schema}.records VALUES (3, 1, 'done', 0, %s)",
            (line,),
        )
        sql(
            pg_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s",
            (application_name(),),
        )
        with pytest.raises(JournalUnavailable):
            await journal.append(numbered(SAMPLE_EVENTS[2:3], first=3))
        with pytest.raises(JournalConflict):  # the head is 3 now, not 2
            await journal.append(numbered(SAMPLE_EVENTS[2:3], first=3))
        assert journal.head == 3
        await journal.append(numbered(SAMPLE_EVENTS[3:5], first=4))
        assert list(journal.read()) == numbered(SAMPLE_EVENTS[:5])
    finally:
        await journal.aclose()


def _last_line(records: list) -> tuple[str, str]:
    """The line of the last of *records*, chained from the first, and its hash."""
    prev = GENESIS_HASH
    for record in records:
        line, prev = encode_record(record, prev)
    return line.decode(), prev


async def test_wait_for_head_listens_again_after_losing_its_connection(pg_url):
    journal = await opened(pg_url)
    try:
        await journal.append(numbered(SAMPLE_EVENTS[:1]))
        assert await journal.wait_for_head(0) == 1  # listening now
        sql(
            pg_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND query LIKE 'LISTEN%%'",
            (application_name(),),
        )
        with pytest.raises(
            JournalUnavailable, match="listening to the PostgreSQL journal"
        ):
            await journal.wait_for_head(1, poll_seconds=3600)
        woken: list[int] = []
        async with trio.open_nursery() as nursery:

            async def wait() -> None:
                woken.append(await journal.wait_for_head(1, poll_seconds=3600))

            nursery.start_soon(wait)
            await trio.testing.wait_all_tasks_blocked()
            await journal.append(numbered(SAMPLE_EVENTS[1:2], first=2))
        assert woken == [2]
    finally:
        await journal.aclose()
