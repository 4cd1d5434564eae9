"""Fixtures for the HTTP tests: an in-process app with controllable routes."""

from __future__ import annotations

from collections import defaultdict

import pytest
import trio
from quart import Quart, Response, request

from eventjobs import Settings, rerun_safe
from tests.support import serve_app


class Gates:
    """Named events a test opens to let ``/test/wait/<name>`` answer."""

    def __init__(self) -> None:
        self._events: defaultdict[str, trio.Event] = defaultdict(trio.Event)
        #: name -> how many handlers are waiting at that gate now
        self.waiting: defaultdict[str, int] = defaultdict(int)
        #: names of handlers that were cancelled while waiting
        self.cancelled: list[str] = []

    def open(self, name: str) -> None:
        self._events[name].set()

    async def wait(self, name: str) -> None:
        self.waiting[name] += 1
        try:
            await self._events[name].wait()
        except trio.Cancelled:
            self.cancelled.append(name)
            raise
        finally:
            self.waiting[name] -= 1


def add_test_routes(app: Quart, gates: Gates) -> None:
    @app.route("/test/wait/<name>", methods=["GET", "POST", "PUT", "HEAD"])
    async def wait(name: str) -> Response:
        await gates.wait(name)
        return Response(f"released {name}", 201, headers={"x-test": "yes"})

    @app.route("/test/fail", methods=["POST"])
    async def fail() -> Response:
        raise ValueError("boom")

    @app.route("/test/rerun", methods=["POST"])
    @rerun_safe
    async def rerun() -> Response:
        return Response(b"ran again", 200)

    @app.route("/test/bytes", methods=["POST"])
    async def echo_bytes() -> Response:
        return Response(
            await request.get_data(), 200, content_type="application/octet-stream"
        )


@pytest.fixture
def gates() -> Gates:
    return Gates()


@pytest.fixture
def settings() -> Settings:
    return Settings(journal=":memory:", shutdown_timeout=0)


@pytest.fixture
async def served(settings, gates):
    async with serve_app(
        settings, setup=lambda app: add_test_routes(app, gates)
    ) as served:
        yield served
