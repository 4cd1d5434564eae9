"""A big body is not copied over and over on its way through: one submit,
run and fetch of a 20 MiB body, its peak memory traced.

tracemalloc counts the bytes allocated (not time), so the bounds are exact
whatever else the machine runs. They count everything in this process, the
test client's copies included.
"""

from __future__ import annotations

import os
import tracemalloc

import pytest
import trio
from quart import Response, request

from eventjobs import Settings
from tests.support import serve_app, submit

MIB = 1 << 20
SIZE = 20 * MIB

BODIES = {
    "zero bytes": lambda: b"\x00" * SIZE,  # base64 in the journal (was 6x as text)
    "random": lambda: os.urandom(SIZE),  # base64
    "text": lambda: b"plain text " * (SIZE // 11),  # text, written as it is
}


def raw_echo(app):
    """A route that answers with its request body, as a download would."""

    @app.route("/raw", methods=["PUT"])
    async def raw() -> Response:
        return Response(
            await request.get_data(), content_type="application/octet-stream"
        )


@pytest.mark.parametrize("make_body", BODIES.values(), ids=BODIES.keys())
async def test_submit_and_fetch_of_a_20_mib_body_hold_it_at_most_three_times(
    tmp_path, make_body
):
    """Submit and run: the pending job's request, and the two copies Quart
    makes when the handler reads its body (a bytearray, then bytes) are all
    there is; the record is written from one buffer. Fetch: the record's
    line while it is checked, then its body (the line is let go before the
    body is decoded). Before, a submit peaked at 6-20 times the body and a
    fetch at 4-13 times (str copies, escapes, joins, the writer keeping the
    last event)."""
    body = make_body()
    settings = Settings(
        journal=str(tmp_path / "journal"),
        shutdown_timeout=0,
        max_body_bytes=SIZE + MIB,
        max_result_bytes=SIZE + MIB,
    )
    async with serve_app(settings, setup=raw_echo) as served:
        tracemalloc.start()
        try:
            job = await submit(served.client, "PUT", "/raw", data=body)
            with trio.fail_after(30):
                while (await served.client.get(f"/_api/job/{job}")).status_code != 200:
                    await trio.sleep(0.01)
            await served.runtime.flush()
            view = served.runtime.table.jobs[job]
            assert view.response is None and view.result_at is not None  # on disk
            submit_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
            result = await served.client.put(f"/_api/job/{job}")
            fetched = await result.get_data()
            fetch_peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert fetched == body
    assert submit_peak <= 3.2 * SIZE, submit_peak / SIZE
    assert fetch_peak <= 3.0 * SIZE, fetch_peak / SIZE
