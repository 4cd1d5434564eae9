"""``eventjobs journal stats``: counts and latency percentiles."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

from ..events import EVENT_TYPES, JobQueued, type_name
from ..records import Recorded
from .tables import duration, render, who
from .timeline import JobFacts


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank *p*-th percentile of *values* (None when empty):
    the smallest value with at least p % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def stats(records: Iterable[Recorded], *, colour: bool = False) -> str:
    """Counts of events by type, of jobs by state (their last phase, or
    fetched / deleted) and of queued jobs by owner; then p50/p95/p99 of queue
    wait (queued to last start) and run time (last start to finish)."""
    facts = JobFacts()
    by_type: Counter[str] = Counter()
    by_user: Counter[str] = Counter()
    for record in records:
        event = record.event
        facts.observe(event)
        by_type[type_name(event)] += 1
        if isinstance(event, JobQueued):
            by_user[who(event.owner)] += 1
    # Recurring schedules have ids of the job ids, but are not jobs.
    by_state = Counter(job.state for job in facts.jobs.values() if not job.schedule)
    out = ["events by type\n"]
    out.append(
        render(
            ["TYPE", "COUNT"],
            [[name, str(by_type[name])] for name in EVENT_TYPES],
            colour=colour,
            colour_column=0,
        )
    )
    out.append("\njobs by state\n")
    out.append(
        render(
            ["STATE", "COUNT"],
            [[name, str(n)] for name, n in sorted(by_state.items())],
            colour=colour,
        )
    )
    out.append("\njobs queued by user\n")
    out.append(
        render(
            ["USER", "COUNT"],
            [[name, str(n)] for name, n in sorted(by_user.items())],
            colour=colour,
        )
    )
    waits = [w for job in facts.jobs.values() if (w := job.queue_wait) is not None]
    runs = [r for job in facts.jobs.values() if (r := job.run_time) is not None]
    rows = [
        [
            label,
            str(len(values)),
            *(duration(percentile(values, p)) for p in (50, 95, 99)),
        ]
        for label, values in (("queue wait", waits), ("run time", runs))
    ]
    out.append("\nlatency\n")
    out.append(render(["MEASURE", "JOBS", "P50", "P95", "P99"], rows, colour=colour))
    return "".join(out)
