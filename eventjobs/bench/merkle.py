"""The Merkle tree's cost (issue: a verifiable audit trail, benchmark).

Times, over LEAVES journal-sized lines (about 300 bytes each):

- hashing each line with SHA-256 alone (the floor: what the hash chain
  already pays per record);
- appending each line to a ``Frontier`` (leaf hash plus merges);
- appending each line to ``LeafHashes`` (the same, plus storing the hashes
  proofs are made from);
- an inclusion proof for random leaves of the full tree, and a consistency
  proof between random sizes, each verified once outside the timing.

Run: ``python -m eventjobs.bench merkle [--leaves 1000000] [--proofs 2000]``.
Prints a table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import time
from collections.abc import Sequence

from eventjobs.merkle import (
    Frontier,
    LeafHashes,
    consistency_proof,
    inclusion_proof,
    verify_consistency,
    verify_inclusion,
)


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


def rate(seconds: float, count: int) -> str:
    return f"{count / seconds / 1000:,.0f}k/s ({seconds / count * 1e6:.2f} µs each)"


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Time the tree and its proofs, print the table; return the exit status."""
    parser = argparse.ArgumentParser(
        prog=prog, description=(__doc__ or "").split("\n\n", 1)[0]
    )
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--proofs", type=int, default=2000)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
