"""--upstream: paths sent to a separate HTTP service, here a real one in
its own process (tests/http/upstream_server.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio

from eventjobs import Settings
from eventjobs.errors import ConfigError
from tests.support import free_port, serve_app, submit

SERVER = Path(__file__).with_name("upstream_server.py")
EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "upstream_service.py"
WAIT_LONG = {"x-eventjobs-wait": "30"}


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """The upstream's base URL."""
    process = subprocess.Popen(
        [sys.executable, str(SERVER)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()


def settings(*upstreams: str, **overrides: object) -> Settings:
    base: dict[str, object] = {
        "journal": ":memory:",
        "shutdown_timeout": 0,
        "upstream": upstreams,
    }
    return Settings(**{**base, **overrides})  # type: ignore[arg-type]


async def result(client, job_id: int):
    response = await client.put(f"/_api/job/{job_id}", headers=WAIT_LONG)
    return response, await response.get_data()


async def wait_for(upstream: str, event: str) -> None:
    """Until the upstream has seen *event* (it answers when it has)."""
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.get(f"{upstream}/_wait", params={"event": event})
        assert answer.status_code == 200, event


async def test_job_result_is_the_upstreams_answer(upstream):
    """Method, path, query and body arrive exactly; what belongs to
    eventjobs does not; the answer is stored without hop-by-hop headers."""
    async with serve_app(settings(f"/up={upstream}")) as served:
        job = await submit(
            served.client,
            "POST",
            "/_db/_system/up/echo?a=1&b=%20x",
            data=b"payload \x00 bytes",
            headers={"x-arango-trx-id": "7", "x-eventjobs-timeout": "30"},
        )
        response, body = await result(served.client, job)
        assert response.status_code == 201
        assert response.headers["x-upstream"] == "yes"
        for hop in ("keep-alive", "x-hop", "connection"):
            assert hop not in response.headers
        received = json.loads(body)
        assert received["method"] == "POST"
        assert received["path"] == "/up/echo?a=1&b=%20x"
        assert received["body"] == "payload \x00 bytes"
        headers = dict(received["headers"])
        assert headers["x-eventjobs-job-id"] == str(job)
        assert "x-arango-trx-id" not in headers
        assert "x-arango-async" not in headers
        assert "x-eventjobs-timeout" not in headers
        assert "forwarded" in headers


@pytest.fixture
def example_service() -> Iterator[str]:
    """docs/examples/upstream_service.py, started as the docs say; its URL."""
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().removeprefix("listening on ").strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        process.kill()
        process.wait()


async def test_upstream_example_answers_a_job(example_service):
    """The example service behind --upstream /reports=URL: the job stores
    its answer, which names the job."""
    async with serve_app(settings(f"/reports={example_service}")) as served:
        job = await submit(
            served.client, "POST", "/_db/_system/reports", json={"rows": 5}
        )
        response, body = await result(served.client, job)
        assert response.status_code == 201
        assert json.loads(body) == {"rows": 5, "total": 10, "job": str(job)}


async def test_synchronous_request_keeps_authorization_out(upstream):
    async with serve_app(settings(upstream)) as served:
        response = await served.client.get(
            "/anything", headers={"authorization": "Basic cm9vdDo=", "x-custom": "1"}
        )
        assert response.status_code == 201
        headers = dict(json.loads(await response.get_data())["headers"])
        assert "authorization" not in headers
        assert headers["x-custom"] == "1"
        assert "x-eventjobs-job-id" not in headers


async def test_cancel_closes_the_upstream_request(upstream):
    """The upstream sees its client go away; the job stores 410."""
    async with serve_app(settings(f"/up={upstream}")) as served:
        job = await submit(served.client, "GET", "/up/hang/cancel")
        with trio.fail_after(10):
            await wait_for(upstream, "arrived /up/hang/cancel")
            await served.client.put(f"/_api/job/{job}/cancel")
            response, body = await result(served.client, job)
            assert (response.status_code, json.loads(body)["errorNum"]) == (410, 21)
            await wait_for(upstream, "disconnected /up/hang/cancel")


async def test_silent_upstream_gives_504_and_is_closed(upstream):
    async with serve_app(settings(upstream, upstream_timeout=0.2)) as served:
        job = await submit(served.client, "GET", "/hang/silent")
        response, body = await result(served.client, job)
        assert response.status_code == 504
        assert upstream in json.loads(body)["errorMessage"]
        with trio.fail_after(10):
            await wait_for(upstream, "disconnected /hang/silent")


async def test_refused_connection_gives_502_naming_the_upstream():
    nobody = f"http://127.0.0.1:{free_port()}"
    async with serve_app(settings(nobody)) as served:
        job = await submit(served.client, "GET", "/somewhere")
        response, body = await result(served.client, job)
        assert response.status_code == 502
        error = json.loads(body)
        assert error["error"] is True
        assert error["errorMessage"].startswith(f"the upstream {nobody} failed: ")


async def test_longest_prefix_wins_and_others_get_404(upstream):
    nobody = f"http://127.0.0.1:{free_port()}"
    async with serve_app(settings(f"/a={nobody}", f"/a/b={upstream}")) as served:
        assert (await served.client.get("/a/b/c")).status_code == 201
        assert (await served.client.get("/a/bc")).status_code == 502
        assert (await served.client.get("/elsewhere")).status_code == 404


@pytest.mark.parametrize(
    "value",
    ["127.0.0.1:9000", "ftp://host", "/p=", "/p=http://h/x?q=1", "reports=http://h"],
)
def test_bad_upstream_values_are_refused(value):
    with pytest.raises(ConfigError, match="upstream must be URL or /PREFIX=URL"):
        settings(value)


def test_upstreams_from_the_environment():
    found = Settings.from_env(
        {
            "EVENTJOBS_UPSTREAM": "/a=http://h:1, http://g",
            "EVENTJOBS_UPSTREAM_PASS_AUTH": "yes",
            "EVENTJOBS_UPSTREAM_TIMEOUT": "5",
        }
    )
    assert found.upstream == ("/a=http://h:1", "http://g")
    assert found.upstream_pass_auth is True
    assert found.upstream_timeout == 5.0
