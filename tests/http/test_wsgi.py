"""WSGI apps behind the job layer (``--app`` with Flask and Django), under thread and
process isolation (docs/embedding.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Self

import pytest
import trio

from eventjobs import Settings
from eventjobs.errors import ConfigError
from tests.http import wsgi_apps
from tests.support import serve_app, settle, submit

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
WAIT_LONG = {"x-eventjobs-wait": "30"}


@pytest.fixture
def examples_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    # Worker processes take the server's sys.path when they start.


def settings(app: str, **overrides: object) -> Settings:
    base: dict[str, object] = {
        "journal": ":memory:",
        "shutdown_timeout": 0,
        "app": app,
        "app_processes": 1,
        "max_body_bytes": 1024,
    }
    return Settings(**{**base, **overrides})  # type: ignore[arg-type]


async def result(client, job_id: int) -> tuple[int, bytes]:
    response = await client.put(f"/_api/job/{job_id}", headers=WAIT_LONG)
    return response.status_code, await response.get_data()


class Notifications:
    """A Unix socket the blocking views connect to: each sends its pid."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.listener = trio.socket.socket(trio.socket.AF_UNIX)

    async def __aenter__(self) -> Self:
        await self.listener.bind(self.path)
        self.listener.listen()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.listener.close()

    async def next_pid(self) -> int:
        connection, _address = await self.listener.accept()
        with connection:
            data = b""
            while chunk := await connection.recv(64):
                data += chunk
        return int(data)


@pytest.fixture
def released():
    wsgi_apps.release.clear()
    yield wsgi_apps.release
    wsgi_apps.release.set()  # never leave a thread blocked


@pytest.mark.parametrize("isolation", ["thread", "process"])
async def test_flask_example_serves_requests_and_jobs(examples_on_path, isolation):
    """A Flask app's routes answer synchronously and as jobs; a streaming
    response is stored whole; a body over --max-body-bytes gets 413."""
    async with serve_app(settings("flask_app:app", app_isolation=isolation)) as served:
        client = served.client
        sync = await client.post("/shout", data=b"quiet")
        assert (sync.status_code, await sync.get_data()) == (200, b"QUIET")
        job = await submit(client, "POST", "/_db/_system/shout", data=b"loud")
        assert await result(client, job) == (200, b"LOUD")
        streamed = await submit(client, "GET", "/report")
        status, body = await result(client, streamed)
        assert (status, body) == (200, b"row 0\nrow 1\nrow 2\n")
        short = await submit(client, "GET", "/slow?seconds=0")
        status, body = await result(client, short)
        assert json.loads(body) == {"slept": 0.0, "job": short}
        too_large = await client.post("/shout", data=b"x" * 1025)
        assert too_large.status_code == 413
        missing = await submit(client, "GET", "/nowhere")
        assert (await result(client, missing))[0] == 404


@pytest.mark.parametrize("isolation", ["thread", "process"])
async def test_django_example_answers_as_a_job(examples_on_path, isolation):
    """A Django project's get_wsgi_application() behind --app: its view runs
    in the server's process (thread) or in a worker process, and its 404s
    are its own."""
    reference = "django_app:application"
    async with serve_app(settings(reference, app_isolation=isolation)) as served:
        job = await submit(served.client, "GET", "/_db/_system/hello/?name=jobs")
        status, body = await result(served.client, job)
        answer = json.loads(body)
        assert (status, answer["hello"], answer["job"]) == (200, "jobs", job)
        assert (answer["pid"] == os.getpid()) == (isolation == "thread")
        missing = await submit(served.client, "GET", "/nowhere/")
        assert (await result(served.client, missing))[0] == 404


