"""One log line per job transition, with the job id; the JSON format."""

from __future__ import annotations

import io
import json
import logging

import pytest

from eventjobs.events import JobQueued, RecordedRequest
from eventjobs.observe import logformat
from eventjobs.observe.transitions import log_transition
from tests.http.conftest import Gates, add_test_routes
from tests.support import serve_app, settle, submit


def transitions(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [
        (record.job_id, record.event)  # type: ignore[attr-defined]
        for record in caplog.records
        if record.name == "eventjobs.jobs"
    ]


async def test_each_transition_is_one_line_with_the_job_id(caplog):
    caplog.set_level(logging.INFO, logger="eventjobs.jobs")
    gates = Gates()
    async with serve_app(setup=lambda app: add_test_routes(app, gates)) as served:
        done = await submit(served.client, "PUT", "/_admin/echo", data=b"x")
        await settle()
        assert (await served.client.put(f"/_api/job/{done}")).status_code == 200
        cancelled = await submit(served.client, "POST", "/test/wait/never")
        await settle()
        await served.client.put(f"/_api/job/{cancelled}/cancel")
        await settle()
        await served.client.delete(f"/_api/job/{cancelled}")
        interrupted = await submit(served.client, "POST", "/test/wait/never")
        await settle()
    assert transitions(caplog) == [
        (done, "queued"),
        (done, "started"),
        (done, "done"),
        (done, "fetched"),
        (cancelled, "queued"),
        (cancelled, "started"),
        (cancelled, "cancelled"),
        (cancelled, "deleted"),
        (interrupted, "queued"),
        (interrupted, "started"),
        (interrupted, "interrupted"),
    ]
    lines = {
        (record.job_id, record.event): record  # type: ignore[attr-defined]
        for record in caplog.records
        if record.name == "eventjobs.jobs"
    }
    assert (
        lines[(done, "queued")].getMessage() == f"job {done} queued: PUT /_admin/echo"
    )
    assert lines[(done, "done")].status == 200  # type: ignore[attr-defined]
    assert lines[(cancelled, "cancelled")].status == 410  # type: ignore[attr-defined]
    assert lines[(interrupted, "interrupted")].status == 503  # type: ignore[attr-defined]
    assert all(record.levelno == logging.INFO for record in lines.values())


async def test_no_transition_lines_above_info(caplog):
    """At WARNING (``--log-level warning``) the job path logs nothing."""
    caplog.set_level(logging.WARNING, logger="eventjobs.jobs")
    async with serve_app() as served:
        await submit(served.client, "PUT", "/_admin/echo", data=b"x")
        await settle()
    assert transitions(caplog) == []


def test_json_lines_parse_and_carry_the_structured_fields():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logformat.JsonFormatter())
    logger = logging.getLogger("eventjobs.jobs")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        log_transition(
            JobQueued(
                job_id=42,
                time=1.0,
                owner="alice",
                store=True,
                request=RecordedRequest(method="POST", path='/reports/"q"\n'),
            )
        )
        try:
            raise ValueError("broken")
        except ValueError:
            logging.getLogger("eventjobs.jobs").exception("job %d failed", 42)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # a newline in a field never splits a line
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO"
    assert first["logger"] == "eventjobs.jobs"
    assert first["message"] == 'job 42 queued: POST /reports/"q"\n by alice'
    assert (first["job_id"], first["event"], first["owner"]) == (42, "queued", "alice")
    assert first["time"].endswith("Z") and first["time"][10] == "T"
    assert second["level"] == "ERROR"
    assert "ValueError: broken" in second["exception"]


def test_an_unknown_log_format_is_refused():
    with pytest.raises(
        ValueError, match="log format must be one of text, json, not 'xml'"
    ):
        logformat.configure("xml")
