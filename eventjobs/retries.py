"""The retry rules of a job that asked for them (``x-eventjobs-retries``).
Pure: no I/O, no clock, no randomness of its own (the jitter is an
argument, so tests choose it).

- An attempt *may* be retried when it ended with a 5xx result, ran past its
  timeout, or was interrupted (the server stopped, or crashed, while it
  ran); a cancel never is.
- It *is* retried while attempts are left: a job with ``retries`` N runs at
  most N + 1 times; attempt K (from 1) is retried when K <= N.
- The next attempt waits ``base * 2 ** (K - 1)`` seconds scaled by a jitter
  factor from 0.5 to 1 (so that jobs failing together do not all come back
  together), at most ``cap``.
- Retries are only for requests that are safe to run again: an idempotent
  method, a route declared rerun-safe, or a submission with an
  ``Idempotency-Key`` (checked at submission, see :func:`unsafe_reason`).
"""

from __future__ import annotations

from typing import Final

#: The most retries a submission may ask for.
MAX_RETRIES: Final = 20
#: The back-off base when a submission names none (seconds).
DEFAULT_RETRY_DELAY: Final = 1.0
#: Methods RFC 9110 calls idempotent (running them twice is running them once).
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

#: Why an attempt ended, as a ``retrying`` event records it.
SERVER_ERROR: Final = "server_error"
TIMEOUT: Final = "timeout"
INTERRUPTED: Final = "interrupted"


def attempts_left(attempt: int, retries: int) -> bool:
    """Whether attempt *attempt* (from 1) of a job with *retries* may be
    followed by another."""
    return attempt <= retries


def retryable_status(status: int) -> bool:
    """Whether a result with *status* is worth another attempt (a 5xx)."""
    return 500 <= status <= 599


def backoff(attempt: int, base: float, jitter: float, cap: float) -> float:
    """Seconds before the attempt after *attempt*: ``base * 2 ** (attempt -
    1)``, times ``0.5 + jitter / 2`` (*jitter* from 0 to 1), at most *cap*."""
    exponent = min(attempt - 1, 64)  # past that, the cap holds anyway
    return min(cap, base * 2.0**exponent * (0.5 + min(max(jitter, 0.0), 1.0) / 2))


def unsafe_reason(
    method: str, *, rerun_safe: bool, idempotency_key: bool
) -> str | None:
    """Why a submission may not ask for retries, or None when it may."""
    if method.upper() in IDEMPOTENT_METHODS or rerun_safe or idempotency_key:
        return None
    return (
        f"x-eventjobs-retries: a {method} request may not be safe to run again; "
        "retries are for idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS), "
        "routes declared rerun-safe (eventjobs.rerun_safe), or submissions with "
        "an Idempotency-Key"
    )
