"""CPU-bound work for the long-running scenario's worker-process jobs.

The same loop as the worker-process example (docs/examples/primes.py), kept
here because the harness is shipped and the examples are not. Standard
library only: a worker process imports the module of every function it runs,
and this one should not have to load the server to count primes.
"""


def count_primes(start: int, stop: int) -> int:
    """How many primes lie in [start, stop). Never yields, never checks for a
    cancel: only killing the process stops it."""
    count = 0
    for n in range(max(start, 2), stop):
        if all(n % d for d in range(2, int(n**0.5) + 1)):
            count += 1
    return count
