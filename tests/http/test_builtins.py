"""The built-in endpoints of spec section 6."""

from __future__ import annotations

import json

import pytest

from eventjobs import Settings, __version__
from tests.support import serve_app


async def json_of(response):
    return json.loads(await response.get_data())


async def test_version(served):
    """GET /_api/version names the server, its version and licence."""
    body = await json_of(await served.client.get("/_api/version"))
    assert body == {
        "server": "eventjobs",
        "version": __version__,
        "license": "Apache-2.0",
    }


async def test_time_comes_from_the_clock(served):
    """GET /_admin/time answers the server's clock as unix seconds."""
    served.clock.now = 1234.5
    assert await json_of(await served.client.get("/_admin/time")) == {
        "error": False,
        "code": 200,
        "time": 1234.5,
    }


async def test_collection_list_is_empty(served):
    """GET /_api/collection (clients' connection check) lists nothing."""
    response = await served.client.get("/_db/_system/_api/collection")
    assert await json_of(response) == {"error": False, "code": 200, "result": []}


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_echo_any_method(served, method):
    """/_admin/echo answers any method with a description of the request."""
    response = await served.client.open("/_admin/echo?x=1", method=method, data=b"b")
    assert response.status_code == 200
    body = await json_of(response)
    assert body["method"] == method
    assert body["query"] == {"x": ["1"]}
    assert body["user"] is None


async def test_echo_binary_body_is_base64(served):
    """A body that is not UTF-8 is echoed as base64."""
    body = await json_of(await served.client.post("/_admin/echo", data=b"\xff\xfe"))
    assert (body["body"], body["bodyEncoding"]) == ("//4=", "base64")


async def test_sleep_answers_duration(autojump_clock):
    """/_admin/sleep sleeps and answers the duration."""
    async with serve_app() as served:
        response = await served.client.get("/_admin/sleep?duration=1.5")
        assert await json_of(response) == {"error": False, "code": 200, "duration": 1.5}


@pytest.mark.parametrize(
    "query", ["", "?duration=abc", "?duration=-1", "?duration=nan", "?duration=11"]
)
async def test_sleep_with_bad_duration_is_bad_parameter(query):
    """Missing, non-numeric, negative or too long durations are 400."""
    async with serve_app(
        Settings(journal=":memory:", max_sleep=10, shutdown_timeout=0)
    ) as served:
        response = await served.client.post(f"/_admin/sleep{query}")
        assert response.status_code == 400
        message = (await json_of(response))["errorMessage"]
        assert message.startswith("bad parameter: duration must be a number of seconds")
        assert "from 0 to 10 (--max-sleep)" in message
