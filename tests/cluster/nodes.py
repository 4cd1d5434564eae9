"""Several ``eventjobs serve`` processes (nodes) on one PostgreSQL journal.

Every node is a real server process (tests/support.py ``server_process``)
on the same schema, with a short node lease so that a dead node is fenced
and its jobs recovered within seconds. The helpers here talk to the nodes
over HTTP, as clients do; the ``nodes`` and ``job_state`` tables are only
read to observe what HTTP cannot show (which node is fenced).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx

from tests.e2e.helpers import wait_until
from tests.postgres.conftest import schema_of, sql
from tests.support import ServerProcess, server_process

STORE = {"x-arango-async": "store"}

#: Seconds; renewed every third of it. Short, so recovery takes seconds.
LEASE = 1.5

#: Bound on waiting for a recovery: a lease, then the recovering node's
#: next look at the leases, with plenty of room for a loaded machine.
RECOVERY_TIMEOUT = 30.0

CANCELLED = {
    "code": 410,
    "error": True,
    "errorMessage": "canceled request",
    "errorNum": 21,
}


def node_args(pg_url: str, *extra: str) -> list[str]:
    return [
        "--journal",
        pg_url,
        "--node-lease",
        str(LEASE),
        "--shutdown-timeout",
        "0",
        *extra,
    ]


@contextlib.contextmanager
def cluster(pg_url: str, count: int, *extra: str) -> Iterator[list[ServerProcess]]:
    """*count* nodes on *pg_url*, each ready; all stopped when the block ends."""
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(server_process(*node_args(pg_url, *extra)))
            for _ in range(count)
        ]


@contextlib.contextmanager
def clients(servers: list[ServerProcess]) -> Iterator[list[httpx.Client]]:
    """One httpx client per node, in the same order."""
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(httpx.Client(base_url=server.url, timeout=10))
            for server in servers
        ]


def submit(client: httpx.Client, path: str, method: str = "PUT", **kwargs: Any) -> str:
    """Submit a stored job; its id (the 202's ``x-arango-async-id``)."""
    accepted = client.request(method, path, headers=STORE, **kwargs)
    assert accepted.status_code == 202, (
        client.base_url,
        accepted.status_code,
        accepted.text,
    )
    return accepted.headers["x-arango-async-id"]


def submit_sleep(client: httpx.Client, seconds: float) -> str:
    return submit(client, f"/_admin/sleep?duration={seconds}", "POST")


def wait_done(client: httpx.Client, job: str, timeout: float = 10.0) -> None:
    """Wait until *client*'s node says *job* is done (status 200)."""

    def done() -> bool:
        status = client.get(f"/_api/job/{job}").status_code
        assert status in (200, 204), (client.base_url, job, status)
        return status == 200

    wait_until(done, f"job {job} done on {client.base_url}", timeout)


def wait_done_everywhere(
    clients_: list[httpx.Client], job: str, timeout: float = 10.0
) -> None:
    """Wait until every node says *job* is done: a node answers from views
    that follow the journal, so one node's "done" does not yet mean
    another's."""
    for client in clients_:
        wait_done(client, job, timeout)


def history(client: httpx.Client, job: str) -> list[str]:
    """The types of *job*'s records in the journal, in order."""
    answer = client.get(f"/_eventjobs/jobs/{job}/history")
    assert answer.status_code == 200, answer.text
    return [event["type"] for event in answer.json()["events"]]


def wait_started(client: httpx.Client, job: str) -> None:
    wait_until(lambda: "started" in history(client, job), f"job {job} started")


def echoed_body(response: httpx.Response) -> str:
    body: str = response.json()["body"]
    return body


def assert_fetched_once(clients_: list[httpx.Client], job: str) -> None:
    """No node hands *job*'s result out again: each answers 404 to another
    fetch, once it has followed the journal that far. Before that, a node
    whose view still has the job pending may say 204 (docs/multi-node.md:
    a known job may be answered from views a few milliseconds behind); a
    200 would be a second delivery, and fails at once."""
    for client in clients_:

        def gone(client: httpx.Client = client) -> bool:
            again = client.put(f"/_api/job/{job}")
            assert again.status_code in (204, 404), (
                client.base_url,
                job,
                again.status_code,
                again.text,
            )
            return again.status_code == 404

        wait_until(gone, f"{client.base_url} to answer 404 for the fetched job {job}")


def assert_interrupted(response: httpx.Response, job: str) -> None:
    """*response* is the stored 503 "job interrupted" result of *job*."""
    assert response.status_code == 503, response.text
    assert response.headers["x-arango-async-id"] == job
    answer = response.json()
    assert (answer["code"], answer["error"], answer["errorNum"]) == (503, True, 30), (
        answer
    )
    assert answer["errorMessage"].startswith("job interrupted"), answer


def assert_cancelled(response: httpx.Response, job: str) -> None:
    """*response* is the stored 410 result of a cancelled *job* (spec section 4)."""
    assert response.status_code == 410, response.text
    assert response.headers["x-arango-async-id"] == job
    assert response.json() == CANCELLED


def lists_on_every_node(
    clients_: list[httpx.Client],
) -> list[tuple[list[str], list[str]]]:
    """(pending, done) as each node lists them."""
    return [
        (client.get("/_api/job/pending").json(), client.get("/_api/job/done").json())
        for client in clients_
    ]


def wait_lists(
    clients_: list[httpx.Client], pending: list[str], done: list[str]
) -> None:
    """Wait until every node lists exactly *pending* and *done*."""
    wanted = [(pending, done)] * len(clients_)
    wait_until(
        lambda: lists_on_every_node(clients_) == wanted,
        f"every node to list pending={pending} done={done}",
    )


def nodes_table(pg_url: str) -> list[tuple[Any, ...]]:
    """(node_id, name, fenced) of every node that joined the journal."""
    return sql(
        pg_url,
        f"SELECT node_id, name, fenced FROM {schema_of(pg_url)}.nodes ORDER BY node_id",
    )


def fenced_nodes(pg_url: str) -> list[Any]:
    return [row[0] for row in nodes_table(pg_url) if row[2]]


def node_of_job(pg_url: str, job: str) -> Any:
    """The node ``job_state`` says the job belongs to."""
    rows = sql(
        pg_url,
        f"SELECT node_id FROM {schema_of(pg_url)}.job_state WHERE job_id = %s",
        (int(job),),
    )
    assert len(rows) == 1, rows
    return rows[0][0]


def assert_clean_output(server: ServerProcess) -> None:
    text = server.text
    assert "Traceback" not in text and "ExceptionGroup" not in text, text


def assert_journal_verifies(pg_url: str) -> None:
    """``eventjobs journal verify`` passes on what the nodes wrote."""
    done = subprocess.run(
        [sys.executable, "-m", "eventjobs", "journal", "verify", pg_url],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert done.returncode == 0 and done.stdout.startswith("ok: "), (
        done.stdout,
        done.stderr,
    )


def kill(server: ServerProcess) -> None:
    """kill -9: no shutdown, no last append; the lease simply stops being renewed."""
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
