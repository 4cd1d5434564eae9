"""queued -> started -> done -> fetched latencies from a journal's timestamps.

Usage: PYTHONPATH=. python docs/performance/profiles/job_phase_latency.py JOURNAL_DIR
(run it on the journal of a server that served a lifecycle load).
"""
import sys
from pathlib import Path

from eventjobs.journal.file import read_records

times: dict[int, dict[str, float]] = {}
for record in read_records(Path(sys.argv[1])):
    event = record.event
    times.setdefault(event.job_id, {})[type(event).__name__] = event.time
for label, first, second in (
    ("queued -> started", "JobQueued", "JobStarted"),
    ("started -> done", "JobStarted", "JobDone"),
    ("done -> fetched", "JobDone", "JobFetched"),
):
    gaps = sorted(t[second] - t[first] for t in times.values() if first in t and second in t)
    if gaps:
        pick = lambda q: gaps[min(len(gaps) - 1, int(len(gaps) * q))] * 1e3  # noqa: E731
        print(f"{label}: {len(gaps)} jobs, p50 {pick(0.5):.1f} ms, p90 {pick(0.9):.1f} ms, "
              f"p99 {pick(0.99):.1f} ms")
