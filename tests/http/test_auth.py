"""Authentication on the HTTP edge: login, 401 before queueing, tokens,
jobs running as their owner, redaction, quota and header limits."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from quart import Quart, Response
import trio

from eventjobs import current_caller, users
from eventjobs.events import JobQueued
from eventjobs.journal import FileJournal
from tests.http.conftest import Gates, add_test_routes
from tests.support import (
    ASYNC_STORE,
    TEST_HASH_COST,
    TEST_USERS,
    auth_settings,
    basic,
    bearer,
    login,
    serve_app,
    settle,
    submit,
)

UNAUTHORIZED = {
    "code": 401,
    "error": True,
    "errorMessage": "not authorized to execute this request",
    "errorNum": 11,
}


def add_whoami(app: Quart) -> None:
    @app.route("/test/whoami", methods=["GET"])
    async def whoami() -> Response:
        caller = current_caller()
        return Response(
            json.dumps([caller.name, caller.superuser]),
            200,
            content_type="application/json",
        )


@pytest.fixture
async def served(tmp_path):
    async with serve_app(auth_settings(tmp_path), setup=add_whoami) as served:
        yield served


def queued_events(served) -> list[JobQueued]:
    return [
        record.event
        for record in served.journal.read()
        if isinstance(record.event, JobQueued)
    ]


async def test_login_returns_a_token_with_the_claims_arango_clients_check(served):
    """The token carries iss "arangodb", iat, exp and the user name."""
    token = await login(served.client, "alice")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == "arangodb"
    assert claims["preferred_username"] == "alice"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["iat"] == int(served.clock.now)


async def test_login_with_a_wrong_password_is_401(served):
    """A wrong password at /_open/auth gets 401 errorNum 11 and no token."""
    response = await served.client.post(
        "/_open/auth", json={"username": "alice", "password": "guess"}
    )
    assert (response.status_code, await response.get_json()) == (401, UNAUTHORIZED)


async def test_login_for_an_unknown_user_is_401(served):
    """An unknown user name at /_open/auth gets the same 401 as a wrong password."""
    response = await served.client.post(
        "/_open/auth", json={"username": "mallory", "password": "x"}
    )
    assert (response.status_code, await response.get_json()) == (401, UNAUTHORIZED)


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[]", b'{"username": 1, "password": "x"}']
)
async def test_login_with_a_malformed_body_is_400_saying_what_is_expected(served, body):
    """A login body that is not {"username": str, "password": str} gets 400."""
    response = await served.client.post("/_open/auth", data=body)
    answer = await response.get_json()
    assert (response.status_code, answer["errorNum"]) == (400, 400)
    assert '{"username": <string>, "password": <string>}' in answer["errorMessage"]


async def test_login_is_never_queued_even_with_async_store(served):
    """/_open/auth with x-arango-async: store is answered at once, not journalled."""
    response = await served.client.post(
        "/_open/auth",
        json={"username": "alice", "password": TEST_USERS["alice"][0]},
        headers=ASYNC_STORE,
    )
    assert response.status_code == 200
    assert "jwt" in await response.get_json()
    assert queued_events(served) == []


@pytest.mark.parametrize("mode", ["store", "true"])
@pytest.mark.parametrize(
    "headers",
    [{}, basic("alice", "wrong"), bearer("not.a.token")],
    ids=["none", "wrong", "garbage"],
)
async def test_async_request_without_valid_credentials_is_401_and_not_queued(
    served, mode, headers
):
    """Authentication fails before anything is queued (spec 1.1)."""
    response = await served.client.get(
        "/_api/version", headers={**headers, "x-arango-async": mode}
    )
    assert (response.status_code, await response.get_json()) == (401, UNAUTHORIZED)
    assert queued_events(served) == []


async def test_unknown_path_without_credentials_is_401_not_404(served):
    """A stranger learns nothing, not even which paths exist."""
    response = await served.client.get("/no/such/path")
    assert response.status_code == 401


async def test_401_names_basic_in_www_authenticate(served):
    """The 401 says which scheme to use, as HTTP requires."""
    response = await served.client.get("/_api/version")
    assert response.headers["www-authenticate"].startswith("Basic ")


async def test_two_authorization_headers_are_refused(served):
    """Duplicated credentials are ambiguous: 401."""
    token = await login(served.client, "alice")
    headers = [
        ("Authorization", basic("alice")["Authorization"]),
        ("Authorization", f"bearer {token}"),
    ]
    response = await served.client.get("/_api/version", headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize("scheme", ["bearer", "Bearer", "BEARER", "bEaReR"])
async def test_bearer_scheme_is_case_insensitive(served, scheme):
    """Any spelling of the bearer scheme works."""
    token = await login(served.client, "alice")
    response = await served.client.get("/test/whoami", headers=bearer(token, scheme))
    assert await response.get_json() == ["alice", False]


@pytest.mark.parametrize("scheme", ["basic", "Basic", "BASIC"])
async def test_basic_scheme_is_case_insensitive(served, scheme):
    """Any spelling of the basic scheme works."""
    response = await served.client.get(
        "/test/whoami", headers=basic("root", scheme=scheme)
    )
    assert await response.get_json() == ["root", True]


async def test_basic_credentials_without_a_colon_are_refused(served):
    """Basic credentials must be user:password."""
    encoded = base64.b64encode(b"alice").decode()
    response = await served.client.get(
        "/_api/version", headers={"Authorization": f"Basic {encoded}"}
    )
    assert response.status_code == 401


async def test_token_stops_working_once_its_lifetime_has_passed(served):
    """A token is refused from its expiry on, by the server's clock."""
    token = await login(served.client, "alice")
    served.clock.advance(3600)
    response = await served.client.get("/_api/version", headers=bearer(token))
    assert response.status_code == 401


