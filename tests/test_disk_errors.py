"""A journal that cannot be written: clear 503s, nothing half-written, reads go on."""

from __future__ import annotations

import errno
import json
import os

import trio

from eventjobs import Settings
from eventjobs.journal import FileJournal
from eventjobs.journal.file import read_records
from tests.support import ASYNC_STORE, serve_app


async def wait_status(client, job_id, status):
    with trio.fail_after(10):  # the file journal syncs in a worker thread
        while (await client.get(f"/_api/job/{job_id}")).status_code != status:
            await trio.sleep(0.005)


async def test_failed_append_answers_503_and_keeps_reads(tmp_path, monkeypatch):
    """When fdatasync fails (disk full), the submission gets a 503 naming the
    problem, no partial record stays on disk, and status queries still work."""
    journal = FileJournal.open(tmp_path / "journal")
    settings = Settings(journal=str(tmp_path / "journal"), shutdown_timeout=0)
    async with serve_app(settings, journal=journal) as served:
        response = await served.client.get("/_api/version", headers=ASYNC_STORE)
        job_id = response.headers["x-arango-async-id"]
        await wait_status(served.client, job_id, 200)
        durable = [r.seq for r in read_records(tmp_path / "journal")]

        def disk_full(fd):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr("eventjobs.journal.file.os.fdatasync", disk_full)
        refused = await served.client.get("/_api/version", headers=ASYNC_STORE)
        assert refused.status_code == 503
        body = json.loads(await refused.get_data())
        assert "journal cannot be written" in body["errorMessage"]
        assert "No space left on device" in body["errorMessage"]
        assert "x-arango-async-id" not in refused.headers
        # Reads of what was durable keep working.
        assert (await served.client.get(f"/_api/job/{job_id}")).status_code == 200
        assert (await served.client.get("/_api/job/done")).status_code == 200
        monkeypatch.undo()
    # Nothing of the failed batch remains in the file.
    assert [r.seq for r in read_records(tmp_path / "journal")] == durable
    await journal.aclose()
