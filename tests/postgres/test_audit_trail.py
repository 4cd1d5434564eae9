"""The audit trail on a PostgreSQL journal: the same tree as the file
journal it was copied from, checkpoints kept in its table, a server that
signs them."""

from __future__ import annotations

from pathlib import Path

import trio

from eventjobs import Settings
from eventjobs.audit.keygen import write_pair
from eventjobs.audit.trail import build_tree
from eventjobs.cli import main
from eventjobs.journal.file_audit_store import FileAuditStore
from eventjobs.journal.pg_audit_store import PostgresAuditStore
from eventjobs.journal.pg_url import parse_postgres_url
from eventjobs.signed_note import Signer
from eventjobs.tlog_checkpoint import open_checkpoint
from tests.audit.test_trail_commands import add_jobs, run
from tests.support import serve_app, submit


async def test_the_same_root_on_both_backends_and_checkpoints_in_a_table(
    tmp_path: Path, pg_url: str, capsys
) -> None:
    signer = Signer.generate("example.com/jobs")
    write_pair(signer, tmp_path / "k.key", tmp_path / "k.pub")
    directory = tmp_path / "journal"
    job, _ = await add_jobs(directory, "a", "b")
    # journal copy runs trio itself: from a thread of its own here.
    copy = ["journal", "copy", str(directory), pg_url]
    assert await trio.to_thread.run_sync(main, copy) == 0
    capsys.readouterr()
    on_pg = PostgresAuditStore(parse_postgres_url(pg_url))
    assert build_tree(on_pg).root() == build_tree(FileAuditStore(directory)).root()
    status, note, _ = run(
        capsys, "checkpoint", pg_url, "--key", str(tmp_path / "k.key")
    )
    assert status == 0 and on_pg.latest_checkpoint() == note
    (tmp_path / "cp.txt").write_text(note)
    status, out, _ = run(
        capsys,
        "verify",
        pg_url,
        "--checkpoint",
        str(tmp_path / "cp.txt"),
        "--key",
        str(tmp_path / "k.pub"),
    )
    assert status == 0, out
    status, receipt, _ = run(capsys, "receipt", pg_url, str(job))
    (tmp_path / "r.json").write_text(receipt)
    assert (
        run(
            capsys,
            "verify-receipt",
            str(tmp_path / "r.json"),
            "--key",
            str(tmp_path / "k.pub"),
        )[0]
        == 0
    )


async def test_a_server_on_postgresql_signs_checkpoints(
    tmp_path: Path, pg_url: str
) -> None:
    signer = Signer.generate("example.com/jobs")
    write_pair(signer, tmp_path / "k.key", tmp_path / "k.pub")
    settings = Settings(
        journal=pg_url, shutdown_timeout=0, checkpoint_key=str(tmp_path / "k.key")
    )
    async with serve_app(settings) as served:
        job = await submit(served.client, "GET", "/_api/version")
        with trio.fail_after(10):
            while (await served.client.put(f"/_api/job/{job}")).status_code != 200:
                await trio.sleep(0.01)
        await served.runtime.flush()
        note = await served.runtime.transparency.sign()
        assert note is not None
        served_note = (
            await (await served.client.get("/_eventjobs/checkpoint")).get_data()
        ).decode()
    store = PostgresAuditStore(parse_postgres_url(pg_url))
    checkpoint = open_checkpoint(note, [signer.verifier()])
    tree = build_tree(store)
    assert served_note == note and store.latest_checkpoint() is not None
    assert checkpoint.size >= 4 and checkpoint.root == tree.root(checkpoint.size)