async def test_token_of_a_removed_user_is_refused(served, tmp_path):
    """A valid token is refused once its user is no longer in the users file."""
    token = await login(served.client, "bob")
    path = served.runtime.settings.users
    remaining = {name: user for name, user in users.load(path).items() if name != "bob"}
    users.save(path, remaining)
    response = await served.client.get("/_api/version", headers=bearer(token))
    assert response.status_code == 401


async def test_a_user_added_while_serving_can_log_in(served):
    """The users file is read again when it changes: no restart needed."""
    path = served.runtime.settings.users
    known = users.load(path)
    known["carol"] = users.User(
        "carol", users.hash_password("carol-pw", cost=TEST_HASH_COST)
    )
    users.save(path, known)
    response = await served.client.get(
        "/test/whoami", headers=basic("carol", "carol-pw")
    )
    assert await response.get_json() == ["carol", False]


async def test_a_users_file_broken_while_serving_locks_everyone_out(served):
    """Fail closed: a malformed users file lets nobody in until it is fixed."""
    await trio.Path(served.runtime.settings.users).write_text("{broken")
    response = await served.client.get("/_api/version", headers=basic("root"))
    assert response.status_code == 401


@pytest.mark.parametrize("name", ["alice", "root"])
async def test_job_runs_as_its_owner_like_a_synchronous_request(served, name):
    """A job's handler sees the same caller, superuser flag included, as a synchronous call."""
    synchronous = await served.client.get("/test/whoami", headers=basic(name))
    job_id = await submit(served.client, "GET", "/test/whoami", headers=basic(name))
    await settle()
    fetched = await served.client.put(f"/_api/job/{job_id}", headers=basic(name))
    assert (
        await fetched.get_json()
        == await synchronous.get_json()
        == [name, name == "root"]
    )


