"""``Idempotency-Key`` on a submission: the same owner's repeat gets the
first job back, another request with the key is 422, bad keys are 400, and
the key holds across fetch, delete and a restart until its window ends."""

from __future__ import annotations

import pytest
import trio

from eventjobs import Settings
from eventjobs.events import JobQueued
from eventjobs.journal import FileJournal
from eventjobs.projection import fold
from tests.http.conftest import add_test_routes
from tests.support import ASYNC_STORE, auth_settings, basic, serve_app, settle

KEY = "order-4711"


def queued(served) -> list[JobQueued]:
    return [r.event for r in served.journal.read() if isinstance(r.event, JobQueued)]


async def post(served, path="/test/bytes", body=b"one", key=KEY, **headers):
    sent = {**ASYNC_STORE, **headers}
    if key is not None:
        sent["Idempotency-Key"] = key
    return await served.client.post(path, data=body, headers=sent)


async def test_a_repeat_gets_the_first_job_and_records_nothing(served):
    first = await post(served)
    again = await post(served)
    assert (first.status_code, again.status_code) == (202, 202)
    job_id = first.headers["x-arango-async-id"]
    assert again.headers["x-arango-async-id"] == job_id
    [event] = queued(served)
    assert (event.job_id, event.idempotency_key) == (int(job_id), KEY)


@pytest.mark.parametrize(
    "change",
    [
        {"body": b"two"},
        {"path": "/test/bytes?x=1"},
        {"path": "/test/wait/a"},
    ],
    ids=["body", "query", "path"],
)
async def test_the_key_with_another_request_is_422_with_an_arango_body(served, change):
    first = await post(served)
    other = await post(served, **change)
    assert other.status_code == 422
    body = await other.get_json()
    assert (body["code"], body["error"], body["errorNum"]) == (422, True, 1200)
    assert KEY in body["errorMessage"] and "another request" in body["errorMessage"]
    assert first.headers["x-arango-async-id"] in body["errorMessage"]
    assert len(queued(served)) == 1


async def test_without_the_header_nothing_changes(served):
    one = await post(served, key=None)
    two = await post(served, key=None)
    assert one.headers["x-arango-async-id"] != two.headers["x-arango-async-id"]
    assert [event.idempotency_key for event in queued(served)] == [None, None]


@pytest.mark.parametrize(
    "key",
    ["k" * 256, "has space", "tab\there", "caf\xe9", ""],
    ids=["256-bytes", "space", "tab", "latin-1", "empty"],
)
async def test_a_bad_key_is_400_and_nothing_is_queued(served, key):
    response = await post(served, key=key)
    assert response.status_code == 400
    body = await response.get_json()
    assert body["errorNum"] == 400 and "Idempotency-Key" in body["errorMessage"]
    assert queued(served) == []


async def test_a_key_of_255_visible_characters_is_accepted(served):
    assert (await post(served, key="~!" * 127 + "z")).status_code == 202


async def test_two_identical_requests_racing_make_one_job(served):
    answers = []

    async def one() -> None:
        answers.append(await post(served))

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(one)
    assert {a.status_code for a in answers} == {202}
    assert len({a.headers["x-arango-async-id"] for a in answers}) == 1
    assert len(queued(served)) == 1


async def test_fetching_or_deleting_the_job_does_not_free_the_key(served):
    job_id = (await post(served)).headers["x-arango-async-id"]
    await settle()
    assert (await served.client.put(f"/_api/job/{job_id}")).status_code == 200
    again = await post(served)
    assert (again.status_code, again.headers["x-arango-async-id"]) == (202, job_id)
    second = (await post(served, key="other")).headers["x-arango-async-id"]
    assert (await served.client.delete(f"/_api/job/{second}")).status_code == 200
    assert (await post(served, key="other")).headers["x-arango-async-id"] == second
    assert len(queued(served)) == 2


async def test_after_the_window_the_key_makes_a_new_job(gates):
    settings = Settings(journal=":memory:", shutdown_timeout=0, idempotency_window=60)
    async with serve_app(settings, setup=lambda app: add_test_routes(app, gates)) as s:
        first = (await post(s)).headers["x-arango-async-id"]
        s.clock.advance(59)
        assert (await post(s)).headers["x-arango-async-id"] == first
        s.clock.advance(2)
        assert (await post(s)).headers["x-arango-async-id"] != first
        assert s.runtime.jobs.table.key_use(None, KEY, 0).job_id == int(first) + 1


async def test_keys_are_per_owner(tmp_path, gates):
    settings = auth_settings(tmp_path)
    async with serve_app(settings, setup=lambda app: add_test_routes(app, gates)) as s:
        alice = await post(s, **basic("alice"))
        bob = await post(s, **basic("bob"))
        alice_again = await post(s, body=b"one", **basic("alice"))
        bob_other = await post(s, body=b"two", **basic("bob"))
    assert alice.headers["x-arango-async-id"] != bob.headers["x-arango-async-id"]
    assert (
        alice_again.headers["x-arango-async-id"] == alice.headers["x-arango-async-id"]
    )
    assert bob_other.status_code == 422


@pytest.mark.parametrize("snapshot", [True, False], ids=["snapshot", "replay"])
async def test_the_key_holds_after_a_restart(tmp_path, gates, snapshot):
    """After a clean stop (a snapshot holds the keys) and after a crash (the
    journal's records alone: no snapshot), the repeat gets the first job."""
    settings = Settings(journal=str(tmp_path / "journal"), shutdown_timeout=0)

    def setup(app):
        add_test_routes(app, gates)

    async with serve_app(settings, setup=setup) as s:
        first = (await post(s, path="/test/wait/g")).headers["x-arango-async-id"]
    if not snapshot:
        for path in (tmp_path / "journal").glob("snapshot*"):
            path.unlink()
    async with serve_app(settings, setup=setup) as s:
        again = await post(s, path="/test/wait/g")
        other = await post(s, path="/test/wait/h")
    assert (again.status_code, again.headers["x-arango-async-id"]) == (202, first)
    assert other.status_code == 422
    journal = FileJournal.open(tmp_path / "journal")
    try:
        keyed = [r.event for r in journal.read() if isinstance(r.event, JobQueued)]
        assert len(keyed) == 1
        assert fold(journal.read()).key_use(None, KEY, 0).job_id == int(first)
    finally:
        await journal.aclose()
