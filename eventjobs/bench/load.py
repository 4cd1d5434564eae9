"""What one load run reports, whichever generator produced it."""

from __future__ import annotations

import json

import attrs

#: The line a load generator prints its result on.
RESULT_PREFIX = "BENCH "


@attrs.frozen(kw_only=True)
class LoadResult:
    """One run of one kind of load against the server.

    ``ok`` counts what the kind of load is for (200s of the baseline, 202s
    of submit, results taken by fetch and lifecycle); ``other`` every other
    HTTP status. Latencies are over all requests of the run.
    """

    requests: int
    seconds: float
    ok: int
    other: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    first: int = 0
    last: int = 0
    ranout: bool = False
    polls: int = 0

    @property
    def rate(self) -> float:
        """``ok`` per second."""
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    @classmethod
    def parse(cls, output: str) -> LoadResult:
        """The result from a generator's output (the ``BENCH {json}`` line).

        Raises:
            ValueError: there is no such line.
        """
        for line in output.splitlines():
            if line.startswith(RESULT_PREFIX):
                data = json.loads(line[len(RESULT_PREFIX) :])
                return cls(
                    requests=data["requests"],
                    seconds=data["duration_us"] / 1e6,
                    ok=data["ok"],
                    other=data["other"],
                    socket_errors=data["socket_errors"],
                    p50_ms=data["p50_us"] / 1e3,
                    p99_ms=data["p99_us"] / 1e3,
                    first=data.get("first", 0),
                    last=data.get("last", 0),
                    ranout=bool(data.get("ranout", 0)),
                    polls=data.get("polls", 0),
                )
        raise ValueError("the load generator printed no result:\n" + output[-2000:])