async def test_job_sees_the_owners_superuser_flag_as_it_is_when_the_job_runs(tmp_path):
    """The flag is read from the users file at execution time, not at submission."""
    gates = Gates()

    def setup(app: Quart) -> None:
        add_whoami(app)
        add_test_routes(app, gates)

    async with serve_app(auth_settings(tmp_path, max_running=1), setup=setup) as served:
        await submit(served.client, "GET", "/test/wait/slot", headers=basic("alice"))
        job_id = await submit(
            served.client, "GET", "/test/whoami", headers=basic("alice")
        )
        path = served.runtime.settings.users
        known = users.load(path)
        known["alice"] = users.User(
            "alice", known["alice"].password_hash, superuser=True
        )
        users.save(path, known)
        gates.open("slot")
        await settle()
        fetched = await served.client.put(f"/_api/job/{job_id}", headers=basic("alice"))
        assert await fetched.get_json() == ["alice", True]


async def test_jobs_are_recorded_with_the_authenticated_owner(served):
    """The queued event names the user, not how they proved it."""
    await submit(served.client, "GET", "/_api/version", headers=basic("bob"))
    (event,) = queued_events(served)
    assert event.owner == "bob"
    assert "authorization" not in dict(event.request.headers)


async def test_a_user_lists_their_own_jobs_and_not_others(served):
    """Lists hold exactly the caller's jobs; a superuser's hold everyone's."""
    alices = await submit(served.client, "GET", "/_api/version", headers=basic("alice"))
    bobs = await submit(served.client, "GET", "/_api/version", headers=basic("bob"))
    await settle()
    lists = {
        name: await (
            await served.client.get("/_api/job/done", headers=basic(name))
        ).get_json()
        for name in ("alice", "bob", "root")
    }
    assert lists == {
        "alice": [str(alices)],
        "bob": [str(bobs)],
        "root": [str(alices), str(bobs)],
    }


async def test_superuser_delete_all_removes_every_users_jobs(served):
    """A superuser's DELETE all acts on every job."""
    await submit(served.client, "GET", "/_api/version", headers=basic("alice"))
    await submit(served.client, "GET", "/_api/version", headers=basic("bob"))
    await settle()
    await served.client.delete("/_api/job/all", headers=basic("root"))
    done = await served.client.get("/_api/job/done", headers=basic("root"))
    assert await done.get_json() == []


# -- secrets never reach the journal ----------------------------------------------------


async def test_journal_files_hold_no_password_token_or_redacted_value(tmp_path):
    """Basic and bearer credentials, cookies and --redact-header values never hit the disk."""
    directory = tmp_path / "journal"
    journal = FileJournal.open(directory)
    settings = auth_settings(
        tmp_path, journal=str(directory), redact_headers=("X-Api-Key",)
    )
    password = TEST_USERS["alice"][0]
    async with serve_app(settings, journal=journal) as served:
        token = await login(served.client, "alice")
        await served.client.post(
            "/_open/auth",
            json={"username": "alice", "password": password},
            headers=ASYNC_STORE,
        )
        await submit(served.client, "POST", "/_admin/echo", headers=basic("alice"))
        await submit(
            served.client,
            "POST",
            "/_admin/echo",
            headers={
                **bearer(token),
                "Cookie": "session=cookie-secret-1",
                "X-Api-Key": "key-secret-2",
            },
        )
        await settle()
    await journal.aclose()
    stored = b"".join(
        path.read_bytes() for path in directory.rglob("*") if path.is_file()
    )
    assert b"/_admin/echo" in stored  # the jobs are there...
    encoded = base64.b64encode(f"alice:{password}".encode())
    for secret in (
        password.encode(),
        encoded,
        token.encode(),
        b"cookie-secret-1",
        b"key-secret-2",
    ):
        assert secret not in stored  # ...their credentials are not


async def test_redacted_header_does_not_reach_the_job(tmp_path):
    """A --redact-header header is left out of the job's request, as Authorization is."""
    settings = auth_settings(tmp_path, redact_headers=("X-Api-Key",))
    async with serve_app(settings) as served:
        job_id = await submit(
            served.client,
            "GET",
            "/_admin/echo",
            headers={**basic("alice"), "x-api-key": "k", "x-other": "o"},
        )
        await settle()
        fetched = await served.client.put(f"/_api/job/{job_id}", headers=basic("alice"))
        headers = (await fetched.get_json())["headers"]
    assert "x-api-key" not in headers and "authorization" not in headers
    assert headers["x-other"] == "o"


