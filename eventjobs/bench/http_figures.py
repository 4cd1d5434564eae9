"""The HTTP figures: baseline, submit, fetch and lifecycle on one server.

Each round runs every kind of load once, baseline first, so each ratio
compares figures measured minutes (not runs) apart under the same noise:

1. baseline, 50 connections: ``GET /_api/version``, the limit;
2. submit, 50 connections (the submit figure and its latency at 50);
3. fetch, 50 connections, of the jobs step 2 made (latency at 50);
4. submit, 10 connections, then fetch, 10 connections (latency at 10);
5. lifecycle, 50 connections: submit then fetch, complete jobs per second.

Between steps the harness waits until no job is pending, so one step's
jobs do not run during the next step's measurement.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable

import attrs

from .load import LoadResult
from .server import Server
from .wrk import run_load

#: Fetches run for this share of the submit time that made their jobs: a
#: fetch is cheaper than a submit, and running out of jobs would stop early.
FETCH_SHARE = 0.5


@attrs.define
class Round:
    """One round's results by name (``submit@50``, ``fetch@10``, ...).

    ``cpu_us`` holds the server's CPU microseconds per counted item of the
    same names; for submit it includes running the submitted jobs (the CPU
    is read after the jobs have drained). ``drain_seconds`` is how long the
    jobs of ``submit@50`` still ran after the load stopped.
    """

    results: dict[str, LoadResult] = attrs.Factory(dict)
    cpu_us: dict[str, float] = attrs.Factory(dict)
    drain_seconds: float = 0.0

    def sustained_submit(self) -> float:
        """Jobs per second submitted *and run*: 202s over load plus drain time."""
        made = self.results["submit@50"]
        return made.ok / (made.seconds + self.drain_seconds)


def wait_idle(server: Server, timeout: float = 120) -> float:
    """Return once the server has no pending job (or after *timeout*): the
    seconds it took, to 10 ms."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    start = time.monotonic()
    try:
        while time.monotonic() < start + timeout:
            connection.request("GET", "/_api/job/pending?count=1")
            response = connection.getresponse()
            if json.loads(response.read()) == []:
                break
            time.sleep(0.01)
    finally:
        connection.close()
    return time.monotonic() - start


def forget_jobs(server: Server) -> None:
    """``DELETE /_api/job/all``: every round starts with an empty job table,
    so rounds compare alike (the table holds every unfetched result)."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.request("DELETE", "/_api/job/all")
        connection.getresponse().read()
    finally:
        connection.close()


def run_round(
    server: Server,
    client: str,
    seconds: float,
    cores: set[int] | None,
    log: Callable[[str], None],
) -> Round:
    result = Round()

    def load(
        name: str, kind: str, connections: int, duration: float, *args: str
    ) -> LoadResult:
        cpu = server.cpu_seconds()
        outcome = run_load(
            client,
            kind,
            server.url,
            connections=connections,
            seconds=duration,
            args=args,
            cores=cores,
        )
        drained = wait_idle(server)
        if name == "submit@50":
            result.drain_seconds = drained
        result.results[name] = outcome
        result.cpu_us[name] = (server.cpu_seconds() - cpu) * 1e6 / max(1, outcome.ok)
        log(
            f"  {name:<13} {outcome.rate:9.0f}/s  p50 {outcome.p50_ms:6.1f} ms  "
            f"p99 {outcome.p99_ms:6.1f} ms  other {outcome.other:<5} polls {outcome.polls:<6} "
            f"server CPU {result.cpu_us[name]:6.0f} us each"
        )
        return outcome

    load("baseline@50", "baseline", 50, seconds)
    for connections in (50, 10):
        made = load(f"submit@{connections}", "submit", connections, seconds)
        load(
            f"fetch@{connections}",
            "fetch",
            connections,
            seconds * FETCH_SHARE,
            str(made.first),
            str(made.last),
        )
    load("lifecycle@50", "lifecycle", 50, seconds, "50")
    forget_jobs(server)
    return result


def warm_up(
    server: Server, client: str, seconds: float, cores: set[int] | None
) -> None:
    """Load every path once, unmeasured (imports, caches, connection setup)."""
    run_load(
        client, "baseline", server.url, connections=50, seconds=seconds, cores=cores
    )
    run_load(
        client,
        "lifecycle",
        server.url,
        connections=50,
        seconds=seconds,
        args=("50",),
        cores=cores,
    )
    wait_idle(server)
