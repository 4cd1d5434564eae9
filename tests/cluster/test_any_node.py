"""Any node answers for any job: submit on one node, status and fetch on
another right after the 202; a result is fetched once across the nodes,
also when nodes race for it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.cluster.nodes import (
    assert_clean_output,
    assert_fetched_once,
    assert_journal_verifies,
    clients,
    cluster,
    echoed_body,
    submit,
    wait_done,
    wait_lists,
)

pytestmark = pytest.mark.e2e

JOBS = 50
ROUNDS = 30


def test_submit_on_one_node_status_and_fetch_on_another(
    pg_url: str, count: int
) -> None:
    with cluster(pg_url, count) as servers, clients(servers) as nodes:
        bodies: dict[str, str] = {}
        fetched: set[str] = set()
        for n in range(JOBS):
            submitter, other = nodes[n % count], nodes[(n + 1) % count]
            body = f"job {n} submitted on node {n % count}"
            job = submit(submitter, "/_admin/echo", content=body.encode())
            assert job not in bodies, f"job id {job} given out twice"
            bodies[job] = body
            # Right after the 202, another node knows the job: never 404.
            status = other.get(f"/_api/job/{job}")
            assert status.status_code in (200, 204), (
                n,
                job,
                status.status_code,
                status.text,
            )
            early = other.put(f"/_api/job/{job}")
            assert early.status_code in (200, 204), (
                n,
                job,
                early.status_code,
                early.text,
            )
            if early.status_code == 200:
                assert echoed_body(early) == body
                assert early.headers["x-arango-async-id"] == job
                fetched.add(job)
        # The rest is fetched on yet another node (the submitter, with two).
        for n, (job, body) in enumerate(bodies.items()):
            if job in fetched:
                continue
            fetcher = nodes[(n + 2) % count]
            wait_done(fetcher, job)
            result = fetcher.put(f"/_api/job/{job}")
            assert result.status_code == 200, (job, result.status_code, result.text)
            assert echoed_body(result) == body
            fetched.add(job)
        assert fetched == set(bodies)
        for job in bodies:
            assert_fetched_once(nodes, job)
        wait_lists(nodes, pending=[], done=[])
    for server in servers:
        assert_clean_output(server)
    assert_journal_verifies(pg_url)


def test_nodes_racing_to_fetch_one_result_only_one_gets_it(
    pg_url: str, count: int
) -> None:
    with cluster(pg_url, count) as servers, clients(servers) as nodes:
        with ThreadPoolExecutor(max_workers=count) as pool:
            for round_ in range(ROUNDS):
                body = f"round {round_}"
                job = submit(
                    nodes[round_ % count], "/_admin/echo", content=body.encode()
                )
                for node in nodes:  # every node has seen it done: each really tries
                    wait_done(node, job)
                start = threading.Barrier(count)

                def fetch(
                    node: httpx.Client, job: str = job, start: threading.Barrier = start
                ) -> httpx.Response:
                    start.wait(timeout=10)
                    return node.put(f"/_api/job/{job}")

                answers = list(pool.map(fetch, nodes))
                statuses = sorted(answer.status_code for answer in answers)
                assert statuses == [200] + [404] * (count - 1), (round_, job, statuses)
                (winner,) = [answer for answer in answers if answer.status_code == 200]
                assert echoed_body(winner) == body
        wait_lists(nodes, pending=[], done=[])
    for server in servers:
        assert_clean_output(server)
