"""``replay --until SEQ`` rebuilds exactly the views a live server held after
record SEQ: captured from a running app's table at several positions and
compared with replay's ``--json`` of its file journal afterwards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import trio

from eventjobs import Settings
from eventjobs.snapshot_codec import encode_table
from tests.http.conftest import Gates, add_test_routes
from tests.support import serve_app, settle, submit

from .support import run, views


async def test_replay_until_equals_live_state_at_each_position(
    tmp_path: Path, capsys
) -> None:
    """At every captured position, replay --json equals the live table."""
    journal = tmp_path / "journal"
    settings = Settings(journal=str(journal), shutdown_timeout=0, max_running=2)
    gates = Gates()
    captured: list[dict[str, Any]] = []
    async with serve_app(
        settings, setup=lambda app: add_test_routes(app, gates)
    ) as served:
        client, clock = served.client, served.clock

        async def capture() -> None:
            await settle()
            clock.advance(1.5)
            captured.append(views(encode_table(served.runtime.table)))

        quick = await submit(client, "GET", "/_api/version")
        await capture()
        slow = await submit(client, "GET", "/test/wait/a")
        await capture()
        assert (await client.put(f"/_api/job/{quick}")).status_code == 200
        await capture()
        held = await submit(client, "POST", "/test/wait/b")
        waiting = await submit(
            client, "GET", "/_api/version"
        )  # queued: both slots busy
        await capture()
        assert (await client.put(f"/_api/job/{held}/cancel")).status_code == 200
        await capture()
        await client.get(
            "/_api/version", headers={"x-arango-async": "true"}
        )  # fire and forget
        assert (await client.delete(f"/_api/job/{waiting}")).status_code == 200
        await capture()
        gates.open("a")
        with trio.fail_after(10):  # the file journal appends in a worker thread
            while (await client.get(f"/_api/job/{slow}")).status_code != 200:
                await trio.sleep(0.01)
        await capture()
        assert (await client.delete("/_api/job/all")).status_code == 200
        await capture()
    positions = [state["position"] for state in captured]
    # Distinct moments were captured (each step records something; a delete
    # may still be on its way to the journal when it is answered).
    assert positions == sorted(positions) and len(set(positions)) >= 6, positions
    for state in captured:
        result = run(
            capsys, "replay", str(journal), "--until", str(state["position"]), "--json"
        )
        assert result.status == 0, result
        assert views(json.loads(result.out)) == state, (
            f"at position {state['position']}"
        )
