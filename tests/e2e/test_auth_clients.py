"""python-arango and python-arango-async against a real server with
authentication on, with HTTP Basic and with JWT; ownership through a real
server; and what the journal files hold afterwards."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from arango import ArangoClient
from arango.exceptions import JWTAuthError, ServerConnectionError
from arangoasync import ArangoClient as AsyncArangoClient
from arangoasync.auth import Auth

from tests.support import (
    TEST_JWT_SECRET,
    TEST_USERS,
    ServerProcess,
    server_process,
    write_users_file,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings(
        "ignore:The 'auth' parameter is deprecated:DeprecationWarning"
    ),
    # arangoasync's own use of aiohttp, not ours.
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
]

ALICE, ALICE_PW = "alice", TEST_USERS["alice"][0]


def serve_args(tmp_path: Path, *extra: str, secret: bool = True) -> list[str]:
    args = [
        "--journal",
        str(tmp_path / "journal"),
        "--shutdown-timeout",
        "0",
        "--users",
        write_users_file(tmp_path / "users.json"),
        "--redact-header",
        "X-Api-Key",
    ]
    if secret:
        secret_file = tmp_path / "jwt-secret"
        secret_file.write_bytes(TEST_JWT_SECRET)
        args += ["--jwt-secret-file", str(secret_file)]
    return [*args, *extra]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with server_process(*serve_args(tmp_path)) as server:
        yield server


def token_for(server: ServerProcess, name: str) -> str:
    response = httpx.post(
        f"{server.url}/_open/auth",
        json={"username": name, "password": TEST_USERS[name][0]},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["jwt"]
    return token


def wait_for_result(job):  # type: ignore[no-untyped-def]
    """python-arango: poll (bounded) until the job is done, then take its result."""
    import time

    deadline = time.monotonic() + 10
    while job.status() != "done":
        assert time.monotonic() < deadline, "job did not finish"
        time.sleep(0.01)
    return job.result()


@pytest.mark.parametrize("auth_method", ["basic", "jwt"])
def test_python_arango_runs_a_job_with_authentication(server, auth_method):
    """python-arango, Basic or JWT: connect, submit a job, take its result."""
    client = ArangoClient(hosts=server.url)
    try:
        db = client.db(
            "_system",
            username=ALICE,
            password=ALICE_PW,
            verify=True,
            auth_method=auth_method,
        )
        job = db.begin_async_execution(return_result=True).version()
        assert wait_for_result(job) == db.version()
    finally:
        client.close()


@pytest.mark.parametrize("auth_method", ["basic", "jwt"])
def test_python_arango_with_a_wrong_password_cannot_connect(server, auth_method):
    """A wrong password is refused at connection time, with Basic and with JWT."""
    client = ArangoClient(hosts=server.url)
    try:
        expected = JWTAuthError if auth_method == "jwt" else ServerConnectionError
        with pytest.raises(expected, match="401"):
            client.db(
                "_system",
                username=ALICE,
                password="wrong",
                verify=True,
                auth_method=auth_method,
            )
    finally:
        client.close()


@pytest.mark.parametrize("auth_method", ["basic", "jwt"])
def test_python_arango_async_runs_a_job_with_authentication(server, auth_method):
    """python-arango-async, Basic or JWT: connect, submit a job, take its result."""

    async def main() -> None:
        async with AsyncArangoClient(hosts=server.url) as client:
            db = await client.db(
                "_system",
                auth_method=auth_method,
                auth=Auth(username=ALICE, password=ALICE_PW),
                verify=True,
            )
            adb = db.begin_async_execution(return_result=True)
            job = await adb.version()
            for _ in range(1000):
                if await job.status() == "done":
                    break
                await asyncio.sleep(0.01)
            assert await job.result() == await db.version()

    asyncio.run(main())


def test_another_users_job_is_not_found_through_a_real_server(server):
    """bob gets 404 for alice's job; alice still fetches it."""
    alice = {"Authorization": f"bearer {token_for(server, 'alice')}"}
    bob = {"Authorization": f"bearer {token_for(server, 'bob')}"}
    submitted = httpx.get(
        f"{server.url}/_api/version", headers={**alice, "x-arango-async": "store"}
    )
    job_id = submitted.headers["x-arango-async-id"]
    assert (
        httpx.put(
            f"{server.url}/_db/_system/_api/job/{job_id}", headers=bob
        ).status_code
        == 404
    )
    for _ in range(1000):
        fetched = httpx.put(
            f"{server.url}/_db/_system/_api/job/{job_id}", headers=alice
        )
        if fetched.status_code != 204:
            break
    assert fetched.status_code == 200 and fetched.json()["server"] == "eventjobs"


def test_journal_files_hold_no_credentials_after_a_session(tmp_path):
    """After Basic, JWT, cookie and redacted-header jobs, no credential is on disk."""
    with server_process(*serve_args(tmp_path)) as server:
        token = token_for(server, "alice")
        httpx.post(
            f"{server.url}/_open/auth",
            json={"username": ALICE, "password": ALICE_PW},
            headers={"x-arango-async": "store"},
        )
        client = ArangoClient(hosts=server.url)
        try:
            db = client.db("_system", username=ALICE, password=ALICE_PW, verify=True)
            wait_for_result(db.begin_async_execution(return_result=True).version())
        finally:
            client.close()
        response = httpx.post(
            f"{server.url}/_admin/echo",
            headers={
                "Authorization": f"bearer {token}",
                "Cookie": "session=cookie-secret-1",
                "X-Api-Key": "key-secret-2",
                "x-arango-async": "store",
            },
        )
        assert response.status_code == 202
        job_id = response.headers["x-arango-async-id"]
        for _ in range(1000):
            if (
                httpx.get(
                    f"{server.url}/_api/job/{job_id}",
                    headers={"Authorization": f"bearer {token}"},
                ).status_code
                == 200
            ):
                break
    stored = b"".join(
        path.read_bytes()
        for path in (tmp_path / "journal").rglob("*")
        if path.is_file()
    )
    assert b"/_admin/echo" in stored
    basic = base64.b64encode(f"{ALICE}:{ALICE_PW}".encode())
    for secret in (
        ALICE_PW.encode(),
        basic,
        token.encode(),
        b"cookie-secret-1",
        b"key-secret-2",
    ):
        assert secret not in stored


def test_tokens_do_not_survive_a_restart_without_a_secret_file(tmp_path):
    """Without --jwt-secret-file each start signs with a new random secret."""
    with server_process(*serve_args(tmp_path, secret=False)) as server:
        token = token_for(server, "alice")
        headers = {"Authorization": f"bearer {token}"}
        assert (
            httpx.get(f"{server.url}/_api/version", headers=headers).status_code == 200
        )
    with server_process(*serve_args(tmp_path, secret=False)) as server:
        assert (
            httpx.get(f"{server.url}/_api/version", headers=headers).status_code == 401
        )


def test_tokens_survive_a_restart_with_a_secret_file(tmp_path):
    """With --jwt-secret-file a token stays valid across restarts."""
    with server_process(*serve_args(tmp_path)) as server:
        headers = {"Authorization": f"bearer {token_for(server, 'alice')}"}
    with server_process(*serve_args(tmp_path)) as server:
        assert (
            httpx.get(f"{server.url}/_api/version", headers=headers).status_code == 200
        )