# -- limits ------------------------------------------------------------------------------


async def test_results_beyond_the_users_quota_get_503_naming_the_quota(tmp_path):
    """--max-results-per-user: the next stored job is refused with errorNum 21003."""
    async with serve_app(auth_settings(tmp_path, max_results_per_user=2)) as served:
        for _ in range(2):
            await submit(served.client, "GET", "/_api/version", headers=basic("alice"))
        response = await served.client.get(
            "/_api/version", headers={**basic("alice"), **ASYNC_STORE}
        )
        body = await response.get_json()
        assert (response.status_code, body["errorNum"]) == (503, 21003)
        assert "quota" in body["errorMessage"] and "'alice'" in body["errorMessage"]
        assert "x-arango-async-id" not in response.headers
        assert len(queued_events(served)) == 2


async def test_the_quota_is_per_user(tmp_path):
    """One user at their quota does not stop another."""
    async with serve_app(auth_settings(tmp_path, max_results_per_user=1)) as served:
        await submit(served.client, "GET", "/_api/version", headers=basic("alice"))
        await submit(served.client, "GET", "/_api/version", headers=basic("bob"))


async def test_fetching_a_result_frees_quota(tmp_path):
    """Results taken or deleted no longer count against the quota."""
    async with serve_app(auth_settings(tmp_path, max_results_per_user=1)) as served:
        job_id = await submit(
            served.client, "GET", "/_api/version", headers=basic("alice")
        )
        await settle()
        await served.client.put(f"/_api/job/{job_id}", headers=basic("alice"))
        await submit(served.client, "GET", "/_api/version", headers=basic("alice"))


async def test_fire_and_forget_jobs_do_not_count_against_the_quota(tmp_path):
    """x-arango-async: true stores no result, so the quota does not apply."""
    async with serve_app(auth_settings(tmp_path, max_results_per_user=1)) as served:
        await submit(served.client, "GET", "/_api/version", headers=basic("alice"))
        response = await served.client.get(
            "/_api/version", headers={**basic("alice"), "x-arango-async": "true"}
        )
        assert response.status_code == 202


async def test_too_many_headers_get_431_and_nothing_is_queued(tmp_path):
    """More headers than --max-header-count: 431 before anything else."""
    async with serve_app(auth_settings(tmp_path, max_header_count=8)) as served:
        headers = [(f"x-h{i}", "v") for i in range(9)] + list(
            {**basic("alice"), **ASYNC_STORE}.items()
        )
        response = await served.client.get("/_api/version", headers=headers)
        body = await response.get_json()
        assert (response.status_code, body["errorNum"]) == (431, 431)
        assert "at most 8 headers" in body["errorMessage"]
        assert queued_events(served) == []


async def test_headers_larger_than_the_limit_get_431(tmp_path):
    """Headers larger in all than --max-header-bytes: 431."""
    async with serve_app(auth_settings(tmp_path, max_header_bytes=1024)) as served:
        response = await served.client.get(
            "/_api/version", headers={**basic("alice"), "x-big": "v" * 1024}
        )
        assert response.status_code == 431


async def test_login_with_authentication_off_still_answers_a_token():
    """Clients configured for JWT work against a server without users."""
    async with serve_app() as served:
        response = await served.client.post(
            "/_open/auth", json={"username": "anyone", "password": ""}
        )
        token = (await response.get_json())["jwt"]
        assert (
            jwt.decode(token, options={"verify_signature": False})["preferred_username"]
            == "anyone"
        )
        version = await served.client.get("/_api/version", headers=bearer("anything"))
        assert version.status_code == 200
