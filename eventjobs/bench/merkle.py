"""The Merkle tree's cost (issue: a verifiable audit trail, benchmark).

Times, over LEAVES journal-sized lines (about 300 bytes each):

- hashing each line with SHA-256 alone (the floor: what the hash chain
  already pays per record);
- appending each line to a ``Frontier`` (leaf hash plus merges);
- appending each line to ``LeafHashes`` (the same, plus storing the hashes
  proofs are made from);
- an inclusion proof for random leaves of the full tree, and a consistency
  proof between random sizes, each verified once outside the timing;
- a job's receipt from a journal directory of RECORDS records (sealed lines
  in 8 MiB segments, four records a job) the way the server makes it: the
  job's leaves from the tree's job index, their lines read one by one from
  their segment and compared with the tree, an inclusion proof each.

Run: ``python -m eventjobs.bench merkle [--leaves 1000000] [--proofs 2000]
[--receipt-records 1000000] [--receipts 200]`` (``--receipt-records 0``
skips the receipts; the journal goes to a temporary directory, some 300
bytes a record). Prints a table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from typing import BinaryIO
from pathlib import Path

from eventjobs.merkle import (
    Frontier,
    LeafHashes,
    consistency_proof,
    inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from eventjobs.journal.file_audit_store import FileAuditStore
from eventjobs.journal.lines import GENESIS_HASH, seal
from eventjobs.journal.segments import segment_name
from eventjobs.merkle import encode_hash, leaf_hash
from eventjobs.runtime.job_leaves import JobLeaves

SEGMENT_BYTES = 8 * 1024 * 1024


def lines(count: int) -> list[bytes]:
    template = (
        '{"seq":%d,"type":"done","job":%d,"at":1733400000.%06d,"status":200,'
        '"headers":{"content-type":"application/json"},"body":"%s",'
        '"prev":"3f0a9c1be4d2a7f6c8e91b0d5a3c7e2f4b6d8a0c1e3f5a7b9d1c3e5f7a9b1d3"}'
    )
    return [
        (template % (i + 1, i // 4, i % 1_000_000, "x" * 120)).encode()
        for i in range(count)
    ]


def write_journal(directory: Path, count: int) -> tuple[LeafHashes, JobLeaves]:
    """*count* sealed, chained records (four a job) in segments of
    SEGMENT_BYTES; the tree and job index the server would hold."""
    tree, jobs = LeafHashes(), JobLeaves()
    kinds = ("queued", "started", "done", "fetched")
    prev = GENESIS_HASH
    file: BinaryIO | None = None
    written = 0
    try:
        for seq in range(1, count + 1):
            if file is None or written >= SEGMENT_BYTES:
                if file is not None:
                    file.close()
                file = (directory / segment_name(seq)).open("wb")
                written = 0
            line, prev = seal(
                {
                    "seq": seq,
                    "prev": prev,
                    "type": kinds[(seq - 1) % 4],
                    "v": 1,
                    "job": (seq - 1) // 4 + 1,
                    "time": 1733400000.0 + seq / 1000,
                    "note": "x" * 120,
                }
            )
            file.write(line + b"\n")
            written += len(line) + 1
            tree.append(line)
            jobs.append(line)
    finally:
        if file is not None:
            file.close()
    return tree, jobs


def receipt_times(records: int, receipts: int) -> list[float]:
    """Seconds per receipt of a random job, as the server makes it."""
    generator = random.Random(2)
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        tree, jobs = write_journal(directory, records)
        store = FileAuditStore(directory)
        size = tree.size
        times = []
        for _ in range(receipts):
            job = generator.randrange(1, records // 4 + 1)
            start = time.perf_counter()
            seqs = jobs.seqs(job)
            lines = store.lines_at(seqs)
            entries = []
            for seq, line in zip(seqs, lines, strict=True):
                assert leaf_hash(line) == tree.leaf(seq - 1)
                proof = inclusion_proof(tree, seq - 1, size)
                entries.append(
                    {
                        "seq": seq,
                        "line": line.decode(),
                        "proof": [encode_hash(h) for h in proof],
                    }
                )
            times.append(time.perf_counter() - start)
            assert len(entries) == 4
        verify_inclusion(seq - 1, size, leaf_hash(line), proof, tree.root())
    return times


def rate(seconds: float, count: int) -> str:
    return f"{count / seconds / 1000:,.0f}k/s ({seconds / count * 1e6:.2f} µs each)"


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Time the tree and its proofs, print the table; return the exit status."""
    parser = argparse.ArgumentParser(
        prog=prog, description=(__doc__ or "").split("\n\n", 1)[0]
    )
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--proofs", type=int, default=2000)
    parser.add_argument("--receipt-records", type=int, default=1_000_000)
    parser.add_argument("--receipts", type=int, default=200)
    args = parser.parse_args(argv)
    data = lines(args.leaves)

    start = time.perf_counter()
    for line in data:
        hashlib.sha256(line).digest()
    sha_only = time.perf_counter() - start

    frontier = Frontier()
    start = time.perf_counter()
    for line in data:
        frontier.append(line)
    frontier_time = time.perf_counter() - start

    tree = LeafHashes()
    start = time.perf_counter()
    for line in data:
        tree.append(line)
    store_time = time.perf_counter() - start
    assert tree.root() == frontier.root()

    size = tree.size
    generator = random.Random(1)
    inclusion = []
    for _ in range(args.proofs):
        index = generator.randrange(size)
        start = time.perf_counter()
        proof = inclusion_proof(tree, index, size)
        inclusion.append(time.perf_counter() - start)
    verify_inclusion(index, size, tree.leaf(index), proof, tree.root())
    consistency = []
    for _ in range(args.proofs):
        old = generator.randrange(1, size + 1)
        start = time.perf_counter()
        proof = consistency_proof(tree, old, size)
        consistency.append(time.perf_counter() - start)
    verify_consistency(old, size, proof, tree.root(old), tree.root())
    start = time.perf_counter()
    root = tree.root()
    root_time = time.perf_counter() - start
    assert root == frontier.root()

    print(f"{args.leaves:,} leaves of {len(data[0])} bytes")
    print(f"  SHA-256 of each line alone      {rate(sha_only, args.leaves)}")
    print(f"  Frontier.append                 {rate(frontier_time, args.leaves)}")
    print(f"  LeafHashes.append               {rate(store_time, args.leaves)}")
    print(f"  LeafHashes memory               {(size * 32 * 16 / 15) / 1e6:.1f} MB")
    for name, times in (
        ("inclusion proof", inclusion),
        ("consistency proof", consistency),
    ):
        times.sort()
        print(
            f"  {name:<18} median {statistics.median(times) * 1e3:.3f} ms, "
            f"p99 {times[int(len(times) * 0.99)] * 1e3:.3f} ms, max {times[-1] * 1e3:.3f} ms"
        )
    print(f"  root of the whole tree (from the store) {root_time * 1e3:.3f} ms")
    if args.receipt_records >= 4:
        times = sorted(receipt_times(args.receipt_records, args.receipts))
        print(
            f"  receipt of a job (4 records) in a journal of {args.receipt_records:,} "
            f"records: median {statistics.median(times) * 1e3:.3f} ms, "
            f"p99 {times[int(len(times) * 0.99)] * 1e3:.3f} ms, max {times[-1] * 1e3:.3f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
