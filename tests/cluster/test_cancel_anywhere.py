"""Cancel anywhere: a cancel on one node stops the job running on another,
and its result, fetched on any node, is the spec's 410."""

from __future__ import annotations

import pytest

from tests.cluster.nodes import (
    assert_cancelled,
    assert_clean_output,
    assert_fetched_once,
    clients,
    cluster,
    history,
    submit,
    submit_sleep,
    wait_done,
    wait_started,
)

pytestmark = pytest.mark.e2e

#: The sleep runs far longer than any wait below: only the cancel ends it.
SLEEP = 60


def test_a_cancel_on_another_node_stops_the_running_job(
    pg_url: str, count: int
) -> None:
    with cluster(pg_url, count) as servers, clients(servers) as nodes:
        runner, canceller, fetcher = nodes[0], nodes[-1], nodes[1]
        job = submit_sleep(runner, SLEEP)
        wait_started(canceller, job)
        assert canceller.get(f"/_api/job/{job}").status_code == 204
        answer = canceller.put(f"/_api/job/{job}/cancel")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"result": True}
        # The runner stops it long before the sleep would have ended.
        wait_done(fetcher, job, timeout=SLEEP / 3)
        assert_cancelled(fetcher.put(f"/_api/job/{job}"), job)
        assert_fetched_once(nodes, job)
        assert "cancelled" in history(runner, job)
        assert "done" not in history(runner, job)
        # The runner goes on serving.
        after = submit(runner, "/_admin/echo", content=b"after")
        wait_done(canceller, after)
        assert canceller.put(f"/_api/job/{after}").status_code == 200
    for server in servers:
        assert_clean_output(server)


def test_a_cancel_on_another_node_of_a_queued_job(pg_url: str, count: int) -> None:
    """A job waiting for a slot on its node is cancelled from another node
    without running; the job ahead of it runs on."""
    with (
        cluster(pg_url, count, "--max-running", "1") as servers,
        clients(servers) as nodes,
    ):
        runner, canceller = nodes[0], nodes[-1]
        blocker = submit_sleep(runner, SLEEP)
        wait_started(canceller, blocker)
        queued = submit(runner, "/_admin/echo", content=b"never runs")
        answer = canceller.put(f"/_api/job/{queued}/cancel")
        assert answer.status_code == 200 and answer.json() == {"result": True}, (
            answer.text
        )
        wait_done(canceller, queued)
        assert_cancelled(canceller.put(f"/_api/job/{queued}"), queued)
        assert "started" not in history(canceller, queued)
        assert canceller.get(f"/_api/job/{blocker}").status_code == 204  # still running
        assert canceller.put(f"/_api/job/{blocker}/cancel").json() == {"result": True}
        wait_done(runner, blocker, timeout=SLEEP / 3)
    for server in servers:
        assert_clean_output(server)
