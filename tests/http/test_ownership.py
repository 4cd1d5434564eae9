"""The ownership matrix of spec section 5: every job-API route, through both
mounts and a /_db/ prefix, for the owner, another user, a superuser, and
requests whose credentials do not hold."""

from __future__ import annotations

import json

import attrs
import pytest

from eventjobs import tokens
from tests.http.conftest import Gates, add_test_routes
from tests.support import (
    TEST_JWT_SECRET,
    Served,
    auth_settings,
    basic,
    bearer,
    login,
    serve_app,
    settle,
    submit,
)

PREFIXES = [
    "/_api/job",
    "/_admin/job",
    "/_db/_system/_api/job",
    "/_db/other/_admin/job",
]
ROUTES = [
    "status",
    "fetch",
    "cancel",
    "delete",
    "list_done",
    "list_pending",
    "delete_all",
    "delete_expired",
]
ALLOWED = ["owner_basic", "owner_jwt", "superuser_basic", "superuser_jwt"]
STRANGERS = ["other_basic", "other_jwt"]
REFUSED = ["no_credentials", "wrong_password", "expired_token", "foreign_token"]


@attrs.define
class World:
    """alice's two jobs (one done, one waiting at a gate) on an auth-on app."""

    served: Served
    gates: Gates
    done_id: int
    pending_id: int

    async def headers_for(self, who: str) -> dict[str, str]:
        client, now = self.served.client, self.served.clock.now
        match who:
            case "owner_basic":
                return basic("alice")
            case "owner_jwt":
                return bearer(await login(client, "alice"), "bearer")
            case "superuser_basic":
                return basic("root", scheme="basic")
            case "superuser_jwt":
                return bearer(await login(client, "root"), "Bearer")
            case "other_basic":
                return basic("bob", scheme="BASIC")
            case "other_jwt":
                return bearer(await login(client, "bob"))
            case "no_credentials":
                return {}
            case "wrong_password":
                return basic("alice", "not-alices-password")
            case "expired_token":
                lifetime = self.served.runtime.settings.jwt_lifetime
                return bearer(
                    tokens.issue(
                        TEST_JWT_SECRET,
                        "alice",
                        now=now - 2 * lifetime,
                        lifetime=lifetime,
                    )
                )
            case "foreign_token":
                other = b"another-secret-0123456789abcdef0123456789ab"
                return bearer(tokens.issue(other, "alice", now=now, lifetime=3600))
        raise AssertionError(who)

    def request_for(self, route: str, prefix: str) -> tuple[str, str]:
        stamp = self.served.clock.now + 1000
        return {
            "status": ("GET", f"{prefix}/{self.done_id}"),
            "fetch": ("PUT", f"{prefix}/{self.done_id}"),
            "cancel": ("PUT", f"{prefix}/{self.pending_id}/cancel"),
            "delete": ("DELETE", f"{prefix}/{self.done_id}"),
            "list_done": ("GET", f"{prefix}/done"),
            "list_pending": ("GET", f"{prefix}/pending"),
            "delete_all": ("DELETE", f"{prefix}/all"),
            "delete_expired": ("DELETE", f"{prefix}/expired?stamp={stamp}"),
        }[route]

    async def alices_view(self) -> tuple[list[str], list[str]]:
        """alice's done and pending ids, as she sees them."""
        client = self.served.client
        done = await client.get("/_api/job/done", headers=basic("alice"))
        pending = await client.get("/_api/job/pending", headers=basic("alice"))
        return await done.get_json(), await pending.get_json()


@pytest.fixture
async def world(tmp_path):
    gates = Gates()
    async with serve_app(
        auth_settings(tmp_path), setup=lambda app: add_test_routes(app, gates)
    ) as served:
        done_id = await submit(
            served.client, "POST", "/_admin/echo", headers=basic("alice")
        )
        pending_id = await submit(
            served.client, "GET", "/test/wait/gate", headers=basic("alice")
        )
        await settle()
        yield World(served, gates, done_id, pending_id)


async def _call(world: World, who: str, route: str, prefix: str):
    method, path = world.request_for(route, prefix)
    headers = await world.headers_for(who)
    return await world.served.client.open(path, method=method, headers=headers)


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("who", ALLOWED)
async def test_owner_and_superuser_act_on_the_job(world, who, route, prefix):
    """The owner and a superuser get the job API's normal answer."""
    response = await _call(world, who, route, prefix)
    done, pending = str(world.done_id), str(world.pending_id)
    body = await response.get_data()
    if route == "status":
        assert (response.status_code, body) == (200, b"")
    elif route == "fetch":
        assert response.status_code == 200
        assert response.headers["x-arango-async-id"] == done
        assert json.loads(body)["user"] == "alice"
        assert await world.alices_view() == ([], [pending])
    elif route == "cancel":
        assert (response.status_code, json.loads(body)) == (200, {"result": True})
        await settle()
        assert await world.alices_view() == ([done, pending], [])
    elif route == "delete":
        assert (response.status_code, json.loads(body)) == (200, {"result": True})
        assert await world.alices_view() == ([], [pending])
    elif route == "list_done":
        assert (response.status_code, json.loads(body)) == (200, [done])
    elif route == "list_pending":
        assert (response.status_code, json.loads(body)) == (200, [pending])
    else:  # delete_all, delete_expired
        assert (response.status_code, json.loads(body)) == (200, {"result": True})
        assert await world.alices_view() == ([], [])


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("who", STRANGERS)
async def test_another_user_sees_nothing_of_the_job(world, who, route, prefix):
    """Another user gets 404 (never 403), empty lists, and changes nothing."""
    response = await _call(world, who, route, prefix)
    body = json.loads(await response.get_data())
    if route in ("status", "fetch", "delete"):
        assert (response.status_code, body["errorNum"], body["errorMessage"]) == (
            404,
            404,
            "not found",
        )
        assert "x-arango-async-id" not in response.headers
    elif route == "cancel":
        assert (response.status_code, body["errorNum"]) == (404, 404)
        assert body["errorMessage"] == (
            f"could not find job ({world.pending_id}) in AsyncJobManager during cancel operation"
        )
    elif route in ("list_done", "list_pending"):
        assert (response.status_code, body) == (200, [])
    else:
        assert (response.status_code, body) == (200, {"result": True})
    await settle()
    assert await world.alices_view() == ([str(world.done_id)], [str(world.pending_id)])


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("who", REFUSED)
async def test_credentials_that_do_not_hold_get_401(world, who, route, prefix):
    """Missing, wrong, expired or foreign credentials: 401 errorNum 11, no change."""
    response = await _call(world, who, route, prefix)
    assert response.status_code == 401
    assert json.loads(await response.get_data()) == {
        "code": 401,
        "error": True,
        "errorMessage": "not authorized to execute this request",
        "errorNum": 11,
    }
    await settle()
    assert await world.alices_view() == ([str(world.done_id)], [str(world.pending_id)])
