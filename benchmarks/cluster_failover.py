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

Run: ``python benchmarks/cluster_failover.py [--url postgresql://...]``.
Prints medians and the spread; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import psycopg

STORE = {"x-arango-async": "store"}
WAIT = {"x-eventjobs-wait": "30"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def node(url: str, lease: float) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "eventjobs", "serve", "--bind", f"127.0.0.1:{port}",
         "--journal", url, "--node-lease", str(lease), "--shutdown-timeout", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/_eventjobs/ready", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit(f"the server on port {port} did not become ready")
        time.sleep(0.05)
    try:
        yield base, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def sleeping_job(client: httpx.Client, base: str, seconds: float = 60) -> str:
    answer = client.get(f"{base}/_admin/sleep?duration={seconds}", headers=STORE)
    assert answer.status_code == 202, answer.text
    job = answer.headers["x-arango-async-id"]
    # Running, not queued: wait until it has started (a status of 204 with
    # the job listed pending is not enough; the short sleep lets it start).
    time.sleep(0.05)
    return job


def cancel_latency(client: httpx.Client, runner: str, via: str) -> float:
    job = sleeping_job(client, runner)
    answer = client.put(f"{via}/_api/job/{job}/cancel")
    assert answer.status_code == 200, answer.text
    began = time.perf_counter()
    done = client.get(f"{runner}/_api/job/{job}", headers=WAIT)
    took = time.perf_counter() - began
    assert done.status_code == 200, done.status_code
    fetched = client.put(f"{runner}/_api/job/{job}")
    assert fetched.status_code == 410, fetched.text
    return took


def summary(values: list[float]) -> str:
    ms = sorted(value * 1000 for value in values)
    return (f"median {statistics.median(ms):7.1f} ms  (min {ms[0]:.1f}, max {ms[-1]:.1f}, "
            f"n={len(ms)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get(
        "EVENTJOBS_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--cancels", type=int, default=30)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--node-lease", type=float, default=2.0)
    args = parser.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    url = f"{args.url}?schema={schema}"
    try:
        with httpx.Client(timeout=60) as client:
            with node(url, args.node_lease) as (a, _), node(url, args.node_lease) as (b, _):
                same = [cancel_latency(client, a, a) for _ in range(args.cancels)]
                other = [cancel_latency(client, a, b) for _ in range(args.cancels)]
            print(f"cancel on the same node   {summary(same)}")
            print(f"cancel on another node    {summary(other)}  "
                  f"({statistics.median(other) / statistics.median(same):.2f}x)")
            recoveries = []
            with node(url, args.node_lease) as (b, _):
                for _ in range(args.kills):
                    with node(url, args.node_lease) as (a, process):
                        job = sleeping_job(client, a)
                        process.kill()
                        process.wait()
                        began = time.perf_counter()
                        done = client.get(f"{b}/_api/job/{job}", headers=WAIT)
                        recoveries.append(time.perf_counter() - began)
                        assert done.status_code == 200, done.status_code
                        assert client.put(f"{b}/_api/job/{job}").status_code == 503
            print(f"recovery after kill -9    {summary(recoveries)}  "
                  f"(lease {args.node_lease:g} s: at most lease + a third)")
    finally:
        with psycopg.connect(args.url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


if __name__ == "__main__":
    main()
