"""The audit trail from the command line: offline checkpoints, receipts
checked from a file alone, ``verify --checkpoint`` and the monitor catching
a cut, a rollback and a rewrite with a valid chain."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import trio

from eventjobs import Settings, runtime_of
from eventjobs.audit.keygen import write_pair
from eventjobs.cli import main
from eventjobs.journal.file_audit_store import ID_FILE
from eventjobs.signed_note import Signer
from tests.http.test_dashboard_feed import http_server
from tests.support import serve_app, submit


@pytest.fixture
def keys(tmp_path: Path) -> tuple[str, str]:
    write_pair(
        Signer.generate("example.com/jobs"), tmp_path / "k.key", tmp_path / "k.pub"
    )
    return str(tmp_path / "k.key"), str(tmp_path / "k.pub")


async def add_jobs(directory: Path, *notes: str, key: str | None = None) -> list[int]:
    """Run a server on *directory* for a moment: one fetched job per note."""
    settings = Settings(journal=str(directory), shutdown_timeout=0, checkpoint_key=key)
    jobs = []
    async with serve_app(settings) as served:
        for note in notes:
            job = await submit(
                served.client, "GET", "/_api/version", headers={"x-note": note}
            )
            with trio.fail_after(10):
                while (await served.client.put(f"/_api/job/{job}")).status_code != 200:
                    await trio.sleep(0.01)
            jobs.append(job)
        await served.runtime.flush()
    return jobs


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["journal", *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, captured.out, captured.err


def cut_last_lines(directory: Path, count: int) -> None:
    segment = max(directory.glob("segment-*.jsonl"))
    lines = segment.read_bytes().splitlines(keepends=True)
    segment.write_bytes(b"".join(lines[:-count]))


async def test_receipt_is_verified_from_the_file_alone(tmp_path, keys, capsys):
    key, pub = keys
    directory = tmp_path / "journal"
    _first, second = await add_jobs(directory, "a", "b")
    status, note, _ = run(capsys, "checkpoint", str(directory), "--key", key)
    assert status == 0 and note.startswith("eventjobs/journal/")
    status, out, _ = run(capsys, "receipt", str(directory), str(second))
    assert status == 0
    receipt = json.loads(out)
    assert receipt["checkpoint"] == note and receipt["tree_size"] == 8
    assert [r["seq"] for r in receipt["records"]] == [5, 6, 7, 8]
    # Nothing but the receipt and the verifier key: the journal is gone.
    shutil.rmtree(directory)
    (tmp_path / "receipt.json").write_text(out)
    status, out, _ = run(
        capsys, "verify-receipt", str(tmp_path / "receipt.json"), "--key", pub
    )
    assert status == 0 and out.startswith(f"ok: 4 records of job {second}")
    # One byte changed in a line: not proved.
    receipt["records"][1]["line"] = receipt["records"][1]["line"].replace(
        '"time":', '"time": '
    )
    (tmp_path / "forged.json").write_text(json.dumps(receipt))
    status, out, _ = run(
        capsys, "verify-receipt", str(tmp_path / "forged.json"), "--key", pub
    )
    assert status == 1 and out.startswith("NOT PROVED: record 2 (seq 6)")


async def test_the_server_receipt_verifies_offline_too(tmp_path, keys, capsys):
    key, pub = keys
    directory = tmp_path / "journal"
    settings = Settings(journal=str(directory), shutdown_timeout=0, checkpoint_key=key)
    async with serve_app(settings) as served:
        job = await submit(served.client, "GET", "/_api/version")
        await served.runtime.flush()
        await served.runtime.transparency.sign()
        receipt = await (
            await served.client.get(f"/_eventjobs/jobs/{job}/receipt")
        ).get_json()
    (tmp_path / "r.json").write_text(json.dumps(receipt))
    status, out, _ = run(
        capsys, "verify-receipt", str(tmp_path / "r.json"), "--key", pub
    )
    assert status == 0, out


async def test_receipts_are_their_owners(tmp_path):
    """A receipt is shown to the job's owner and superusers; anyone else 404."""
    from tests.http.test_journal_api import _as_caller_from_header

    signer = Signer.generate("example.com/jobs")
    write_pair(signer, tmp_path / "k.key", tmp_path / "k.pub")
    settings = Settings(
        journal=":memory:", shutdown_timeout=0, checkpoint_key=str(tmp_path / "k.key")
    )
    async with serve_app(settings, setup=_as_caller_from_header) as served:
        # Submitted with authentication off: owned by nobody ("-" poses as
        # the unauthenticated caller, who owns it; "alice" does not).
        job = await submit(served.client, "GET", "/_api/version")
        await served.runtime.flush()
        await served.runtime.transparency.sign()
        path = f"/_eventjobs/jobs/{job}/receipt"
        alice = await served.client.get(path, headers={"x-test-caller": "alice"})
        owner = await served.client.get(path, headers={"x-test-caller": "-"})
        superuser = await served.client.get(path)
        unknown = await served.client.get("/_eventjobs/jobs/999/receipt")
    assert alice.status_code == 404 and unknown.status_code == 404
    assert (await alice.get_json())["errorNum"] == 404
    assert owner.status_code == 200 and superuser.status_code == 200


