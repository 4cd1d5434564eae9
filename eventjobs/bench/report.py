"""The results: one text table, one PNG chart, and a JSON record."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import attrs

from .stats import Figure


@attrs.frozen
class Target:
    """``figure median >= value`` (or ``<=`` when *at_most*)."""

    value: float
    at_most: bool = False

    def met(self, figure: Figure) -> bool | None:
        if math.isnan(figure.median):
            return None
        return (
            figure.median <= self.value if self.at_most else figure.median >= self.value
        )

    def __str__(self) -> str:
        return f"{'<' if self.at_most else '>='} {_number(self.value)}"


@attrs.frozen
class Row:
    figure: Figure
    target: Target | None = None


def _number(value: float) -> str:
    if math.isnan(value):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(rows: Sequence[Row]) -> str:
    """The results as a Markdown table (readable as plain text too)."""
    header = ("figure", "median", "min", "max", "unit", "target", "met", "runs", "note")
    lines = [header]
    for row in rows:
        figure = row.figure
        met = row.target.met(figure) if row.target else None
        lines.append(
            (
                figure.name,
                _number(figure.median),
                _number(figure.low),
                _number(figure.high),
                figure.unit,
                str(row.target) if row.target else "report",
                {True: "yes", False: "NO", None: ""}[met],
                str(len(figure.runs)),
                figure.note,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for index, line in enumerate(lines):
        out.append(
            "| "
            + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line))
            + " |"
        )
        if index == 0:
            out.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(out)


def write_json(
    path: Path,
    rows: Sequence[Row],
    machine: dict[str, str],
    settings: dict[str, object],
) -> None:
    data = {
        "machine": machine,
        "settings": settings,
        "figures": [
            {
                "name": row.figure.name,
                "unit": row.figure.unit,
                "runs": list(row.figure.runs),
                "median": row.figure.median,
                "note": row.figure.note,
                "target": str(row.target) if row.target else None,
            }
            for row in rows
        ],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")


def chart(path: Path, rows: Sequence[Row], title: str) -> None:
    """Four panels: HTTP throughput, latencies, journal appends, replay.

    Bars are medians; whiskers span min to max; dashed lines are targets.
    """
    import matplotlib

    matplotlib.use("Agg")  # no display: write files only
    import matplotlib.pyplot as plt

    by_name = {row.figure.name: row for row in rows}

    def panel(axis, names: list[str], ylabel: str, log: bool = False) -> None:
        present = [by_name[name] for name in names if name in by_name]
        labels = [row.figure.name.replace(" ", "\n", 1) for row in present]
        medians = [row.figure.median for row in present]
        errors = [
            [row.figure.median - row.figure.low for row in present],
            [row.figure.high - row.figure.median for row in present],
        ]
        bars = axis.bar(
            range(len(present)), medians, yerr=errors, capsize=4, color="#4c78a8"
        )
        for bar, value in zip(bars, medians):
            axis.annotate(
                _number(value),
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
                xytext=(0, 2),
                textcoords="offset points",
            )
        axis.set_xticks(range(len(present)), labels, fontsize=7)
        axis.set_ylabel(ylabel)
        if log:
            axis.set_yscale("log")
        axis.grid(axis="y", alpha=0.3)

    figure, axes = plt.subplots(2, 2, figsize=(12, 8))
    throughput = [
        "baseline req/s",
        "submit 202/s",
        "fetch results/s",
        "lifecycle jobs/s",
    ]
    panel(axes[0][0], throughput, "per second (50 connections)")
    baseline = by_name.get("baseline req/s")
    if baseline is not None:
        for share, label in ((0.85, "0.85 x baseline"), (0.35, "0.35 x baseline")):
            axes[0][0].axhline(
                baseline.figure.median * share, ls="--", lw=1, color="#e45756"
            )
            axes[0][0].text(
                3.4,
                baseline.figure.median * share,
                label,
                fontsize=7,
                color="#e45756",
                va="bottom",
                ha="right",
            )
    axes[0][0].set_title("HTTP throughput (server on one core)", fontsize=9)
    latency = [name for name in by_name if name.endswith(" ms")]
    panel(axes[0][1], latency, "milliseconds", log=True)
    axes[0][1].tick_params(axis="x", labelrotation=45)
    axes[0][1].set_title("latency (cancel: request to stored 410)", fontsize=9)
    panel(
        axes[1][0],
        [name for name in by_name if name.startswith("journal")],
        "durable appends/s",
        log=True,
    )
    axes[1][0].set_title(
        "group commit (JournalWriter + FileJournal, fdatasync)", fontsize=9
    )
    panel(axes[1][1], ["replay events/s"], "events/s")
    axes[1][1].axhline(200_000, ls="--", lw=1, color="#e45756")
    axes[1][1].set_title("replay: fold(read_records(...))", fontsize=9)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
