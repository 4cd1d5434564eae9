"""The benchmark harness runs end to end in quick mode (nothing about speed)."""

from __future__ import annotations

import json
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
        check=False,
        text=True,
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
            ),
        },
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| figure" in done.stdout
    for name in (
        "baseline req/s",
        "submit 202/s",
        "lifecycle jobs/s",
        "cancel p99 ms",
        "replay events/s",
        "journal 100 writers",
        "fetch p99 @50 ms",
    ):
        assert name in done.stdout
    assert chart.stat().st_size > 0


def run_bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eventjobs.bench", *args],
        capture_output=True,
        check=False,
        text=True,
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
            ),
        },
        timeout=300,
    )


@pytest.mark.e2e
def test_quick_scaling_without_postgres_measures_the_file_baseline(tmp_path):
    """``--scaling --postgres off``: the table has the file journal's row, its
    ratio to itself, and the JSON record holds its runs."""
    record = tmp_path / "scaling.json"
    done = run_bench(
        tmp_path, "--scaling", "--quick", "--postgres", "off", "--json", str(record)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| configuration | submit 202/s | submit / file x1 |" in done.stdout
    file_row = next(
        line for line in done.stdout.splitlines() if line.startswith("| file x1 ")
    )
    assert file_row.split("|")[3].strip() == "1.00"  # submit / file x1
    assert file_row.split("|")[5].strip() == "1.00"  # lifecycle / file x1
    assert "| PG x" not in done.stdout
    data = json.loads(record.read_text())
    [repetition] = data["repetitions"]
    [measured] = repetition
    assert measured["configuration"] == "file x1"
    assert measured["loads"]["submit"]["ok"] > 0
    assert measured["loads"]["lifecycle"]["ok"] > 0


@pytest.mark.e2e
def test_startup_scenario_times_both_cases_on_both_histories(tmp_path):
    """``startup``: a row per case and history length, and each case's ratio."""
    done = run_bench(
        tmp_path, "startup", "--events", "3000", "--small", "1000", "--runs", "1"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [
        line.split()
        for line in done.stdout.splitlines()
        if line.startswith(("clean ", "crash "))
    ]
    assert [(row[0], row[1]) for row in rows] == [
        ("clean", "1,000"),
        ("clean", "3,000"),
        ("crash", "1,000"),
        ("crash", "3,000"),
    ]
    assert "clean: 3,000-event start / 1,000-event start = " in done.stdout
    assert "crash: 3,000-event start / 1,000-event start = " in done.stdout


@pytest.mark.e2e
def test_memory_scenario_measures_a_start_with_and_without_a_snapshot(tmp_path):
    """``memory``: the measuring process held every stored result, both ways."""
    done = run_bench(tmp_path, "memory", "--results", "500")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "start replaying every record: 500 jobs held, RSS " in done.stdout
    assert "start from a snapshot: 500 jobs held, RSS " in done.stdout


@pytest.mark.e2e
def test_long_running_scenario_cancels_each_kind_of_work(tmp_path):
    """``long-running``: a cancel latency per kind of work and the call overhead."""
    done = run_bench(tmp_path, "long-running", "--samples", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    for kind in ("async", "worker process", "thread"):
        assert any(
            line.split("p50")[0].strip() == kind and " p99 " in line
            for line in done.stdout.splitlines()
        ), done.stdout
    assert "  overhead " in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("nonsense",),
            "no scenario named 'nonsense': use one of startup, memory, "
            "long-running, cluster-failover",
        ),
        (
            ("--quick", "startup"),
            "the scenario name comes first, and takes its own options: "
            "python -m eventjobs.bench startup [options]",
        ),
        (
            ("startup", "--runs", "0"),
            "argument --runs: takes a whole number of at least 1, not '0'",
        ),
    ],
)
def test_a_bad_command_line_is_one_precise_sentence(tmp_path, args, message):
    done = run_bench(tmp_path, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
