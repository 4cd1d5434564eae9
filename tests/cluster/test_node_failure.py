"""A node that dies (kill -9) or stops answering (SIGSTOP) past its lease is
fenced by a live node, which recovers its jobs: running ones get the 503
"job interrupted" result, queued ones run there, and a cancel asked for
while the node was dead makes the job's result the 410. A fenced node that
comes back cannot append for its jobs: it says so and exits."""

from __future__ import annotations

import signal
import time

import pytest

from tests.cluster.nodes import (
    LEASE,
    RECOVERY_TIMEOUT,
    STORE,
    assert_cancelled,
    assert_clean_output,
    assert_fetched_once,
    assert_interrupted,
    assert_journal_verifies,
    clients,
    cluster,
    echoed_body,
    fenced_nodes,
    history,
    kill,
    node_of_job,
    nodes_table,
    submit,
    submit_sleep,
    wait_done,
    wait_done_everywhere,
    wait_lists,
    wait_started,
)
from tests.e2e.helpers import wait_until
from tests.postgres.conftest import schema_of, sql
from tests.support import server_process

pytestmark = pytest.mark.e2e

SLEEP = 60


def test_a_killed_nodes_jobs_are_recovered_by_another(pg_url: str, count: int) -> None:
    with cluster(pg_url, count - 1) as survivors, clients(survivors) as live:
        # The node to kill runs two jobs at most: the echoes wait in its queue.
        with server_process(
            "--journal",
            pg_url,
            "--node-lease",
            str(LEASE),
            "--shutdown-timeout",
            "0",
            "--max-running",
            "2",
        ) as doomed:
            with clients([doomed]) as (victim,):
                interrupted = submit_sleep(victim, SLEEP)
                cancelled = submit_sleep(victim, SLEEP)
                echoes = {
                    submit(
                        victim, "/_admin/echo", content=f"queued {n}".encode()
                    ): f"queued {n}"
                    for n in range(3)
                }
                for job in (interrupted, cancelled):
                    wait_started(live[0], job)
                for job in echoes:
                    assert live[-1].get(f"/_api/job/{job}").status_code == 204
                    assert "started" not in history(live[0], job)
            kill(doomed)
            # Asked while the node is dead (its lease has not even expired).
            answer = live[-1].put(f"/_api/job/{cancelled}/cancel")
            assert answer.status_code == 200 and answer.json() == {"result": True}, (
                answer.text
            )
            for job in [interrupted, cancelled, *echoes]:
                wait_done_everywhere(live, job, timeout=RECOVERY_TIMEOUT)
        (dead,) = fenced_nodes(pg_url)
        # The queued ones ran on a live node (the state of a job is kept
        # until its result is fetched).
        for job in echoes:
            assert node_of_job(pg_url, job) != dead
        assert_interrupted(live[-1].put(f"/_api/job/{interrupted}"), interrupted)
        assert_cancelled(live[0].put(f"/_api/job/{cancelled}"), cancelled)
        for n, (job, body) in enumerate(echoes.items()):
            result = live[n % len(live)].put(f"/_api/job/{job}")
            assert result.status_code == 200, result.text
            assert echoed_body(result) == body
            # Run once, by a live node.
            assert history(live[0], job).count("started") == 1, history(live[0], job)
        for job in [interrupted, cancelled, *echoes]:
            assert_fetched_once(live, job)
        assert "done" not in history(live[0], interrupted)
        wait_lists(live, pending=[], done=[])
        # The survivors go on serving.
        after = submit(live[0], "/_admin/echo", content=b"after")
        wait_done(live[-1], after)
    for server in survivors:
        assert_clean_output(server)
    assert_journal_verifies(pg_url)


def test_a_fenced_node_that_comes_back_exits_saying_so(pg_url: str, count: int) -> None:
    sleep = 2.0
    with cluster(pg_url, count - 1) as survivors, clients(survivors) as live:
        with server_process(
            *[
                "--journal",
                pg_url,
                "--node-lease",
                str(LEASE),
                "--shutdown-timeout",
                "0",
            ]
        ) as paused:
            try:
                with clients([paused]) as (stale,):
                    job = submit_sleep(stale, sleep)
                    submitted = time.monotonic()
                    wait_started(live[0], job)
                paused.process.send_signal(signal.SIGSTOP)
                wait_until(
                    lambda: len(fenced_nodes(pg_url)) == 1,
                    "the paused node fenced",
                    RECOVERY_TIMEOUT,
                )
                wait_done_everywhere(live, job, timeout=RECOVERY_TIMEOUT)
                # Its sleep is over by now: once resumed, the node's runner
                # tries to record the job done at once.
                wait_until(
                    lambda: time.monotonic() > submitted + sleep + 0.5, "the sleep over"
                )
            finally:
                paused.process.send_signal(signal.SIGCONT)
            status = paused.process.wait(timeout=RECOVERY_TIMEOUT)
            paused.stop()
        assert status != 0, paused.text
        assert_clean_output(paused)
        lines = [line for line in paused.text.splitlines() if line.strip()]
        assert lines[-1].startswith("eventjobs: "), paused.text
        assert "lost its lease" in lines[-1], lines[-1]
        assert (
            "another node found it expired, fenced it and took over its jobs"
            in lines[-1]
        ), lines[-1]
        # The job stays as the recovering node recorded it.
        assert_interrupted(live[-1].put(f"/_api/job/{job}"), job)
        assert history(live[0], job) == ["queued", "started", "interrupted", "fetched"]
        after = submit(live[-1], "/_admin/echo", content=b"after")
        wait_done(live[0], after)
        assert [row[2] for row in nodes_table(pg_url)].count(True) == 1
    for server in survivors:
        assert_clean_output(server)
    assert_journal_verifies(pg_url)


def test_a_fenced_node_whose_next_append_finds_out_exits_saying_so(pg_url: str) -> None:
    """The fence is found by an append, before the lease keeper looks (its
    lease is long, so its next renewal is seconds away): the node stops the
    same way, with one sentence and no traceback. The fence is set the way
    another node sets it, one UPDATE of ``nodes``."""
    with server_process(
        "--journal", pg_url, "--node-lease", "30", "--shutdown-timeout", "0"
    ) as server:
        with clients([server]) as (client,):
            first = submit(client, "/_admin/echo", content=b"before")
            wait_done(client, first)
            (node,) = [row[0] for row in nodes_table(pg_url)]
            sql(
                pg_url,
                f"UPDATE {schema_of(pg_url)}.nodes SET fenced = true WHERE node_id = %s",
                (node,),
            )
            refused = client.put("/_admin/echo", headers=STORE, content=b"after")
            assert refused.status_code == 503, refused.text
            assert "lost its lease" in refused.text
        status = server.process.wait(timeout=RECOVERY_TIMEOUT)
        server.stop()
    assert status == 1, server.text
    assert_clean_output(server)
    lines = [line for line in server.text.splitlines() if line.strip()]
    assert lines[-1].startswith("eventjobs: this server (node "), server.text
    assert "lost its lease" in lines[-1], lines[-1]
    assert_journal_verifies(pg_url)
