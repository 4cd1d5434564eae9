"""Benchmark: cancel latency per kind of work, and worker-process call overhead.

Not a test: it prints figures (recorded in docs/long-running.md). Run::

    python -m eventjobs.bench long-running [--samples N]

Cancel latency is measured in-process through the app's test client (no
network), on a file journal in a temporary directory (so with fdatasync):
from sending ``PUT /_api/job/{id}/cancel`` until the job's stored result (410)
is durable in the journal. Each job is first let run (it is ``started`` and
its work is under way) before it is cancelled.

- async: ``/_admin/sleep`` (trio-native: stops at its checkpoint);
- worker process: a CPU loop in a worker process (killed: SIGTERM);
- thread: ``time.sleep(0.1)`` in ``run_in_thread``, cancelled 50 ms in; a
  thread cannot be stopped, so its latency is the work it has left (~50 ms).
"""

from __future__ import annotations

import argparse
import operator
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import trio

from ..actors.process_pool import ProcessPool
from ..http import create_app, runtime_of
from ..projection import Phase
from ..settings import Settings
from ..work import run_in_process, run_in_thread
from .busy import count_primes
from .options import at_least_one
import trio.lowlevel


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def cancel_latencies(
    kind: str, path: str, samples: int, settle: float
) -> list[float]:
    with tempfile.TemporaryDirectory() as directory:
        app = create_app(
            Settings(
                journal=str(Path(directory) / "journal"),
                worker_processes=2,
                shutdown_timeout=0,
            )
        )

        @app.route("/bench/process", methods=["POST"])
        async def process_work():
            await run_in_process(count_primes, 0, 10**12)
            return "unreachable"

        @app.route("/bench/thread", methods=["POST"])
        async def thread_work():
            await run_in_thread(time.sleep, 0.1)
            return "done"

        runtime = runtime_of(app)
        latencies = []
        async with app.test_app() as test_app:
            client = test_app.test_client()
            for _ in range(samples):
                response = await client.post(path, headers={"x-arango-async": "store"})
                job_id = int(response.headers["x-arango-async-id"])
                while runtime.table.jobs[job_id].phase is not Phase.RUNNING:
                    await trio.lowlevel.checkpoint()
                await trio.sleep(settle)  # let the work get under way
                start = time.perf_counter()
                await client.put(f"/_api/job/{job_id}/cancel")
                while True:
                    job = runtime.table.jobs[job_id]
                    if (
                        not job.pending
                        and runtime.journal.head >= runtime.table.position
                    ):
                        break
                    await trio.lowlevel.checkpoint()
                latencies.append(time.perf_counter() - start)
                # The status, not the response: a stored result's body need
                # not be held in memory (it may be read back from the journal).
                assert job.status == 410, kind
                await client.put(f"/_api/job/{job_id}")
        return latencies


async def call_overhead(calls: int) -> tuple[float, float]:
    pool = ProcessPool(1)
    async with trio.open_nursery() as nursery:
        await nursery.start(pool.serve)
        await pool.run(operator.add, 0, 0)  # start the worker first
        start = time.perf_counter()
        for i in range(calls):
            await pool.run(operator.add, i, i)
        pooled = (time.perf_counter() - start) / calls
        nursery.cancel_scope.cancel()
    start = time.perf_counter()
    for i in range(calls):
        operator.add(i, i)
    direct = (time.perf_counter() - start) / calls
    return pooled, direct


async def measure(samples: int) -> None:
    """Print the cancel latencies and the call overhead; each app and its
    journal live in a temporary directory removed at the end."""
    print(f"cancel latency, request to durable 410 ({samples} samples each)")
    for kind, path, settle in [
        ("async", "/_admin/sleep?duration=100", 0.001),
        ("worker process", "/bench/process", 0.02),
        ("thread", "/bench/thread", 0.05),
    ]:
        values = await cancel_latencies(kind, path, samples, settle)
        print(
            f"  {kind:15s} p50 {percentile(values, 0.5) * 1000:8.2f} ms"
            f"   p99 {percentile(values, 0.99) * 1000:8.2f} ms"
            f"   mean {statistics.mean(values) * 1000:8.2f} ms"
        )
    pooled, direct = await call_overhead(2000)
    print("worker-process call overhead (operator.add(i, i), 2000 calls)")
    print(f"  run_in_process {pooled * 1e6:9.1f} µs per call")
    print(f"  direct call    {direct * 1e6:9.3f} µs per call")
    print(f"  overhead       {(pooled - direct) * 1e6:9.1f} µs per call")


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument(
        "--samples",
        type=at_least_one,
        default=100,
        help="cancels per kind of work (default 100)",
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the scenario and print its figures; return the exit status."""
    trio.run(measure, build_parser(prog).parse_args(argv).samples)
    return 0
