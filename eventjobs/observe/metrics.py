"""Prometheus metrics of one runtime, in a registry of its own.

A :class:`Metrics` owns a :class:`prometheus_client.CollectorRegistry`
(never the process-wide default one: a process may hold several apps, as
the tests do). It is fed three ways:

- :meth:`Metrics.observe_event`, called by the runtime's writer observer,
  sees every event once durable and moves the counters and the run-time
  and queue-wait histograms;
- :meth:`Metrics.observe_append`, a writer append observer, times each
  group commit and counts its records;
- :meth:`Metrics.refused` counts requests answered 503, by reason (the HTTP
  layer calls it where it refuses).

Gauges (jobs queued, running, results stored, readiness, replay progress)
are not kept up to date: a collector reads them from the runtime's table
when scraped, so they are right from the first scrape after a restart.
Counters and histograms count what this process applied since it started
(events replayed from the journal at start-up are not counted again);
Prometheus's ``rate()`` and ``increase()`` handle the reset at a restart.

Times come from the events' own stamps (the runtime's clock), so the
queue wait and run time of a job are the ones its journal records show.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..events import (
    Event,
    JobCancelled,
    JobDeleted,
    JobFetched,
    JobInterrupted,
    JobQueued,
    JobRequeued,
    JobRetrying,
    JobStarted,
    JobTimedOut,
)
from ..lifecycle import Ending, ends_job
from ..projection import JobTable

#: The reasons :meth:`Metrics.refused` knows, pre-created so that each is
#: exported (as 0) before it first happens.
REFUSAL_REASONS = (
    "starting",
    "shutting_down",
    "queue_full",
    "quota",
    "journal_unavailable",
    "not_running",
)

#: Seconds a job waits or runs: from a millisecond to an hour.
JOB_SECONDS_BUCKETS = (
    0.001,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    300,
    900,
    3600,
)
#: Seconds one group commit (write and fdatasync) takes.
APPEND_SECONDS_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
)
#: Records per group commit.
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Source(Protocol):
    """What the gauges are read from (the runtime's :class:`~eventjobs.runtime.health.Gauges`)."""

    @property
    def table(self) -> JobTable: ...

    def gauges(self) -> dict[str, float]:
        """Extra gauge values by metric name, read at scrape time."""
        ...


def _status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status <= 599 else "other"


class Metrics:
    """The metrics of one runtime; see the module docstring.

    Args:
        source: read at scrape time for the gauges.
        gauge_help: help text of each name :meth:`Source.gauges` returns.
    """

    def __init__(
        self, source: Source, gauge_help: dict[str, str] | None = None
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        registry = self.registry
        self.submitted = Counter(
            "eventjobs_jobs_submitted",
            "Jobs accepted (queued), stored or fire-and-forget.",
            registry=registry,
        )
        self.started = Counter(
            "eventjobs_jobs_started",
            "Jobs whose handler began to run.",
            registry=registry,
        )
        finished = Counter(
            "eventjobs_jobs_finished",
            "Jobs that ended, however (done, cancelled, timed out, interrupted), by the "
            "status class of their result.",
            ["status_class"],
            registry=registry,
        )
        self._finished = finished
        self._finished_by_class = {
            name: finished.labels(status_class=name)
            for name in ("1xx", "2xx", "3xx", "4xx", "5xx")
        }
        self.cancelled = Counter(
            "eventjobs_jobs_cancelled",
            "Jobs stopped or dropped by a client's cancel.",
            registry=registry,
        )
        self.timed_out = Counter(
            "eventjobs_jobs_timed_out",
            "Jobs stopped because they ran past their timeout.",
            registry=registry,
        )
        self.interrupted = Counter(
            "eventjobs_jobs_interrupted",
            "Jobs the server stopped (shutdown), or found running after a crash.",
            registry=registry,
        )
        self.requeued = Counter(
            "eventjobs_jobs_requeued",
            "Jobs of rerun-safe routes found running at start-up and queued again.",
            registry=registry,
        )
        self.retried = Counter(
            "eventjobs_job_attempts_retried",
            "Attempts of jobs with retries that failed and were queued to run again.",
            registry=registry,
        )
        self.fetched = Counter(
            "eventjobs_results_fetched", "Results taken by clients.", registry=registry
        )
        self.deleted = Counter(
            "eventjobs_jobs_deleted",
            "Jobs deleted (by a client, or by --result-ttl / --max-results).",
            registry=registry,
        )
        self.run_seconds = Histogram(
            "eventjobs_job_run_seconds",
            "From started to the job's end (done, cancelled, timed out, interrupted).",
            buckets=JOB_SECONDS_BUCKETS,
            registry=registry,
        )
        self.queue_wait_seconds = Histogram(
            "eventjobs_job_queue_wait_seconds",
            "From queued to started.",
            buckets=JOB_SECONDS_BUCKETS,
            registry=registry,
        )
        self.append_seconds = Histogram(
            "eventjobs_journal_append_seconds",
            "One group commit to the journal (write and fsync).",
            buckets=APPEND_SECONDS_BUCKETS,
            registry=registry,
        )
        self.batch_records = Histogram(
            "eventjobs_journal_batch_records",
            "Records per group commit.",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        refused = Counter(
            "eventjobs_requests_refused",
            "Requests answered 503, by reason.",
            ["reason"],
            registry=registry,
        )
        self._refused = refused
        self._refused_by_reason = {
            reason: refused.labels(reason=reason) for reason in REFUSAL_REASONS
        }
        registry.register(_Gauges(source, gauge_help or {}))
        self._source = source
        #: job id -> started time, for the jobs running now (their run time
        #: is known when they end). Jobs found running at start-up are not
        #: here: their run time is not observed.
        self._started_at: dict[int, float] = {}
        #: Counters of one kind of event each. Which events end a job (and so
        #: count as finished, and end its run time) is the lifecycle's to say.
        self._counters: dict[type, Counter] = {
            JobQueued: self.submitted,
            JobStarted: self.started,
            JobCancelled: self.cancelled,
            JobTimedOut: self.timed_out,
            JobInterrupted: self.interrupted,
            JobRequeued: self.requeued,
            JobRetrying: self.retried,
            JobFetched: self.fetched,
            JobDeleted: self.deleted,
        }

    # -- feeding ------------------------------------------------------------------

    def observe_event(self, event: Event) -> None:
        """Count *event*, durable just now (the runtime's writer observer calls it)."""
        counter = self._counters.get(type(event))
        if counter is not None:
            counter.inc()
        if isinstance(event, JobStarted):
            self._on_started(event)
        elif isinstance(event, (JobRequeued, JobRetrying)):
            self._started_at.pop(event.job_id, None)  # its run ended with no result
        elif ends_job(event):
            self._ended(event)

    def observe_append(self, seconds: float, records: int) -> None:
        """A journal writer append observer: one group commit succeeded."""
        self.append_seconds.observe(seconds)
        self.batch_records.observe(records)

    def refused(self, reason: str) -> None:
        """Count one request answered 503 for *reason* (see REFUSAL_REASONS)."""
        child = self._refused_by_reason.get(reason)
        if child is None:
            child = self._refused_by_reason[reason] = self._refused.labels(
                reason=reason
            )
        child.inc()

    def exposition(self) -> bytes:
        """The registry in the Prometheus text format (:data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)

    # -- per event ------------------------------------------------------------

    def _on_started(self, event: JobStarted) -> None:
        self._started_at[event.job_id] = event.time
        # Read from the source each time: the runtime's table object is
        # replaced when the journal is replayed.
        job = self._source.table.jobs.get(event.job_id)
        if job is not None:
            self.queue_wait_seconds.observe(max(0.0, event.time - job.created))

    def _ended(self, event: Ending) -> None:
        """Any event that ends a job: count it by status class, time its run."""
        name = _status_class(event.response.status)
        child = self._finished_by_class.get(name)
        if child is None:
            child = self._finished_by_class[name] = self._finished.labels(
                status_class=name
            )
        child.inc()
        started = self._started_at.pop(event.job_id, None)
        if started is not None:
            self.run_seconds.observe(max(0.0, event.time - started))


class _Gauges(Collector):
    """The gauges, computed from the runtime at each scrape."""

    def __init__(self, source: Source, gauge_help: dict[str, str]) -> None:
        self._source = source
        self._help = gauge_help

    def collect(self) -> Iterator[Metric]:
        table = self._source.table
        queued, running = table.queued_count, table.running_count
        # Every finished job still in the table holds a stored result
        # (finished and invisible ones leave it): O(1), not a scan.
        stored = len(table.jobs) - queued - running
        for name, help_text, value in (
            ("eventjobs_jobs_queued", "Jobs waiting for a run slot.", queued),
            ("eventjobs_jobs_running", "Jobs whose handler is running.", running),
            (
                "eventjobs_results_stored",
                "Finished jobs whose result waits to be fetched.",
                stored,
            ),
        ):
            yield GaugeMetricFamily(name, help_text, value=value)
        for name, reading in self._source.gauges().items():
            if name.endswith("_total"):
                yield CounterMetricFamily(
                    name[: -len("_total")], self._help.get(name, name), value=reading
                )
            else:
                yield GaugeMetricFamily(name, self._help.get(name, name), value=reading)
