"""A benchmark figure: several runs summarised as median, min and max."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import attrs


@attrs.frozen
class Figure:
    """One measured quantity over several runs.

    ``note`` flags what a reader must know to trust the number (for example
    that the load generator, not the server, was the bottleneck).
    """

    name: str
    unit: str
    runs: tuple[float, ...]
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs else float("nan")

    @property
    def low(self) -> float:
        return min(self.runs) if self.runs else float("nan")

    @property
    def high(self) -> float:
        return max(self.runs) if self.runs else float("nan")


def figure(name: str, unit: str, runs: Sequence[float], note: str = "") -> Figure:
    return Figure(name, unit, tuple(runs), note)


def percentile(samples: Sequence[float], q: float) -> float:
    """The *q*-th percentile (0-100) of *samples*, nearest rank; NaN if empty."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
