"""The two ways to make your own endpoints async-capable (docs/embedding.md),
tested on the runnable examples in docs/examples/."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
import trio

from eventjobs import Settings
from eventjobs.errors import ConfigError
from eventjobs.journal import MemoryJournal
from tests.support import ASYNC_STORE, settle, submit

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"


@pytest.fixture
def examples_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))


async def test_library_example_route_runs_as_a_job(
    examples_on_path, monkeypatch, tmp_path
):
    """A route registered on create_app()'s app accepts x-arango-async."""
    monkeypatch.setenv("EVENTJOBS_JOURNAL", str(tmp_path / "journal"))
    module = importlib.import_module("library_app")
    async with module.app.test_app() as test_app:
        client = test_app.test_client()
        sync = await client.post("/reports", json={"rows": 3})
        assert await sync.get_json() == {"rows": 3, "total": 3, "job": None}
        response = await client.post("/reports", json={"rows": 4}, headers=ASYNC_STORE)
        job_id = int(response.headers["x-arango-async-id"])
        with trio.fail_after(10):  # file journal: fsync runs in a thread
            while (await client.get(f"/_api/job/{job_id}")).status_code != 200:
                await trio.sleep(0.005)
        result = await client.put(f"/_api/job/{job_id}")
        assert await result.get_json() == {"rows": 4, "total": 6, "job": job_id}
    assert any((tmp_path / "journal").glob("segment-*.jsonl"))


async def test_mounted_app_paths_accept_async(examples_on_path):
    """--app mounts an ASGI app: its paths run as jobs, with its lifespan."""
    from eventjobs import create_app

    mounted = importlib.import_module("mounted_app")
    mounted.lifespan_events.clear()
    app = create_app(
        Settings(journal=":memory:", app="mounted_app:app", shutdown_timeout=0),
        journal=MemoryJournal(),
    )
    async with app.test_app() as test_app:
        client = test_app.test_client()
        assert mounted.lifespan_events == ["startup"]
        job_id = await submit(client, "POST", "/_db/_system/shout", data=b"quiet")
        await settle()
        result = await client.put(f"/_api/job/{job_id}")
        assert result.status_code == 200
        assert await result.get_data() == b"QUIET"
        assert result.headers["x-mounted"] == "yes"
        # The job API and built-ins still belong to eventjobs.
        version = await client.get("/_api/version")
        assert json.loads(await version.get_data())["server"] == "eventjobs"
        # The mounted app's own 404 is its answer, stored as the job's result.
        missing = await submit(client, "GET", "/elsewhere")
        await settle()
        assert (await client.put(f"/_api/job/{missing}")).status_code == 404
    assert mounted.lifespan_events == ["startup", "shutdown"]


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("no_such_module_xyz:app", "does not import"),
        ("mounted_app:missing", "has no 'missing'"),
        ("mounted_app:lifespan_events", "is neither an ASGI nor a WSGI application"),
    ],
)
def test_bad_app_reference_is_a_config_error(examples_on_path, reference, message):
    """An --app that cannot be loaded is refused with a clear message."""
    from eventjobs import create_app

    with pytest.raises(ConfigError, match=message):
        create_app(Settings(journal=":memory:", app=reference))
