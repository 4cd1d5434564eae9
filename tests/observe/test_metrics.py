"""/_eventjobs/metrics moves as jobs are submitted, run, finish, get
cancelled, time out and are interrupted: read with prometheus_client's own
parser, through the app's test client on the in-memory journal."""

from __future__ import annotations

import pytest

from eventjobs import Settings
from eventjobs.events import JobStarted
from tests.http.conftest import Gates, add_test_routes
from tests.observe.support import parse, scrape, value
from tests.support import ASYNC_STORE, auth_settings, basic, serve_app, settle, submit

WAIT = {"x-eventjobs-wait": "60"}


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"journal": ":memory:", "shutdown_timeout": 0}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def gates() -> Gates:
    return Gates()


def serve(gates: Gates, **overrides: object):
    return serve_app(
        settings(**overrides), setup=lambda app: add_test_routes(app, gates)
    )


async def test_a_job_moves_submitted_finished_stored_and_fetched(gates):
    async with serve(gates) as served:
        before = await scrape(served.client)
        assert value(before, "eventjobs_jobs_submitted_total") == 0
        assert value(before, "eventjobs_results_stored") == 0

        job = await submit(served.client, "PUT", "/_admin/echo", data=b"hi")
        await settle()
        after = await scrape(served.client)
        assert value(after, "eventjobs_jobs_submitted_total") == 1
        assert value(after, "eventjobs_jobs_started_total") == 1
        assert value(after, "eventjobs_jobs_finished_total", status_class="2xx") == 1
        assert value(after, "eventjobs_jobs_finished_total", status_class="5xx") == 0
        assert value(after, "eventjobs_results_stored") == 1
        assert value(after, "eventjobs_jobs_queued") == 0
        assert value(after, "eventjobs_jobs_running") == 0
        assert value(after, "eventjobs_job_run_seconds_count") == 1
        assert value(after, "eventjobs_job_queue_wait_seconds_count") == 1

        assert (await served.client.put(f"/_api/job/{job}")).status_code == 200
        fetched = await scrape(served.client)
        assert value(fetched, "eventjobs_results_fetched_total") == 1
        assert value(fetched, "eventjobs_results_stored") == 0


async def test_queued_and_running_gauges_follow_the_table(gates):
    """With one run slot: one job running at a gate, one waiting behind it."""
    async with serve(gates, max_running=1) as served:
        await submit(served.client, "POST", "/test/wait/a")
        await submit(served.client, "POST", "/test/wait/b")
        await settle()
        samples = await scrape(served.client)
        assert value(samples, "eventjobs_jobs_running") == 1
        assert value(samples, "eventjobs_jobs_queued") == 1
        assert value(samples, "eventjobs_results_stored") == 0
        gates.open("a")
        gates.open("b")
        await settle()
        samples = await scrape(served.client)
        assert value(samples, "eventjobs_jobs_running") == 0
        assert value(samples, "eventjobs_jobs_queued") == 0
        assert value(samples, "eventjobs_results_stored") == 2
        assert value(samples, "eventjobs_jobs_finished_total", status_class="2xx") == 2


async def test_run_time_and_queue_wait_are_the_journal_times(gates):
    """The histograms observe the events' own stamps: advancing the clock
    while a job waits and runs moves their sums by exactly that much."""
    async with serve(gates, max_running=1) as served:
        await submit(served.client, "POST", "/test/wait/first")
        await settle()
        second = await submit(served.client, "POST", "/test/wait/second")
        served.clock.advance(3.0)  # the second job waits 3 s for the slot
        gates.open("first")
        await settle()
        assert [
            r.event for r in served.journal.read() if isinstance(r.event, JobStarted)
        ][-1].job_id == second
        served.clock.advance(7.0)  # ... and runs 7 s
        gates.open("second")
        await settle()
        samples = await scrape(served.client)
        assert value(samples, "eventjobs_job_queue_wait_seconds_count") == 2
        assert value(samples, "eventjobs_job_queue_wait_seconds_sum") == 3.0
        assert value(samples, "eventjobs_job_run_seconds_count") == 2
        # The first ran 3 s (while the second waited), the second 7 s.
        assert value(samples, "eventjobs_job_run_seconds_sum") == 10.0
        assert value(samples, "eventjobs_job_run_seconds_bucket", le="5.0") == 1
        assert value(samples, "eventjobs_job_run_seconds_bucket", le="10.0") == 2


async def test_cancelled_jobs_count_as_cancelled_and_4xx(gates):
    async with serve(gates, max_running=1) as served:
        running = await submit(served.client, "POST", "/test/wait/never")
        queued = await submit(served.client, "POST", "/test/wait/never")
        await settle()
        for job in (queued, running):  # the queued one first: else it would start
            assert (
                await served.client.put(f"/_api/job/{job}/cancel")
            ).status_code == 200
        await settle()
        samples = await scrape(served.client)
        assert value(samples, "eventjobs_jobs_cancelled_total") == 2
        assert value(samples, "eventjobs_jobs_finished_total", status_class="4xx") == 2
        # Only the running one has a run time; the queued one never started.
        assert value(samples, "eventjobs_job_run_seconds_count") == 1
        assert value(samples, "eventjobs_jobs_started_total") == 1


async def test_timed_out_jobs_count_as_timed_out_and_5xx(gates, autojump_clock):
    async with serve(gates) as served:
        job = await submit(
            served.client,
            "POST",
            "/test/wait/never",
            headers={"x-eventjobs-timeout": "2"},
        )
        assert (
            await served.client.put(f"/_api/job/{job}", headers=WAIT)
        ).status_code == 504
        samples = await scrape(served.client)
        assert value(samples, "eventjobs_jobs_timed_out_total") == 1
        assert value(samples, "eventjobs_jobs_finished_total", status_class="5xx") == 1
        assert value(samples, "eventjobs_jobs_cancelled_total") == 0


