"""The journal that several nodes wrote is one journal: ``eventjobs journal
verify`` passes on it, and a single node started on it afterwards answers
for every job as the nodes left them."""

from __future__ import annotations

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
                assert nodes[(n + 2) % 3].delete(f"/_api/job/{job}").json() == {"result": True}
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
            assert result.status_code == 200 and echoed_body(result) == body, result.text
        assert_cancelled(node.put(f"/_api/job/{sleeper}"), sleeper)
    assert_clean_output(single)
    assert_journal_verifies(pg_url)
