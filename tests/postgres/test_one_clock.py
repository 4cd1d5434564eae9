"""Retention on several nodes runs on one clock, the database's: a node whose
own clock is an hour ahead neither deletes results the others find young,
nor has its results kept an hour too long by the others.

Two nodes in one process on one PostgreSQL schema, each with a clock of its
own (injected): only the node named the deleter has ``result_ttl``, so what
is deleted is its decision alone. No TTL is waited for: both clocks are
moved on together (a node counts the time since it last read the
database's clock on its own clock; the long lease keeps it from reading it
again during the test).
"""

from __future__ import annotations

import pytest

from eventjobs import Settings
from eventjobs.events import JobDeleted
from tests.postgres.test_cluster_runtime import wait_for
from tests.support import FakeClock, Served, serve_app, submit

TTL = 120.0
#: The longest lease: a renewal (and a new reading of the database's clock)
#: every 180 s, none during the test.
LEASE = 3600.0
HOUR = 3600.0


def settings(pg_url: str, *, result_ttl: float | None) -> Settings:
    return Settings(
        journal=pg_url, shutdown_timeout=0, node_lease=LEASE, result_ttl=result_ttl
    )


async def done_on(nodes: list[Served], job: int) -> None:
    async def everywhere() -> bool:
        for node in nodes:
            if (await node.client.get(f"/_api/job/{job}")).status_code != 200:
                return False
        return True

    await wait_for(everywhere, f"job {job} done on every node")


def deleted(node: Served) -> dict[int, str | None]:
    return {
        record.event.job_id: record.event.reason
        for record in node.runtime.journal.read()
        if isinstance(record.event, JobDeleted)
    }


@pytest.mark.parametrize(
    "deleter_ahead", [True, False], ids=["the node ahead deletes", "it finishes"]
)
async def test_retention_on_several_nodes_does_not_depend_on_their_clocks(
    pg_url: str, deleter_ahead: bool
) -> None:
    """One node's clock an hour ahead: a result 5 s old stays and one past
    the TTL goes, whether the node ahead deletes results the other
    finished or the other deletes the results it finished."""
    right = FakeClock()
    ahead = FakeClock(right.now + HOUR)
    clocks = (right, ahead)
    async with (
        serve_app(
            settings(pg_url, result_ttl=TTL if not deleter_ahead else None),
            clock=right,
        ) as right_node,
        serve_app(
            settings(pg_url, result_ttl=TTL if deleter_ahead else None), clock=ahead
        ) as ahead_node,
    ):
        deleter, finisher = (
            (ahead_node, right_node) if deleter_ahead else (right_node, ahead_node)
        )
        nodes = [deleter, finisher]
        old = await submit(finisher.client, "PUT", "/_admin/echo", data=b"old")
        await done_on(nodes, old)
        for clock in clocks:
            clock.advance(TTL)
        young = await submit(finisher.client, "PUT", "/_admin/echo", data=b"young")
        await done_on(nodes, young)
        for clock in clocks:
            clock.advance(5)  # old finished 125 s ago, young 5 s ago

        async def old_deleted() -> bool:
            return old in deleted(deleter)

        await wait_for(old_deleted, "the result past the TTL deleted")
        # The round that deleted it looked at the young one too (both were
        # in the deleter's table): whatever it recorded is durable now.
        await deleter.runtime.flush()
        assert deleted(deleter) == {old: "ttl"}
        kept = await finisher.client.put(f"/_api/job/{young}")
        assert kept.status_code == 200, await kept.get_data()
        # Both nodes tell the same time, to well within a second.
        assert abs(right_node.runtime.clock() - ahead_node.runtime.clock()) < 1.0