async def test_jobs_running_at_shutdown_count_as_interrupted(gates):
    async with serve(gates) as served:
        await submit(served.client, "POST", "/test/wait/never")
        await settle()
        metrics = served.runtime.metrics
    samples = parse(metrics.exposition().decode())
    assert value(samples, "eventjobs_jobs_interrupted_total") == 1
    assert value(samples, "eventjobs_jobs_finished_total", status_class="5xx") == 1


async def test_deletes_and_fire_and_forget_jobs(gates):
    """A fire-and-forget job finishes without storing a result; deletes count."""
    async with serve(gates) as served:
        response = await served.client.put(
            "/_admin/echo", headers={"x-arango-async": "true"}, data=b"x"
        )
        assert response.status_code == 202
        stored = await submit(served.client, "PUT", "/_admin/echo", data=b"y")
        await settle()
        samples = await scrape(served.client)
        assert value(samples, "eventjobs_jobs_submitted_total") == 2
        assert value(samples, "eventjobs_jobs_finished_total", status_class="2xx") == 2
        assert value(samples, "eventjobs_results_stored") == 1
        assert (await served.client.delete(f"/_api/job/{stored}")).status_code == 200
        samples = await scrape(served.client)
        assert value(samples, "eventjobs_jobs_deleted_total") == 1
        assert value(samples, "eventjobs_results_stored") == 0


async def test_journal_appends_are_timed_and_their_records_counted(gates):
    """Every record this process appended is in exactly one observed batch."""
    async with serve(gates) as served:
        for _ in range(5):
            await submit(served.client, "PUT", "/_admin/echo", data=b"z")
        await settle()
        await served.runtime.flush()
        samples = await scrape(served.client)
        assert (
            value(samples, "eventjobs_journal_batch_records_sum") == served.journal.head
        )
        batches = value(samples, "eventjobs_journal_batch_records_count")
        assert 1 <= batches <= served.journal.head
        assert value(samples, "eventjobs_journal_append_seconds_count") == batches
        assert value(samples, "eventjobs_journal_head") == served.journal.head


async def test_refused_submissions_are_counted_by_reason(gates):
    async with serve(gates, max_running=1, max_queued=1) as served:
        await submit(served.client, "POST", "/test/wait/never")
        await settle()
        await submit(served.client, "POST", "/test/wait/never")  # the one queued place
        refused = await served.client.post("/test/wait/never", headers=ASYNC_STORE)
        assert refused.status_code == 503
        samples = await scrape(served.client)
        assert (
            value(samples, "eventjobs_requests_refused_total", reason="queue_full") == 1
        )
        assert (
            value(samples, "eventjobs_requests_refused_total", reason="shutting_down")
            == 0
        )


async def test_each_app_has_its_own_registry(gates):
    """Two apps in one process: one's jobs do not move the other's metrics."""
    async with serve(gates) as one, serve(gates) as other:
        await submit(one.client, "PUT", "/_admin/echo", data=b"1")
        await settle()
        assert value(await scrape(one.client), "eventjobs_jobs_submitted_total") == 1
        assert value(await scrape(other.client), "eventjobs_jobs_submitted_total") == 0


async def test_ready_and_replay_gauges_after_a_replay(gates):
    """Gauges are computed from the table: right after a restart too."""
    from eventjobs.journal import MemoryJournal

    journal = MemoryJournal()
    async with serve_app(settings(), journal=journal) as first:
        await submit(first.client, "PUT", "/_admin/echo", data=b"kept")
        await submit(first.client, "PUT", "/_admin/echo", data=b"kept too")
        await settle()
    snapshot = journal.load_snapshot()  # the one written at shutdown
    after_snapshot = journal.head - (snapshot[0] if snapshot else 0)
    async with serve_app(settings(), journal=journal) as second:
        samples = await scrape(second.client)
        assert value(samples, "eventjobs_results_stored") == 2
        assert value(samples, "eventjobs_ready") == 1
        assert value(samples, "eventjobs_replay_records_read") == after_snapshot
        assert value(samples, "eventjobs_replay_records_to_read") == after_snapshot
        assert value(samples, "eventjobs_journal_head") == journal.head
        # Counters count what this process did: nothing yet.
        assert value(samples, "eventjobs_jobs_submitted_total") == 0


async def test_metrics_need_credentials_when_authentication_is_on(tmp_path):
    async with serve_app(auth_settings(tmp_path)) as served:
        anonymous = await served.client.get("/_eventjobs/metrics")
        assert anonymous.status_code == 401
        wrong = await served.client.get(
            "/_eventjobs/metrics", headers=basic("alice", "nope")
        )
        assert wrong.status_code == 401
        # Any user may read them, superuser or not.
        for user in ("alice", "root"):
            samples = await scrape(served.client, basic(user))
            assert "eventjobs_jobs_queued" in {name for name, _ in samples}


async def test_metrics_are_never_queued_as_a_job(gates):
    async with serve(gates) as served:
        response = await served.client.get("/_eventjobs/metrics", headers=ASYNC_STORE)
        assert response.status_code == 200
        assert "x-arango-async-id" not in response.headers
        assert (
            value(
                parse((await response.get_data()).decode()),
                "eventjobs_jobs_submitted_total",
            )
            == 0
        )
