"""Jobs a client shapes, on two nodes of one PostgreSQL journal (two apps in
one process, through their test clients): what must hold across nodes."""

from __future__ import annotations

import attrs
import trio

from eventjobs import Settings
from eventjobs.events import JobQueued, JobStarted, RecordedRequest
from eventjobs.journal import Recorded
from eventjobs.journal.pg_node import PostgresNodeJournal
from eventjobs.journal.pg_schema import SCHEMA_VERSION
from eventjobs.referee import KeyTaken
from tests.postgres.conftest import schema_of, sql
from tests.support import ASYNC_STORE, serve_app

#: Pairs of identical keyed submissions raced, one of each pair per node.
PAIRS = 20


def settings(pg_url: str) -> Settings:
    return Settings(journal=pg_url, shutdown_timeout=0, node_lease=5.0)


async def test_identical_keyed_submissions_racing_on_two_nodes_make_one_job(pg_url):
    """Each node's table lags the other's appends, so only the journal's
    transaction can see that a key was used: per key one job, and both
    answers name it."""
    async with serve_app(settings(pg_url)) as a, serve_app(settings(pg_url)) as b:
        answers: dict[int, list[int]] = {n: [] for n in range(PAIRS)}

        async def send(node, n: int) -> None:
            response = await node.client.put(
                "/_admin/echo",
                data=f"pair {n}".encode(),
                headers={**ASYNC_STORE, "Idempotency-Key": f"key-{n}"},
            )
            assert response.status_code == 202, await response.get_data()
            answers[n].append(int(response.headers["x-arango-async-id"]))

        async with trio.open_nursery() as nursery:
            for n in range(PAIRS):
                nursery.start_soon(send, a, n)
                nursery.start_soon(send, b, n)

        for n, (first, second) in answers.items():
            assert first == second, f"pair {n}: two jobs {first} and {second}"
        schema = schema_of(pg_url)
        ((queued,),) = sql(
            pg_url, f"SELECT count(*) FROM {schema}.records WHERE type = 'queued'"
        )
        assert queued == PAIRS
        # Another request under a used key, on the node that did not record
        # it first either: 422, as on a single server.
        taken = await b.client.put(
            "/_admin/echo",
            data=b"something else",
            headers={**ASYNC_STORE, "Idempotency-Key": "key-0"},
        )
        assert taken.status_code == 422


# -- the journal's keys table ------------------------------------------------------


def keyed(key: str, time: float = 1000.0, owner: str | None = "alice") -> JobQueued:
    return JobQueued(
        job_id=0,
        time=time,
        owner=owner,
        store=True,
        request=RecordedRequest(method="GET", path="/_api/version"),
        idempotency_key=key,
    )


async def joined(url: str, key_window: float = 60.0) -> PostgresNodeJournal:
    journal = await trio.to_thread.run_sync(PostgresNodeJournal.open, url)
    await journal.join("n", 30.0, key_window=key_window)
    return journal


async def test_a_used_key_is_refused_naming_its_job_until_its_window_ends(pg_url):
    journal = await joined(pg_url, key_window=60.0)
    try:
        (first,) = (await journal.append_judged([keyed("k")])).outcomes
        assert isinstance(first, Recorded)
        # In one batch, with another owner's identical key, and after the window.
        outcomes = (
            await journal.append_judged(
                [
                    keyed("k", 1059.0),
                    keyed("k", 1059.0, owner=None),
                    keyed("k", 1061.0),
                ]
            )
        ).outcomes
    finally:
        await journal.aclose()
    taken, other_owner, later = outcomes
    assert isinstance(taken, KeyTaken) and taken.job_id == first.event.job_id
    assert isinstance(other_owner, Recorded) and isinstance(later, Recorded)
    assert later.event.job_id != first.event.job_id


async def test_a_version_2_journal_gains_the_keys_of_its_records(pg_url):
    """A journal written before the keys table: its keys are filled in from
    the records when it is opened, so a key used then is still refused."""
    journal = await joined(pg_url)
    try:
        (first,) = (await journal.append_judged([keyed("old")])).outcomes
    finally:
        await journal.aclose()
    schema = schema_of(pg_url)
    sql(pg_url, f"DROP TABLE {schema}.idempotency_keys")
    sql(pg_url, f"UPDATE {schema}.meta SET value = '2' WHERE key = 'schema_version'")
    journal = await joined(pg_url)
    try:
        (again,) = (await journal.append_judged([keyed("old", 1001.0)])).outcomes
    finally:
        await journal.aclose()
    assert isinstance(again, KeyTaken) and again.job_id == first.event.job_id
    assert sql(pg_url, f"SELECT value FROM {schema}.meta") == [(str(SCHEMA_VERSION),)]


# -- retries across a take-over ----------------------------------------------------


async def test_a_job_taken_over_with_retries_left_retries_as_after_a_restart(pg_url):
    """A node dies while the first attempt of a job with retries runs: the
    node that takes it over records ``retrying`` (attempt 1, interrupted)
    and runs it again, as a single server does with what it finds at
    start-up; not ``interrupted`` with the 503."""
    dead = await joined(pg_url)
    try:
        queued = attrs.evolve(keyed("r", owner=None), retries=2, retry_delay=0.01)
        (record,) = (await dead.append_judged([queued])).outcomes
        assert isinstance(record, Recorded)
        job_id = record.event.job_id
        await dead.append_judged([JobStarted(job_id=job_id, time=1001.0)])
    finally:
        await dead.aclose()
    schema = schema_of(pg_url)
    sql(
        pg_url,
        f"UPDATE {schema}.nodes SET lease_expires = clock_timestamp() - interval '1s'",
    )
    async with serve_app(
        Settings(journal=pg_url, shutdown_timeout=0, node_lease=0.6)
    ) as node:
        # Held by the server until the job has finished, however it ends.
        response = await node.client.get(
            f"/_api/job/{job_id}", headers={"x-eventjobs-wait": "20"}
        )
        assert response.status_code == 200
        rows = sql(
            pg_url,
            f"SELECT type FROM {schema}.records WHERE job_id = %s ORDER BY seq",
            (job_id,),
        )
        assert [kind for (kind,) in rows] == [
            "queued",
            "started",
            "retrying",
            "started",
            "done",
        ]


async def test_a_version_2_journal_is_read_as_it_is_by_the_journal_commands(pg_url):
    """``eventjobs journal ...`` only reads: a journal not yet upgraded
    (no server has opened it since) is read without the keys table."""
    from eventjobs.audit.reading import records, source_of

    journal = await joined(pg_url)
    try:
        await journal.append_judged([keyed("old")])
    finally:
        await journal.aclose()
    schema = schema_of(pg_url)
    sql(pg_url, f"DROP TABLE {schema}.idempotency_keys")
    sql(pg_url, f"UPDATE {schema}.meta SET value = '2' WHERE key = 'schema_version'")
    read = await trio.to_thread.run_sync(lambda: list(records(source_of(pg_url))))
    assert [record.event.idempotency_key for record in read] == ["old"]
