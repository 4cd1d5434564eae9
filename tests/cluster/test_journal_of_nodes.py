"""The journal that several nodes wrote is one journal: ``eventjobs journal
verify`` passes on it, and a single node started on it afterwards answers
for every job as the nodes left them."""

from __future__ import annotations

import signal

import pytest

from tests.cluster.nodes import (
    assert_cancelled,
    assert_clean_output,
    assert_journal_verifies,
    clients,
    cluster,
    echoed_body,
    node_args,
    submit,
    submit_sleep,
    wait_done,
    wait_done_everywhere,
    wait_lists,
    wait_started,
)
from tests.postgres.conftest import schema_of, sql
from tests.support import server_process

pytestmark = pytest.mark.e2e


def test_the_journal_three_nodes_wrote_verifies_and_replays(pg_url: str) -> None:
    with cluster(pg_url, 3) as servers, clients(servers) as nodes:
        kept = {}
        for n in range(12):
            node = nodes[n % 3]
            job = submit(node, "/_admin/echo", content=f"echo {n}".encode())
            wait_done_everywhere(nodes, job)
            if n % 3 == 0:  # fetched on another node
                assert nodes[(n + 2) % 3].put(f"/_api/job/{job}").status_code == 200
            elif n % 3 == 1:  # deleted on another node
                assert nodes[(n + 2) % 3].delete(f"/_api/job/{job}").json() == {
                    "result": True
                }
            else:
                kept[job] = f"echo {n}"
        sleeper = submit_sleep(nodes[0], 60)
        wait_started(nodes[1], sleeper)
        assert nodes[2].put(f"/_api/job/{sleeper}/cancel").json() == {"result": True}
        wait_done(nodes[1], sleeper)
        wait_lists(nodes, pending=[], done=sorted([*kept, sleeper], key=int))
    for server in servers:
        assert server.process.returncode == 0, server.text
        assert_clean_output(server)
    assert_journal_verifies(pg_url)

    with server_process(*node_args(pg_url)) as single, clients([single]) as (node,):
        wait_lists([node], pending=[], done=sorted([*kept, sleeper], key=int))
        for job, body in kept.items():
            result = node.put(f"/_api/job/{job}")
            assert result.status_code == 200 and echoed_body(result) == body, (
                result.text
            )
        assert_cancelled(node.put(f"/_api/job/{sleeper}"), sleeper)
    assert_clean_output(single)
    assert_journal_verifies(pg_url)


def test_a_node_that_follows_a_damaged_record_stops_with_one_sentence(
    pg_url: str,
) -> None:
    """Another node's record edited in the database before this node read
    it (the node is paused meanwhile; its long lease keeps it a node): the
    follower finds the damage, and the node stops with one sentence naming
    the row, without a traceback."""
    with (
        server_process(*node_args(pg_url)) as writer,
        server_process(
            "--journal", pg_url, "--node-lease", "60", "--shutdown-timeout", "0"
        ) as reader,
    ):
        try:
            reader.process.send_signal(signal.SIGSTOP)
            with clients([writer]) as (node,):
                job = submit(node, "/_admin/echo", content=b"to be edited")
                wait_done(node, job)
            sql(
                pg_url,
                f"UPDATE {schema_of(pg_url)}.records SET line = "
                "replace(line, 'to be edited', 'was edited!') WHERE job_id = %s",
                (int(job),),
            )
        finally:
            reader.process.send_signal(signal.SIGCONT)
        status = reader.process.wait(timeout=30)
        reader.stop()
    assert status == 1, reader.text
    assert_clean_output(reader)
    lines = [line for line in reader.text.splitlines() if line.strip()]
    assert lines[-1].startswith("eventjobs: "), reader.text
    assert "row seq=1" in lines[-1] and "does not match its hash" in lines[-1], lines[
        -1
    ]
