"""``eventjobs schedule add|list|remove`` against a real server of their own
(a schedule made here must not fire into the other modules' job lists)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.client.helpers import client
from tests.support import ServerProcess

pytestmark = pytest.mark.e2e


@pytest.fixture
def clean(server: ServerProcess) -> Iterator[ServerProcess]:
    """The module's server; the schedules a test adds are removed after it."""
    yield server
    for row in httpx.get(f"{server.url}/_eventjobs/schedules").json()["schedules"]:
        httpx.delete(f"{server.url}/_eventjobs/schedules/{row['id']}")


def schedule(server: ServerProcess, *args: str):
    return client("schedule", *args, url=server.url)


def test_add_prints_the_id_of_a_schedule_of_that_request(clean: ServerProcess):
    added = schedule(
        clean,
        "add",
        "--every",
        "3600",
        "PUT",
        "/_admin/echo?x=1",
        "-d",
        "hello",
        "-H",
        "x-custom: yes",
    )
    assert (added.returncode, added.stderr) == (0, ""), added
    schedule_id = int(added.stdout)
    row = httpx.get(f"{clean.url}/_eventjobs/schedules/{schedule_id}").json()
    assert row["every"] == 3600
    assert row["catch_up"] == "latest"
    assert row["request"] == {
        "method": "PUT",
        "path": "/_admin/echo",
        "query": "x=1",
        "headers": {"x-custom": "yes"},
        "body": "hello",
    }


def test_list_prints_a_table_and_remove_stops_a_schedule(clean: ServerProcess):
    every = schedule(clean, "add", "--every", "60", "GET", "/_api/version")
    cron = schedule(
        clean,
        "add",
        "--cron",
        "0 9 * * 1-5",
        "--timezone",
        "Europe/Berlin",
        "--catch-up",
        "all",
        "POST",
        "/_admin/echo",
    )
    first, second = int(every.stdout), int(cron.stdout)
    listed = schedule(clean, "list")
    assert (listed.returncode, listed.stderr) == (0, ""), listed
    heading, *rows = listed.stdout.splitlines()
    assert heading.split() == ["ID", "WHEN", "NEXT", "FIRING", "(UTC)", "REQUEST"]
    assert rows[0].startswith(f"{first} ")
    assert "every 60s" in rows[0] and rows[0].endswith("GET /_api/version")
    assert "cron 0 9 * * 1-5 (Europe/Berlin), catch-up all" in rows[1]
    assert rows[1].startswith(f"{second} ") and rows[1].endswith("POST /_admin/echo")

    removed = schedule(clean, "remove", str(first))
    assert (removed.returncode, removed.stdout) == (0, f"removed schedule {first}\n")
    assert len(schedule(clean, "list").stdout.splitlines()) == 2
    again = schedule(clean, "remove", str(first))
    assert again.returncode == 3
    assert f"no schedule {first}" in again.stderr


def test_what_the_server_refuses_is_said_in_one_sentence(clean: ServerProcess):
    bad = schedule(clean, "add", "--cron", "every day", "GET", "/_api/version")
    assert bad.returncode == 1
    assert "is not a cron expression" in bad.stderr
    assert "Traceback" not in bad.stderr
    zone = schedule(
        clean, "add", "--cron", "* * * * *", "--timezone", "Mars/Olympus", "GET", "/x"
    )
    assert zone.returncode == 1 and "Mars/Olympus" in zone.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "GET", "/_api/version"], "one of the arguments --cron --every"),
        (
            ["add", "--cron", "* * * * *", "--every", "5", "GET", "/x"],
            "not allowed with argument",
        ),
        (
            ["add", "--every", "5", "--timezone", "UTC", "GET", "/x"],
            "--timezone goes with --cron only",
        ),
        (["add", "--every", "5", "GET", "x"], "is not a path"),
        (["remove", "abc"], "schedule id"),
    ],
)
def test_bad_arguments_are_usage_errors(clean: ServerProcess, args, message):
    result = schedule(clean, *args)
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