async def test_django_sleep_is_stopped_by_a_cancel(examples_on_path):
    """time.sleep(30) in a Django view, under process isolation: the cancel
    kills its process, 410 is stored at once, and a fresh process serves."""
    reference = "django_app:application"
    async with serve_app(settings(reference, app_isolation="process")) as served:
        client = served.client
        with trio.fail_after(20):  # the worker imports Django first
            warm = await client.get("/hello/")
        pid = json.loads(await warm.get_data())["pid"]
        job = await submit(client, "GET", "/sleep/")
        await settle()  # the request has reached the worker and blocks there
        assert (await client.get(f"/_api/job/{job}")).status_code == 204
        with trio.fail_after(2):  # not the view's 30 seconds
            await client.put(f"/_api/job/{job}/cancel")
            status, body = await result(client, job)
        assert (status, json.loads(body)["errorNum"]) == (410, 21)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # killed and reaped
        with trio.fail_after(20):
            fresh = await client.get("/hello/")
        assert json.loads(await fresh.get_data())["pid"] not in (pid, os.getpid())


@pytest.mark.parametrize("isolation", ["thread", "process"])
async def test_raising_app_stores_a_500_saying_why(isolation):
    """Flask answers its views' errors itself; a WSGI app that raises gets
    an ArangoDB 500 naming the error."""
    async with serve_app(
        settings("tests.http.wsgi_apps:broken", app_isolation=isolation)
    ) as served:
        job = await submit(served.client, "GET", "/anything")
        status, body = await result(served.client, job)
        assert status == 500
        assert json.loads(body)["errorMessage"] == (
            "handler raised ValueError: the app failed"
        )


async def test_cancel_in_process_isolation_kills_the_blocking_view(tmp_path):
    """time.sleep in a loop: the cancel kills its process, the job stores
    410 at once, and the next request runs in a fresh process."""
    async with (
        serve_app(
            settings("tests.http.wsgi_apps:app", app_isolation="process")
        ) as served,
        Notifications(tmp_path / "notify.sock") as notifications,
    ):
        client = served.client
        job = await submit(client, "GET", f"/block?notify={notifications.path}")
        with trio.fail_after(20):  # a fresh worker imports Flask first
            pid = await notifications.next_pid()
        with trio.fail_after(5):  # not the view's 60 seconds
            cancel = await client.put(f"/_api/job/{job}/cancel")
            assert cancel.status_code == 200
            status, body = await result(client, job)
        assert (status, json.loads(body)["errorNum"]) == (410, 21)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # killed and reaped
        fresh = await client.get("/pid")
        assert json.loads(await fresh.get_data())["pid"] not in (pid, os.getpid())


async def test_cancel_in_thread_isolation_waits_for_the_view(tmp_path, released):
    """A thread cannot be killed: the job says cancelling, and stores 410
    once the view has returned."""
    async with (
        serve_app(settings("tests.http.wsgi_apps:app")) as served,
        Notifications(tmp_path / "notify.sock") as notifications,
    ):
        client = served.client
        job = await submit(client, "GET", f"/wait?notify={notifications.path}")
        with trio.fail_after(10):
            assert await notifications.next_pid() == os.getpid()
        await client.put(f"/_api/job/{job}/cancel")
        await settle()
        status = await client.get(f"/_api/job/{job}")
        assert status.status_code == 204  # still running
        assert status.headers["x-eventjobs-state"] == "cancelling"
        released.set()
        status, body = await result(client, job)
        assert (status, json.loads(body)["errorNum"]) == (410, 21)


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("tests.http.wsgi_apps:not_an_app", "is neither an ASGI nor a WSGI"),
        ("tests.http.wsgi_apps:release", "is neither an ASGI nor a WSGI"),
    ],
)
def test_neither_asgi_nor_wsgi_is_refused(reference, message):
    from eventjobs import create_app

    with pytest.raises(ConfigError, match=message):
        create_app(settings(reference))


def test_process_isolation_is_for_wsgi_apps(examples_on_path):
    from eventjobs import create_app

    with pytest.raises(ConfigError, match="is for WSGI applications"):
        create_app(settings("mounted_app:app", app_isolation="process"))
