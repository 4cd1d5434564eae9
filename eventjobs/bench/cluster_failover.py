"""Cancel across nodes and recovery after a node dies (issue: scale-out, items 4-5).

Starts two real servers (``eventjobs serve``) on one fresh PostgreSQL schema
and measures, from a client's point of view:

- **cancel on another node**: a job sleeping on node A is cancelled through
  node B; the time from B's answer to the cancel until the job is no longer
  pending (asked of A with ``x-eventjobs-wait``, so no polling interval is
  measured), over ``--cancels`` jobs;
- **same-node cancel**, the baseline measured in the same run: the same,
  with the cancel sent to A itself;
- **recovery after kill -9**: node A runs a long job and is killed with
  SIGKILL; the time until node B has recorded it ``interrupted`` (again
  asked with a long-poll), for ``--node-lease`` seconds of lease.

Run: ``python -m eventjobs.bench cluster-failover [--url postgresql://...]``.
Prints medians and the spread; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit

from . import postgres as bench_postgres
from .options import at_least_one, positive_seconds
from .server import Server, running_server

STORE = {"x-arango-async": "store"}
WAIT = {"x-eventjobs-wait": "30"}


class Client:
    """Blocking HTTP/1.1 with one keep-alive connection per node.

    A connection that failed (its node was killed) is dropped, and the next
    request to that address opens a new one.
    """

    def __init__(self, timeout: float = 60) -> None:
        self._timeout = timeout
        self._connections: dict[str, http.client.HTTPConnection] = {}

    def request(
        self, method: str, url: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        """Status, headers (lower-case names) and body text of one request."""
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection = self._connections.get(parts.netloc)
        if connection is None:
            connection = http.client.HTTPConnection(parts.netloc, timeout=self._timeout)
            self._connections[parts.netloc] = connection
        try:
            connection.request(method, target, headers=headers or {})
            response = connection.getresponse()
            body = response.read().decode(errors="replace")
        except (OSError, http.client.HTTPException):
            del self._connections[parts.netloc]
            connection.close()
            raise
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()


@contextlib.contextmanager
def node(url: str, lease: float) -> Iterator[Server]:
    """An ``eventjobs serve`` node on the journal *url*, ready to serve;
    stopped (SIGTERM) at the end of the block unless it was killed.

    Raises:
        RuntimeError: it did not start (its output says why).
    """
    with running_server(
        None, "--node-lease", str(lease), "--shutdown-timeout", "0", journal_url=url
    ) as server:
        yield server


def sleeping_job(client: Client, base: str, seconds: float = 60) -> str:
    status, headers, body = client.request(
        "GET", f"{base}/_admin/sleep?duration={seconds}", STORE
    )
    assert status == 202, body
    job = headers["x-arango-async-id"]
    # Running, not queued: wait until it has started (a status of 204 with
    # the job listed pending is not enough; the short sleep lets it start).
    time.sleep(0.05)
    return job


def cancel_latency(client: Client, runner: str, via: str) -> float:
    job = sleeping_job(client, runner)
    status, _, body = client.request("PUT", f"{via}/_api/job/{job}/cancel")
    assert status == 200, body
    began = time.perf_counter()
    status, _, _ = client.request("GET", f"{runner}/_api/job/{job}", WAIT)
    took = time.perf_counter() - began
    assert status == 200, status
    status, _, body = client.request("PUT", f"{runner}/_api/job/{job}")
    assert status == 410, body
    return took


def summary(values: list[float]) -> str:
    ms = sorted(value * 1000 for value in values)
    return (
        f"median {statistics.median(ms):7.1f} ms  (min {ms[0]:.1f}, max {ms[-1]:.1f}, "
        f"n={len(ms)})"
    )


def measure(client: Client, url: str, cancels: int, kills: int, lease: float) -> None:
    """Print the three figures, measured on the journal *url*."""
    with node(url, lease) as a, node(url, lease) as b:
        same = [cancel_latency(client, a.url, a.url) for _ in range(cancels)]
        other = [cancel_latency(client, a.url, b.url) for _ in range(cancels)]
    print(f"cancel on the same node   {summary(same)}")
    print(
        f"cancel on another node    {summary(other)}  "
        f"({statistics.median(other) / statistics.median(same):.2f}x)"
    )
    recoveries = []
    with node(url, lease) as b:
        for _ in range(kills):
            with node(url, lease) as a:
                job = sleeping_job(client, a.url)
                a.process.kill()
                a.process.wait()
                began = time.perf_counter()
                status, _, _ = client.request("GET", f"{b.url}/_api/job/{job}", WAIT)
                recoveries.append(time.perf_counter() - began)
                assert status == 200, status
                status, _, body = client.request("PUT", f"{b.url}/_api/job/{job}")
                assert status == 503, body
    print(
        f"recovery after kill -9    {summary(recoveries)}  "
        f"(lease {lease:g} s: at most lease + a third)"
    )


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url",
        default=os.environ.get("EVENTJOBS_BENCH_POSTGRES", bench_postgres.LOCAL),
        help="the PostgreSQL database: a fresh schema in it, dropped at the end "
        "(default: $EVENTJOBS_BENCH_POSTGRES, else the local server)",
    )
    parser.add_argument(
        "--cancels",
        type=at_least_one,
        default=30,
        help="cancels per figure (default 30)",
    )
    parser.add_argument(
        "--kills", type=at_least_one, default=3, help="nodes killed (default 3)"
    )
    parser.add_argument(
        "--node-lease",
        type=positive_seconds,
        default=2.0,
        help="the nodes' lease in seconds (default 2)",
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the scenario and print its figures; return the exit status (1,
    with one sentence on stderr, when the database or a node is unusable)."""
    args = build_parser(prog).parse_args(argv)
    name = prog or "cluster-failover"
    problem = bench_postgres.usable(args.url)
    if problem is not None:
        print(f"{name}: {problem}", file=sys.stderr)
        return 1
    client = Client()
    try:
        with bench_postgres.fresh_journal(args.url) as url:
            measure(client, url, args.cancels, args.kills, args.node_lease)
    except RuntimeError as error:  # a node did not start
        print(f"{name}: {error}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0
