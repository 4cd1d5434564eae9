"""``replay --until`` equals the live table, on random API sessions (Hypothesis).

Reuses the random programs of ``tests/test_properties.py`` (submissions,
fetches, cancels, deletes, waits, restarts against the in-process app on a
file journal), copies the journal they produced into a directory, and runs
the real ``eventjobs journal replay --until HEAD --json`` at every quiet
moment the program captured.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import trio
from hypothesis import HealthCheck, given, settings

from eventjobs.audit import commands
from eventjobs.cli import build_parser
from eventjobs.journal import FileJournal, Recorded
from eventjobs.projection import JobTable
from eventjobs.snapshot_codec import encode_table
from tests.audit.support import views
from tests.test_properties import programs, run


def _write(directory: Path, records: list[Recorded]) -> None:
    async def write() -> None:
        journal = FileJournal.open(directory)
        try:
            if records:
                await journal.append(records)
        finally:
            await journal.aclose()

    trio.run(write)


def _replay_json(directory: Path, until: int) -> dict:
    out = io.StringIO()
    args = build_parser().parse_args(
        ["journal", "replay", str(directory), "--until", str(until), "--json"]
    )
    assert commands.run(args, out) == 0
    return json.loads(out.getvalue())


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(programs)
def test_replay_until_equals_live_table_on_random_sessions(program):
    """At every quiet moment of a random session, replay --until head is the live table."""
    trace = run(program, "file")
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary) / "journal"
        _write(directory, trace.records)
        for snapshot in trace.snapshots:
            live = JobTable(
                jobs=snapshot.jobs,
                last_job_id=snapshot.last_job_id,
                position=snapshot.position,
            )
            expected = views(encode_table(live))
            assert views(_replay_json(directory, snapshot.head)) == expected
