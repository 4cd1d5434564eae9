"""The audit trail of a pruned journal: the checkpoint file of ``journal
prune`` keeps the Merkle frontier at the cut, so the server keeps signing
checkpoints of the same tree, and receipts and consistency proofs of what
remains verify against the whole journal's roots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventjobs import Settings
from eventjobs.audit.receipts import verify_receipt
from eventjobs.audit.trail import check_extends, receipt_of, sign_offline
from eventjobs.journal.audit_store import NoFrontier
from eventjobs.journal.lines import seal
from eventjobs.journal.pruning import prune
from eventjobs.journal.segments import CHECKPOINT_PREFIX
from eventjobs.merkle import LeafHashes, decode_hash, leaf_hash, verify_consistency
from eventjobs.signed_note import Signer
from eventjobs.tlog_checkpoint import open_checkpoint
from tests.support import serve_app

from .test_checkpoints import _fetched_job, key_pair

FAR_FUTURE = 4_000_000_000


def _whole_tree(*directories: Path) -> LeafHashes:
    """The tree over the lines of every segment in *directories* (the
    archive and the journal: the journal as it was before pruning)."""
    segments = sorted(
        (path for d in directories for path in d.glob("segment-*.jsonl")),
        key=lambda path: path.name,
    )
    return LeafHashes(
        leaf_hash(line) for path in segments for line in path.read_bytes().splitlines()
    )


async def _pruned_journal(tmp_path: Path) -> tuple[Path, Path, str, list[int], str]:
    """A journal of several segments, checkpointed, then pruned into an
    archive; returns the directories, the key, the jobs and the checkpoint."""
    key, _verifier = key_pair(tmp_path)
    directory, archive = tmp_path / "journal", tmp_path / "archive"
    settings = Settings(
        journal=str(directory),
        shutdown_timeout=0,
        checkpoint_key=key,
        segment_bytes=800,
    )
    async with serve_app(settings) as served:
        jobs = [await _fetched_job(served) for _ in range(4)]
        note = await served.runtime.transparency.sign()
    assert note is not None
    result = prune(directory, before=FAR_FUTURE, archive=archive)
    assert result.segments and result.tree_kept
    return directory, archive, key, jobs, note


async def test_a_pruned_journal_goes_on_signing_the_same_tree(tmp_path):
    directory, archive, key, jobs, before = await _pruned_journal(tmp_path)
    verifier = Signer.parse(Path(key).read_text().strip()).verifier()
    cut = int(
        next(directory.glob(f"{CHECKPOINT_PREFIX}*")).stem[len(CHECKPOINT_PREFIX) :]
    )
    first = open_checkpoint(before, [verifier])
    settings = Settings(
        journal=str(directory),
        shutdown_timeout=0,
        checkpoint_key=key,
        segment_bytes=800,
    )
    async with serve_app(settings) as served:
        job = await _fetched_job(served)
        note = await served.runtime.transparency.sign()
        assert note is not None, "no checkpoint signed on a pruned journal"
        response = await served.client.get(
            f"/_eventjobs/consistency?from={first.size}&to={open_checkpoint(note, [verifier]).size}"
        )
        assert response.status_code == 200
        proof = [decode_hash(h) for h in (await response.get_json())["proof"]]
        receipts = {}
        for each in (jobs[-1], job):
            response = await served.client.get(f"/_eventjobs/jobs/{each}/receipt")
            assert response.status_code == 200
            receipts[each] = await response.get_json()
        below = await served.client.get(f"/_eventjobs/consistency?from=1&to={cut + 1}")
        assert below.status_code == 400
        assert "pruned" in (await below.get_json())["errorMessage"]
    second = open_checkpoint(note, [verifier])
    # The roots are those of the whole journal, archive included.
    whole = _whole_tree(archive, directory)
    assert cut < first.size < second.size == whole.size
    assert first.root == whole.root(first.size) and second.root == whole.root()
    verify_consistency(first.size, second.size, proof, first.root, second.root)
    for each, receipt in receipts.items():
        verify_receipt(receipt, [verifier])
        assert receipt["records"] and str(each) == receipt["job"]
        assert all(record["seq"] > cut for record in receipt["records"])
    # Offline, the same.
    assert check_extends(directory, before, [verifier]).size == second.size
    offline = receipt_of(directory, job)
    verify_receipt(offline, [verifier])
    assert all(record["seq"] > cut for record in offline["records"])
    assert offline == json.loads(json.dumps(receipts[job]))


async def test_pruning_again_extends_the_kept_frontier(tmp_path):
    directory, archive, key, _jobs, _note = await _pruned_journal(tmp_path)
    settings = Settings(
        journal=str(directory),
        shutdown_timeout=0,
        checkpoint_key=key,
        segment_bytes=800,
    )
    async with serve_app(settings) as served:
        for _ in range(3):
            await _fetched_job(served)
    assert prune(directory, before=FAR_FUTURE, archive=archive).tree_kept
    signer = Signer.parse(Path(key).read_text().strip())
    checkpoint = open_checkpoint(sign_offline(directory, signer), [signer.verifier()])
    assert checkpoint.root == _whole_tree(archive, directory).root()


async def test_a_prune_point_without_a_frontier_says_the_tree_is_lost(tmp_path):
    """A journal pruned by a version that kept no frontier: the tree cannot
    be rebuilt, and the commands say so (and why) instead of a traceback."""
    directory, archive, key, _jobs, _note = await _pruned_journal(tmp_path)
    point = next(directory.glob(f"{CHECKPOINT_PREFIX}*"))
    data = json.loads(point.read_bytes())
    older, _ = seal({"seq": data["seq"], "record_hash": data["record_hash"]})
    point.write_bytes(older + b"\n")
    signer = Signer.parse(Path(key).read_text().strip())
    with pytest.raises(NoFrontier, match="kept no Merkle frontier"):
        sign_offline(directory, signer)
    settings = Settings(
        journal=str(directory),
        shutdown_timeout=0,
        checkpoint_key=key,
        segment_bytes=800,
    )
    async with serve_app(settings) as served:
        for _ in range(3):
            await _fetched_job(served)
    assert not prune(directory, before=FAR_FUTURE, archive=archive).tree_kept
