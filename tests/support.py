"""Test helpers shared by the suite: a settable clock, in-process apps, and
a real server process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import attrs
import trio
import trio.testing
from quart_trio import QuartTrio
from quart_trio.testing import TrioClient

from eventjobs import Settings, create_app, runtime_of
from eventjobs.journal import Journal, MemoryJournal
from eventjobs.runtime import Runtime

ASYNC_STORE = {"x-arango-async": "store"}


@attrs.define
class FakeClock:
    """Wall-clock time that moves only when a test says so."""

    now: float = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@attrs.define
class Served:
    """An app running through its lifespan, with its test client."""

    app: QuartTrio
    client: TrioClient
    runtime: Runtime
    journal: Journal
    clock: FakeClock


@contextlib.asynccontextmanager
async def serve_app(
    settings: Settings | None = None,
    *,
    journal: Journal | None = None,
    clock: FakeClock | None = None,
    setup: object = None,
    retry_jitter: Callable[[], float] | None = None,
) -> AsyncIterator[Served]:
    """Run an eventjobs app (memory journal by default) for one test.

    With a file journal in *settings* and no *journal*, the runtime opens
    (and closes) the file journal itself, as the server does.

    *setup*, if given, is called with the app before it starts (to add routes).
    *retry_jitter* replaces the random jitter of retry back-offs.
    """
    # shutdown_timeout=0: jobs still running when the test ends are
    # interrupted at once (quart-trio's test app allows 6 s for shutdown).
    settings = settings or Settings(journal=":memory:", shutdown_timeout=0)
    if journal is None and settings.journal == ":memory:":
        journal = MemoryJournal()  # kept by the caller's Served, for inspection
    clock = clock or FakeClock()
    app = create_app(settings, clock=clock, journal=journal, retry_jitter=retry_jitter)
    if callable(setup):
        setup(app)
    async with app.test_app() as test_app:
        runtime = runtime_of(app)
        yield Served(app, test_app.test_client(), runtime, runtime.journal, clock)


async def settle() -> None:
    """Let every task run until all are blocked (jobs started, events applied)."""
    await trio.testing.wait_all_tasks_blocked()


async def submit(client: TrioClient, method: str, path: str, **kwargs: object) -> int:
    """Submit *path* as a stored job; return its id."""
    headers = dict(kwargs.pop("headers", {}) or {})  # type: ignore[call-overload]
    headers.update(ASYNC_STORE)
    response = await client.open(path, method=method, headers=headers, **kwargs)
    assert response.status_code == 202, (
        response.status_code,
        await response.get_data(),
    )
    return int(response.headers["x-arango-async-id"])


# -- real server processes ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@attrs.define
class ServerProcess:
    process: subprocess.Popen[str]
    url: str
    output: list[str]
    #: Reads the output once the server listens (joined by :meth:`stop`).
    drain: threading.Thread | None = None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Signal the server and wait for it to exit; return its exit status.

        Once this returns, :attr:`text` holds everything the server printed.
        """
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.process.wait()
        if self.drain is not None:
            self.drain.join(timeout=timeout)  # the pipe is at its end: quick
        return status

    @property
    def text(self) -> str:
        """Everything the server printed so far."""
        return "".join(self.output)


@contextlib.contextmanager
def server_process(
    *args: str,
    env: dict[str, str] | None = None,
    wait_ready: bool = True,
    cwd: Path | None = None,
) -> Iterator[ServerProcess]:
    """Run ``python -m eventjobs serve ARGS`` on a free port until the block ends.

    Waits (up to 30 s) for the line saying where it listens, then (unless
    not *wait_ready*) until ``/_eventjobs/ready`` answers 200: the journal
    is replayed after the server listens. Pass ``--journal`` in *args*
    (tests should use a ``tmp_path``).
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "eventjobs",
        "serve",
        "--bind",
        f"127.0.0.1:{port}",
        *args,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", [])
    try:
        _wait_for_listening(server)
        if wait_ready:
            wait_for_ready(server)
        yield server
    finally:
        server.stop()


def _wait_for_listening(server: ServerProcess, timeout: float = 30) -> None:
    assert server.process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = server.process.stdout.readline()
        if not line:
            server.stop()
            raise AssertionError("server exited before listening:\n" + server.text)
        server.output.append(line)
        if "listening on" in line:
            # Keep draining output so the server never blocks on a full pipe.
            _drain_in_background(server)
            return
    raise AssertionError("server did not start listening:\n" + server.text)


def wait_for_ready(server: ServerProcess, timeout: float = 60) -> None:
    """Poll ``/_eventjobs/ready`` until it answers 200 (bounded)."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise AssertionError("server exited before it was ready:\n" + server.text)
        try:
            if (
                httpx.get(server.url + "/_eventjobs/ready", timeout=5).status_code
                == 200
            ):
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("server did not become ready:\n" + server.text)
        time.sleep(0.01)


