"""Stored results do not stay in memory: their bodies are read back from the
journal on fetch (durability issue, item 6)."""

from __future__ import annotations

import trio

from eventjobs import Settings
from eventjobs.journal.pruning import prune
from eventjobs.journal.segments import list_segments
from tests.support import serve_app, settle, submit


def file_settings(tmp_path, **more):
    return Settings(journal=str(tmp_path / "journal"), shutdown_timeout=0, **more)


async def wait_done(client, job_id):
    with trio.fail_after(10):  # the file journal syncs in a worker thread
        while (await client.get(f"/_api/job/{job_id}")).status_code != 200:
            await trio.sleep(0.005)
    await settle()


async def test_a_durable_result_leaves_memory_and_is_read_back(tmp_path):
    """Once its record is durable, a result's body is no longer in the views;
    the fetch reads it back byte for byte."""
    body = bytes(range(256)) * 4
    async with serve_app(file_settings(tmp_path)) as served:
        job_id = await submit(served.client, "POST", "/_admin/echo", data=b"x")
        raw = await submit(served.client, "PUT", "/_admin/echo", data=body)
        await wait_done(served.client, raw)
        await served.runtime.flush()
        view = served.runtime.table.jobs[raw]
        assert view.response is None and view.result_at is not None
        assert view.status == 200
        result = await served.client.put(f"/_api/job/{raw}")
        assert result.status_code == 200
        assert (await result.get_json())["bodyEncoding"] == "base64"
        assert (await served.client.put(f"/_api/job/{job_id}")).status_code == 200


async def test_the_memory_journal_keeps_results_in_the_views():
    """With nothing to read back from, results stay in memory."""
    async with serve_app() as served:
        job_id = await submit(served.client, "GET", "/_api/version")
        await settle()
        view = served.runtime.table.jobs[job_id]
        assert view.response is not None and view.result_at is None


async def test_concurrent_fetches_of_a_result_on_disk_hand_it_out_once(tmp_path):
    """Two fetches racing over a read-back: exactly one gets the result."""
    async with serve_app(file_settings(tmp_path)) as served:
        job_id = await submit(served.client, "GET", "/_api/version")
        await wait_done(served.client, job_id)
        statuses = []

        async def fetch():
            statuses.append(
                (await served.client.put(f"/_api/job/{job_id}")).status_code
            )

        async with trio.open_nursery() as nursery:
            nursery.start_soon(fetch)
            nursery.start_soon(fetch)
        assert sorted(statuses) == [200, 404]


async def test_prune_keeps_segments_holding_results_not_yet_fetched(tmp_path):
    """A segment whose result is still to be fetched survives pruning, and
    the result is served after a restart."""
    settings = file_settings(tmp_path, segment_bytes=1200)
    async with serve_app(settings) as served:
        kept = await submit(served.client, "PUT", "/_admin/echo", data=b"keep me")
        await wait_done(served.client, kept)
        for n in range(12):
            job_id = await submit(served.client, "PUT", "/_admin/echo", data=f"n{n}")
            await wait_done(served.client, job_id)
            await served.client.put(f"/_api/job/{job_id}")
    journal = tmp_path / "journal"
    assert len(list_segments(journal)) > 3
    result = prune(journal, before=served.clock.now + 10)
    assert list_segments(journal)[0].first_seq == 1, "the result's segment stays"
    assert result.segments == ()
    async with serve_app(settings) as restarted:
        fetched = await restarted.client.put(f"/_api/job/{kept}")
        assert (await fetched.get_json())["body"] == "keep me"
        await restarted.client.delete("/_api/job/all")
    # Once nothing live remains there, the old segments may go.
    assert prune(journal, before=served.clock.now + 10).segments
