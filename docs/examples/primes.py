"""CPU-bound work for the worker-process example: plain, blocking Python.

Kept in its own module, importing only the standard library, because worker
processes import the module of every function they run: they should not have
to build the web app to count primes.
"""


def count_primes(start: int, stop: int) -> int:
    """How many primes lie in [start, stop). Never yields, never checks for a
    cancel: only killing the process stops it."""
    count = 0
    for n in range(max(start, 2), stop):
        if all(n % d for d in range(2, int(n**0.5) + 1)):
            count += 1
    return count
