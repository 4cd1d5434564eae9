"""Which stored results retention removes: a pure decision, no I/O.

Two limits, both off by default (as in ArangoDB, where clients clean up with
``DELETE /_api/job/expired``):

- ``result_ttl``: a result older than this many seconds (counted from the
  job's completion) is removed, reason ``"ttl"``;
- ``max_results``: beyond this many stored results, the oldest are
  removed, reason ``"max-results"``.

"Oldest" is in the order the jobs finished, as the journal recorded it
(:meth:`JobTable.finished_in_order`; after a restart from a snapshot, by
completion time): the same order as by completion time unless the clock
went back. So a check stops at the first result young enough to stay and
costs what it removes, not what is stored (a million results held: a scan
of all of them took some 0.1 to 0.2 s every second, docs/durability.md).
Should the clock go back, a result finished "earlier" behind a younger one
waits for it (it is removed when the one before it is).

Only finished, visible jobs count: pending jobs are never removed by
retention.
"""

from __future__ import annotations

from .projection import JobTable

TTL_REASON = "ttl"
MAX_RESULTS_REASON = "max-results"


def expired_results(
    table: JobTable, now: float, *, result_ttl: float | None, max_results: int | None
) -> list[tuple[int, str]]:
    """The ``(job id, reason)`` pairs retention removes now, oldest first."""
    victims: list[tuple[int, str]] = []
    deadline = None if result_ttl is None else now - result_ttl
    excess = 0 if max_results is None else table.finished_count - max_results
    for job in table.finished_in_order():
        if deadline is not None and job.finished < deadline:
            victims.append((job.job_id, TTL_REASON))
        elif len(victims) < excess:
            victims.append((job.job_id, MAX_RESULTS_REASON))
        else:
            break  # every later result is younger (see above)
    return victims
