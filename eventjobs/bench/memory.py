"""Memory of stored results (durability issue, item 6).

Builds a file journal holding N done, unfetched results with 1 KiB bodies
(queued, started, done for each job), then starts a runtime on it in a fresh
process and prints its resident memory after the start (VmRSS) and at its
peak (VmHWM), for a start that replays every record and for one from a
snapshot of the same views.

Run: ``python -m eventjobs.bench memory [--results 1000000]``. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from .options import at_least_one

BODY = b"r" * 1024

#: The command a fresh process measures a start with (``--measure DIR``):
#: this module run directly, not through the harness's command, so the
#: process loads what a start needs and little else.
MEASURE = [sys.executable, "-m", "eventjobs.bench.memory", "--measure"]


def build(directory: Path, results: int, snapshot: bool) -> None:
    # Imported where used: the measuring process (MEASURE) imports this
    # module too, and should load only what a start loads.
    from ..events import (
        JobDone,
        JobQueued,
        JobStarted,
        RecordedRequest,
        RecordedResponse,
    )
    from ..journal import Recorded
    from ..journal.lines import GENESIS_HASH, encode_record
    from ..journal.segments import location, segment_name
    from ..journal.snapshots import write_snapshot
    from ..projection import JobTable
    from ..settings import Settings
    from ..snapshot_codec import encode_snapshot

    segment_bytes = Settings().segment_bytes
    directory.mkdir(parents=True)
    request = RecordedRequest(method="PUT", path="/_admin/echo", body=b"q" * 100)
    response = RecordedResponse(
        status=200, headers=(("content-type", "text/plain"),), body=BODY
    )
    table = JobTable()
    prev, seq, first, size = GENESIS_HASH, 0, 1, 0
    file = (directory / segment_name(1)).open("wb")
    for job in range(1, results + 1):
        for event in (
            JobQueued(
                job_id=job, time=float(job), owner=None, store=True, request=request
            ),
            JobStarted(job_id=job, time=float(job)),
            JobDone(job_id=job, time=float(job), response=response),
        ):
            seq += 1
            if size >= segment_bytes:
                file.close()
                first, size = seq, 0
                file = (directory / segment_name(seq)).open("wb")
            line, prev = encode_record(Recorded(seq, event), prev)
            record = Recorded(seq, event, location=location(first, size))
            file.write(line + b"\n")
            size += len(line) + 1
            if snapshot:
                table.apply(record)
    file.close()
    if snapshot:
        write_snapshot(directory, seq, prev, *encode_snapshot(table))


def measure(directory: Path) -> dict[str, float]:
    """Start a runtime on *directory* in this process; report memory."""
    import trio

    from ..runtime import Runtime
    from ..settings import Settings

    runtime = Runtime(Settings(journal=str(directory)), execute=None)  # type: ignore[arg-type]
    started = time.perf_counter()
    trio.run(runtime.open)
    elapsed = time.perf_counter() - started
    status = Path("/proc/self/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "jobs": len(runtime.table.jobs),
        "start_s": elapsed,
        "rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
        "peak_mb": int(fields["VmHWM"].split()[0]) / 1024,
    }


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--results",
        type=at_least_one,
        default=1_000_000,
        help="done, unfetched results in the journal (default 1,000,000)",
    )
    parser.add_argument(
        "--replay-only", action="store_true", help="skip the snapshot start"
    )
    parser.add_argument("--measure", default=None, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Build each journal in a temporary directory (removed at the end, also
    on Ctrl-C), measure a start on it in a fresh process and print one line
    per start; return the exit status."""
    args = build_parser(prog).parse_args(argv)
    if args.measure:
        print(json.dumps(measure(Path(args.measure))))
        return 0
    root = Path(tempfile.mkdtemp(prefix="eventjobs-memory-"))
    try:
        print(f"{args.results:,} stored results of {len(BODY)} bytes each")
        for snapshot in (False,) if args.replay_only else (False, True):
            directory = root / ("snapshot" if snapshot else "replay")
            built = time.perf_counter()
            build(directory, args.results, snapshot)
            built = time.perf_counter() - built
            disk = sum(p.stat().st_size for p in directory.iterdir()) / 2**20
            done = subprocess.run(
                [*MEASURE, str(directory)], capture_output=True, text=True
            )
            if done.returncode != 0:
                print(
                    f"the measuring process failed (exit status {done.returncode}):\n"
                    f"{done.stderr}",
                    file=sys.stderr,
                )
                return 1
            figures = json.loads(done.stdout)
            how = "from a snapshot" if snapshot else "replaying every record"
            print(
                f"start {how}: {figures['jobs']:,} jobs held, RSS {figures['rss_mb']:.0f} MB "
                f"after the start, peak {figures['peak_mb']:.0f} MB, start {figures['start_s']:.1f} s "
                f"(journal {disk:,.0f} MB on disk, built in {built:.0f} s)"
            )
            shutil.rmtree(directory)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":  # the measuring process (MEASURE)
    sys.exit(main())
