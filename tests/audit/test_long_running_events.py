"""The audit commands tell what progress, cancelling and timed_out mean."""

from __future__ import annotations

from eventjobs.events import (
    JobCancelling,
    JobProgressed,
    JobQueued,
    JobStarted,
    JobTimedOut,
    RecordedRequest,
)
from eventjobs.journal import FileJournal, Recorded
from eventjobs.results import timed_out_result
from tests.audit.support import run


async def timed_out_journal(directory):
    journal = FileJournal.open(directory)
    request = RecordedRequest(method="POST", path="/convert", body=b"x")
    events = [
        JobQueued(job_id=1, time=1.0, owner="ann", store=True, request=request),
        JobStarted(job_id=1, time=2.0),
        JobProgressed(job_id=1, time=3.0, fraction=0.5, message="half way"),
        JobCancelling(job_id=1, time=4.0, by=None, reason="timeout"),
        JobTimedOut(job_id=1, time=5.0, timeout=3.0, response=timed_out_result(3.0)),
    ]
    await journal.append(
        [Recorded(seq, event) for seq, event in enumerate(events, start=1)]
    )
    await journal.aclose()


async def test_show_describes_progress_cancelling_and_timeout(tmp_path, capsys):
    """show gives each long-running event its meaning, and the run time."""
    await timed_out_journal(tmp_path)
    result = run(capsys, "show", str(tmp_path), "1")
    assert result.status == 0
    assert "now timed_out" in result.out
    assert "50% half way" in result.out
    assert "reason timeout: stopping" in result.out
    assert "status 504: ran past its 3s timeout" in result.out
    assert "run time 3.000s" in result.out


async def test_verify_accepts_long_running_events(tmp_path, capsys):
    """verify folds progress, cancelling and timed_out as legal transitions."""
    await timed_out_journal(tmp_path)
    result = run(capsys, "verify", str(tmp_path))
    assert result.status == 0, result.err
    assert result.out.startswith("ok: 5 records")


async def test_show_body_prints_a_timed_out_jobs_504_body(tmp_path, capsys):
    """show --body prints the stored result of a job that timed out, as it
    does for one that was done, cancelled or interrupted."""
    await timed_out_journal(tmp_path)
    result = run(capsys, "show", str(tmp_path), "1", "--body")
    assert result.status == 0, result.err
    body = timed_out_result(3.0).body
    assert f"--- timed_out response body ({len(body)} B, " in result.out
    assert body.decode() in result.out