def _drain_in_background(server: ServerProcess) -> None:
    def drain() -> None:
        assert server.process.stdout is not None
        for line in server.process.stdout:
            server.output.append(line)

    server.drain = threading.Thread(target=drain, daemon=True)
    server.drain.start()


def read_proc(path: str) -> bytes | None:
    """The contents of a ``/proc/<pid>/...`` file, or None when that process
    is gone: before ``open()`` (FileNotFoundError) or between ``open()`` and
    ``read()`` (see :func:`read_open_proc`)."""
    try:
        file = open(path, "rb")  # noqa: SIM115 (read_open_proc reads and closes it)
    except FileNotFoundError:
        return None
    with file:
        return read_open_proc(file)


def read_open_proc(file: BinaryIO) -> bytes | None:
    """Read an open ``/proc/<pid>/...`` file, None if the process has exited
    since it was opened."""
    try:
        return file.read()
    except ProcessLookupError:  # ESRCH: the process exited after open()
        return None


def journal_dir(tmp_path: Path) -> str:
    return str(tmp_path / "journal")


# -- authentication ------------------------------------------------------------------

#: scrypt N for test users: cheap, so that each test's logins cost microseconds.
TEST_HASH_COST = 16

#: The test users: name -> (password, superuser).
TEST_USERS = {
    "alice": ("alice-pw-4f1d", False),
    "bob": ("bob-pw-9c2e", False),
    "root": ("root-pw-7a0b", True),
}

TEST_JWT_SECRET = b"test-secret-0123456789abcdef0123456789abcdef"


def write_users_file(
    path: Path, people: dict[str, tuple[str, bool]] | None = None
) -> str:
    """Write a users file holding *people* (default TEST_USERS); return its path."""
    from eventjobs import users

    people = TEST_USERS if people is None else people
    users.save(
        str(path),
        {
            name: users.User(
                name, users.hash_password(password, cost=TEST_HASH_COST), superuser
            )
            for name, (password, superuser) in people.items()
        },
    )
    return str(path)


def auth_settings(tmp_path: Path, **overrides: object) -> Settings:
    """In-memory settings with authentication on: TEST_USERS, TEST_JWT_SECRET."""
    secret_file = tmp_path / "jwt-secret"
    secret_file.write_bytes(TEST_JWT_SECRET)
    values: dict[str, object] = {
        "journal": ":memory:",
        "shutdown_timeout": 0,
        "users": write_users_file(tmp_path / "users.json"),
        "jwt_secret_file": str(secret_file),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def basic(
    name: str, password: str | None = None, scheme: str = "Basic"
) -> dict[str, str]:
    """An Authorization header with HTTP Basic credentials (TEST_USERS password
    by default)."""
    import base64

    password = TEST_USERS[name][0] if password is None else password
    encoded = base64.b64encode(f"{name}:{password}".encode()).decode("ascii")
    return {"Authorization": f"{scheme} {encoded}"}


def bearer(token: str, scheme: str = "bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


async def login(client: TrioClient, name: str, password: str | None = None) -> str:
    """A JWT from POST /_open/auth for a TEST_USERS user."""
    password = TEST_USERS[name][0] if password is None else password
    response = await client.post(
        "/_open/auth", json={"username": name, "password": password}
    )
    assert response.status_code == 200, await response.get_data()
    token: str = (await response.get_json())["jwt"]
    return token


def final_sentence(result: subprocess.CompletedProcess[str]) -> str:
    """The ``eventjobs: ...`` line a server that stops on a damaged journal
    ends with. The replay runs once the server listens (so that probes can
    watch it), so the damage is found after the logs of a start: the
    sentence is the last line on stderr, and the exit status 1."""
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("eventjobs: "), result.stderr
    return lines[-1]
