"""Signed checkpoints, receipts and consistency proofs of a running server."""

from __future__ import annotations

import base64
from pathlib import Path

import trio

from eventjobs import Settings
from eventjobs.journal import MemoryJournal
from eventjobs.journal.audit_store import origin_of
from eventjobs.journal.file_audit_store import FileAuditStore
from eventjobs.merkle import LeafHashes, decode_hash, leaf_hash, verify_consistency
from eventjobs.signed_note import Signer, Verifier
from eventjobs.tlog_checkpoint import open_checkpoint
from eventjobs.audit.keygen import write_pair
from tests.support import serve_app, settle, submit


def key_pair(tmp_path: Path, name: str = "example.com/jobs") -> tuple[str, Verifier]:
    signer = Signer.generate(name)
    write_pair(signer, tmp_path / "k.key", tmp_path / "k.pub")
    return str(tmp_path / "k.key"), signer.verifier()


async def _fetched_job(served) -> int:
    job = await submit(served.client, "GET", "/_api/version")
    with trio.fail_after(10):
        while (await served.client.put(f"/_api/job/{job}")).status_code != 200:
            await trio.sleep(0.01)
    await served.runtime.flush()
    return job


def _tree_of_file(directory: Path) -> LeafHashes:
    lines = []
    for segment in sorted(directory.glob("segment-*.jsonl")):
        lines += segment.read_bytes().splitlines()
    return LeafHashes(leaf_hash(line) for line in lines)


async def test_a_signed_checkpoint_covers_the_file_journal_as_stored(tmp_path):
    """The checkpoint's root is the RFC 9162 root over the stored lines,
    its origin names the journal by its id, and it is served as text."""
    key, verifier = key_pair(tmp_path)
    directory = tmp_path / "journal"
    settings = Settings(journal=str(directory), shutdown_timeout=0, checkpoint_key=key)
    async with serve_app(settings) as served:
        await _fetched_job(served)
        note = await served.runtime.transparency.sign()
        assert note is not None
        response = await served.client.get("/_eventjobs/checkpoint")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert (await response.get_data()).decode() == note
        # Once built, the tree grows with each durable batch, from the lines
        # the file journal wrote (no read back, no catch-up needed).
        await _fetched_job(served)
        tree = served.runtime.transparency.tree
        assert tree.size == served.journal.head == 8
        assert tree.root() == _tree_of_file(directory).root()
    checkpoint = open_checkpoint(note, [verifier])
    tree = _tree_of_file(directory)
    assert checkpoint.size == 4 and tree.size == 8
    assert checkpoint.root == tree.root(4)
    assert checkpoint.origin == origin_of(FileAuditStore(directory).journal_id())


async def test_shutdown_signs_a_checkpoint_of_everything_durable(tmp_path):
    key, verifier = key_pair(tmp_path)
    journal = MemoryJournal()
    settings = Settings(journal=":memory:", shutdown_timeout=0, checkpoint_key=key)
    async with serve_app(settings, journal=journal) as served:
        await _fetched_job(served)
    size = max(journal.checkpoints)
    assert size == journal.head == 4
    assert open_checkpoint(journal.checkpoints[size], [verifier]).size == 4


async def test_no_checkpoint_is_a_404_with_an_error_body():
    async with serve_app() as served:
        response = await served.client.get("/_eventjobs/checkpoint")
        assert response.status_code == 404
        body = await response.get_json()
        assert body["error"] is True and body["errorNum"] == 404


async def test_the_tree_is_rebuilt_from_the_journal_at_start(tmp_path):
    """A restarted server extends the same tree: its checkpoint is
    consistent with the one signed before the restart."""
    key, verifier = key_pair(tmp_path)
    settings = Settings(
        journal=str(tmp_path / "journal"), shutdown_timeout=0, checkpoint_key=key
    )
    async with serve_app(settings) as served:
        await _fetched_job(served)
        first = open_checkpoint(await served.runtime.transparency.sign(), [verifier])
    async with serve_app(settings) as served:
        await _fetched_job(served)
        second = open_checkpoint(await served.runtime.transparency.sign(), [verifier])
        response = await served.client.get(
            f"/_eventjobs/consistency?from={first.size}&to={second.size}"
        )
        body = await response.get_json()
    assert first.origin == second.origin
    assert second.size > first.size
    assert body["from"] == first.size and body["to"] == second.size
    proof = [decode_hash(text) for text in body["proof"]]
    verify_consistency(first.size, second.size, proof, first.root, second.root)


async def test_consistency_refuses_sizes_the_journal_lacks():
    async with serve_app() as served:
        await submit(served.client, "GET", "/_api/version")
        await settle()
        for query in ("from=2&to=99", "from=3&to=1", "from=x&to=1", "to=1"):
            response = await served.client.get(f"/_eventjobs/consistency?{query}")
            assert response.status_code == 400, query
            assert (await response.get_json())["errorNum"] == 400


def _receipt_checks(receipt: dict, verifier: Verifier) -> None:
    from eventjobs.audit.receipts import verify_receipt

    verify_receipt(receipt, [verifier])


async def test_a_receipt_proves_every_record_of_the_job(tmp_path):
    key, verifier = key_pair(tmp_path)
    settings = Settings(journal=":memory:", shutdown_timeout=0, checkpoint_key=key)
    async with serve_app(settings) as served:
        other = await _fetched_job(served)
        job = await _fetched_job(served)
        await served.runtime.transparency.sign()
        response = await served.client.get(f"/_eventjobs/jobs/{job}/receipt")
        assert response.status_code == 200
        receipt = await response.get_json()
    assert set(receipt) == {"job", "checkpoint", "tree_size", "records"}
    assert receipt["job"] == str(job) and receipt["tree_size"] == 8
    assert [r["seq"] for r in receipt["records"]] == [5, 6, 7, 8]
    assert all(f'"job":{job}' in r["line"] for r in receipt["records"])
    assert other != job
    _receipt_checks(receipt, verifier)
    base64.b64decode(receipt["records"][0]["proof"][0], validate=True)
