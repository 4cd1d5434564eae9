"""The benchmark harness runs end to end in quick mode (nothing about speed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.e2e
def test_quick_bench_completes_and_prints_the_table(tmp_path):
    """Quick mode runs end to end, prints the table and draws the chart."""
    chart = tmp_path / "bench.png"
    done = subprocess.run(
        [sys.executable, "-m", "eventjobs.bench", "--quick", "--chart", str(chart)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
        )},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| figure" in done.stdout
    for name in ("baseline req/s", "submit 202/s", "lifecycle jobs/s", "cancel p99 ms",
                 "replay events/s", "journal 100 writers", "fetch p99 @50 ms"):
        assert name in done.stdout
    assert chart.stat().st_size > 0
