"""Which stored results retention removes: a pure decision, no I/O.

Two limits, both off by default (as in ArangoDB, where clients clean up with
``DELETE /_api/job/expired``):

- ``result_ttl``: a result older than this many seconds (counted from the
  job's completion) is removed, reason ``"ttl"``;
- ``max_results``: beyond this many stored results, the oldest (by
  completion time) are removed, reason ``"max-results"``.

Only finished, visible jobs count: pending jobs are never removed by
retention.
"""

from __future__ import annotations

import heapq

from .projection import JobTable, JobView

TTL_REASON = "ttl"
MAX_RESULTS_REASON = "max-results"


def expired_results(
    table: JobTable, now: float, *, result_ttl: float | None, max_results: int | None
) -> list[tuple[int, str]]:
    """The ``(job id, reason)`` pairs retention removes now, oldest first."""
    stored = [job for job in table.jobs.values() if job.visible and not job.pending]
    victims: list[tuple[int, str]] = []
    if result_ttl is not None:
        deadline = now - result_ttl
        expired = [job for job in stored if _finished(job) < deadline]
        victims.extend((job.job_id, TTL_REASON) for job in sorted(expired, key=_finished))
        gone = {job.job_id for job in expired}
        stored = [job for job in stored if job.job_id not in gone]
    if max_results is not None and len(stored) > max_results:
        oldest = heapq.nsmallest(len(stored) - max_results, stored, key=_finished)
        victims.extend((job.job_id, MAX_RESULTS_REASON) for job in oldest)
    return victims


def _finished(job: JobView) -> float:
    assert job.finished is not None
    return job.finished
