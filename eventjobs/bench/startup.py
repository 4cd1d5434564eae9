"""Start-up time against history length (issue: durability, item 5).

Builds two file journals with the same live jobs (250 done, unfetched
results and 250 queued jobs) behind histories of about 1,000 and 1,000,000
events, with snapshots where a server would have written them, and times
what a start does before it serves: open the journal, load the newest
snapshot, replay what follows it. Two cases each:

- clean: the previous server stopped cleanly (a snapshot at the head);
- crash: it was killed just before its next snapshot was due (the longest
  tail a start can meet: ``snapshot_every - 1`` records).

Run: ``python -m eventjobs.bench startup [--events 1000000] [--runs 5]``.
Prints a table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import trio

from ..events import (
    JobDone,
    JobFetched,
    JobQueued,
    JobStarted,
    RecordedRequest,
    RecordedResponse,
)
from ..journal import Recorded
from ..journal.lines import GENESIS_HASH, encode_record
from ..journal.segments import segment_name
from ..journal.snapshots import write_snapshot
from ..projection import JobTable
from ..runtime import Runtime
from ..settings import Settings
from ..snapshot_codec import encode_snapshot
from .options import at_least_one

LIVE_DONE = 250
LIVE_QUEUED = 250
REQUEST = RecordedRequest(method="PUT", path="/_admin/echo", body=b"x" * 200)
RESPONSE = RecordedResponse(
    status=200, headers=(("content-type", "text/plain"),), body=b"y" * 200
)


def history(total_events: int):
    """Events: fetched jobs (4 events each), then the live jobs."""
    live_events = LIVE_DONE * 3 + LIVE_QUEUED
    job = 0
    for _ in range(max(0, total_events - live_events) // 4):
        job += 1
        yield JobQueued(
            job_id=job, time=float(job), owner=None, store=True, request=REQUEST
        )
        yield JobStarted(job_id=job, time=float(job))
        yield JobDone(job_id=job, time=float(job), response=RESPONSE)
        yield JobFetched(job_id=job, time=float(job), by=None)
    for _ in range(LIVE_DONE):
        job += 1
        yield JobQueued(
            job_id=job, time=float(job), owner=None, store=True, request=REQUEST
        )
        yield JobStarted(job_id=job, time=float(job))
        yield JobDone(job_id=job, time=float(job), response=RESPONSE)
    for _ in range(LIVE_QUEUED):
        job += 1
        yield JobQueued(
            job_id=job, time=float(job), owner=None, store=True, request=REQUEST
        )


def build(
    directory: Path, events: int, snapshot_every: int, segment_bytes: int, crash: bool
) -> int:
    """Write the journal (segments and snapshots) as a server would, directly
    and without fsync; return its length."""
    directory.mkdir(parents=True)
    table = JobTable()
    prev = GENESIS_HASH
    all_events = list(history(events))
    # A crash case: the last snapshot lies snapshot_every - 1 records back.
    last_snapshot = len(all_events) - (snapshot_every - 1) if crash else len(all_events)
    file = (directory / segment_name(1)).open("wb")
    size = 0
    for seq, event in enumerate(all_events, start=1):
        if size >= segment_bytes:
            file.close()
            file, size = (directory / segment_name(seq)).open("wb"), 0
        record = Recorded(seq, event)
        line, prev = encode_record(record, prev)
        file.write(line + b"\n")
        size += len(line) + 1
        table.apply(record)
        if seq == last_snapshot or (seq % snapshot_every == 0 and seq < last_snapshot):
            file.flush()
            write_snapshot(directory, seq, prev, *encode_snapshot(table))
    file.close()
    return len(all_events)


async def time_start(directory: Path) -> float:
    runtime = Runtime(Settings(journal=str(directory)), execute=None)  # type: ignore[arg-type]
    started = time.perf_counter()
    await runtime.open()
    elapsed = time.perf_counter() - started
    await runtime.journal.aclose()
    return elapsed


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--events",
        type=at_least_one,
        default=1_000_000,
        help="events in the long history (default 1,000,000)",
    )
    parser.add_argument(
        "--small",
        type=at_least_one,
        default=1_000,
        help="events in the short history (default 1,000)",
    )
    parser.add_argument(
        "--runs", type=at_least_one, default=5, help="starts timed per journal"
    )
    parser.add_argument(
        "--snapshot-every",
        type=at_least_one,
        default=Settings().snapshot_every,
        help="records between snapshots",
    )
    parser.add_argument(
        "--segment-bytes",
        type=at_least_one,
        default=Settings().segment_bytes,
        help="bytes per journal segment",
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Build the journals in a temporary directory (removed at the end, also
    on Ctrl-C), time the starts and print the table; return the exit status."""
    args = build_parser(prog).parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="eventjobs-startup-"))
    try:
        rows = []
        for case in ("clean", "crash"):
            for size, events in (("small", args.small), ("large", args.events)):
                directory = (
                    root / f"{case}-{size}"
                )  # distinct when --small equals --events
                built = time.perf_counter()
                length = build(
                    directory,
                    events,
                    args.snapshot_every,
                    args.segment_bytes,
                    crash=case == "crash",
                )
                built = time.perf_counter() - built
                times = [trio.run(time_start, directory) for _ in range(args.runs)]
                rows.append(
                    (
                        case,
                        length,
                        statistics.median(times),
                        min(times),
                        max(times),
                        built,
                    )
                )
        print(
            f"segment_bytes={args.segment_bytes:,}, "
            f"snapshot_every={args.snapshot_every:,}, live jobs: {LIVE_DONE} done + {LIVE_QUEUED} queued"
        )
        print(
            f"{'case':<6} {'events':>10} {'start median':>13} {'min':>9} {'max':>9}   (built in)"
        )
        for case, length, median, low, high, built in rows:
            print(
                f"{case:<6} {length:>10,} {median * 1000:>10.1f} ms {low * 1000:>6.1f} ms "
                f"{high * 1000:>6.1f} ms   ({built:.0f} s)"
            )
        for case in ("clean", "crash"):
            small, large = [row for row in rows if row[0] == case]
            print(
                f"{case}: {large[1]:,}-event start / {small[1]:,}-event start = "
                f"{large[2] / small[2]:.2f}x"
            )
    finally:
        shutil.rmtree(root)
    return 0