async def test_verify_checkpoint_catches_a_cut_a_rollback_and_a_rewrite(
    tmp_path, keys, capsys
):
    key, pub = keys
    directory = tmp_path / "journal"
    await add_jobs(directory, "a")
    shutil.copytree(directory, tmp_path / "backup")  # 4 records
    await add_jobs(directory, "b")
    status, note, _ = run(capsys, "checkpoint", str(directory), "--key", key)
    (tmp_path / "cp.txt").write_text(note)  # the auditor's copy: 8 records

    def verify() -> tuple[int, str]:
        status, out, _err = run(
            capsys,
            "verify",
            str(directory),
            "--checkpoint",
            str(tmp_path / "cp.txt"),
            "--key",
            pub,
        )
        return status, out.splitlines()[-1]

    assert verify() == (
        0,
        f"ok: the journal (8 records) extends the checkpoint of 8 records "
        f"({tmp_path / 'cp.txt'}); the consistency proof holds",
    )
    await add_jobs(directory, "c")
    assert verify()[0] == 0  # grown: still an extension

    # Cut: the last records removed (the chain of what is left still holds).
    cut_last_lines(directory, 7)
    status, last = verify()
    assert status == 1 and last.startswith(
        "NOT EXTENDED: TRUNCATED: the journal has 5 records, fewer than the 8"
    )
    # ... and no honest signer signs the shorter history.
    status, _out, err = run(capsys, "checkpoint", str(directory), "--key", key)
    assert status == 1 and "does not extend its newest kept checkpoint" in err

    # Rolled back to the backup, and written again past the checkpoint.
    shutil.rmtree(directory)
    shutil.copytree(tmp_path / "backup", directory)
    rolled_back = verify()
    assert rolled_back[1].startswith(
        "NOT EXTENDED: TRUNCATED: the journal has 4 records"
    ), rolled_back
    await add_jobs(directory, "other", "more")
    status, last = verify()
    assert status == 1 and last.startswith(
        "NOT EXTENDED: REWRITTEN: the journal's first 8 records are not the ones"
    )

    # A complete rewrite with a valid chain, under the same journal id.
    shutil.rmtree(directory)
    await add_jobs(directory, "x", "y", "z")
    (directory / ID_FILE).write_text((tmp_path / "backup" / ID_FILE).read_text())
    assert run(capsys, "verify", str(directory))[0] == 0  # the chain alone holds
    status, last = verify()
    assert status == 1 and "REWRITTEN" in last

    # Another journal's id: said so.
    (directory / ID_FILE).write_text("ab" * 16 + "\n")
    status, last = verify()
    assert status == 1 and "is of the journal" in last


async def test_the_monitor_alerts_when_the_server_cuts_or_rewrites_history(
    tmp_path, keys, capsys
):
    key, pub = keys
    directory = tmp_path / "journal"
    store = tmp_path / "store"
    await add_jobs(directory, "a", "b", key=key)  # shutdown signed 8 records
    settings = Settings(journal=str(directory), shutdown_timeout=0, checkpoint_key=key)

    async def monitor() -> tuple[int, str]:
        async with http_server(settings) as (url, app):
            await runtime_of(app).transparency.sign()
            status = await trio.to_thread.run_sync(
                main,
                [
                    "journal",
                    "monitor",
                    url,
                    "--key",
                    pub,
                    "--store",
                    str(store),
                    "--once",
                ],
            )
        out = capsys.readouterr().out.strip().splitlines()[-1]
        return status, out

    assert await monitor() == (0, await monitor_first_line(directory))
    await add_jobs(directory, "c")
    status, out = await monitor()
    assert status == 0 and out.startswith("ok: 12 records extend the 8 seen before")

    # Cut (and the server's own kept checkpoints thrown away with it).
    backup = tmp_path / "backup"
    shutil.copytree(directory, backup)
    cut_last_lines(directory, 6)  # the server adds one: job 2 was left running
    shutil.rmtree(directory / "checkpoints")
    for snapshot in directory.glob("snapshot-*"):
        snapshot.unlink()  # they would no longer match: the server would refuse
    status, out = await monitor()
    assert (status, out) == (
        1,
        "ALERT: the server's journal shrank from 12 to 7 records: it was cut or rolled back",
    )

    # A rewrite with a valid chain and more records, same journal id.
    shutil.rmtree(directory)
    await add_jobs(directory, "p", "q", "r", "s")
    (directory / ID_FILE).write_text((backup / ID_FILE).read_text())
    shutil.rmtree(directory / "checkpoints", ignore_errors=True)
    status, out = await monitor()
    assert status == 1 and out.startswith(
        "ALERT: the server's 16 records do not extend the 12 it showed before"
    )


async def monitor_first_line(directory: Path) -> str:
    from eventjobs.audit.trail import build_tree
    from eventjobs.journal.file_audit_store import FileAuditStore

    root = build_tree(FileAuditStore(directory)).root()
    return f"ok: first checkpoint stored, 8 records (root {root.hex()[:16]})"


async def test_show_gives_the_receipt_status_with_the_key(tmp_path, keys, capsys):
    """journal show --key proves the job's records in the newest kept
    checkpoint; a checkpoint that no longer matches is NOT PROVED (1)."""
    key, pub = keys
    directory = tmp_path / "journal"
    _first, second = await add_jobs(directory, "a", "b")
    status, out, _ = run(capsys, "show", str(directory), str(second), "--key", pub)
    assert status == 1
    assert out.splitlines()[-1].startswith("receipt: NOT PROVED: no checkpoint is kept")
    run(capsys, "checkpoint", str(directory), "--key", key)
    status, out, _ = run(capsys, "show", str(directory), str(second), "--key", pub)
    assert status == 0, out
    assert out.startswith(f"job {second}: ")
    assert out.splitlines()[-1] == (
        "receipt: in checkpoint 8 (signed by example.com/jobs), proof verified for its "
        "4 records of the job (seq 5, 6, 7, 8)"
    )
    cut_last_lines(directory, 1)
    status, out, _ = run(capsys, "show", str(directory), str(second), "--key", pub)
    assert status == 1
    assert "receipt: NOT PROVED: the newest kept checkpoint (8 records)" in out
    status, _out, err = run(capsys, "show", str(directory), str(second), "--key", key)
    assert status == 1 and "is not a verifier key" in err
