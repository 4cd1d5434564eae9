"""The scaling benchmark runs end to end on PostgreSQL in quick mode
(nothing about speed: it checks that the file journal and one and two
processes (``--workers 2``) on PostgreSQL ran, that the ratios are printed,
and that the benchmark's schemas are gone afterwards)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.postgres.conftest import sql

ROOT = Path(__file__).parents[2]


def bench_schemas(database_url: str) -> set[str]:
    rows = sql(
        database_url,
        "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, 'bench_')",
    )
    return {str(row[0]) for row in rows}


@pytest.mark.e2e
def test_quick_scaling_prints_each_configuration_and_its_ratio(
    tmp_path, pg_database_url
):
    record = tmp_path / "scaling.json"
    schemas_before = bench_schemas(pg_database_url)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "eventjobs.bench",
            "--scaling",
            "--quick",
            "--processes",
            "1,2",
            "--postgres",
            pg_database_url,
            "--json",
            str(record),
        ],
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
    rows = {
        line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
        for line in done.stdout.splitlines()
        if line.startswith("| ")
    }
    assert rows["configuration"][:4] == [
        "submit 202/s",
        "submit / file x1",
        "lifecycle jobs/s",
        "lifecycle / file x1",
    ]
    assert rows["file x1"][1] == rows["file x1"][3] == "1.00"
    for name in ("PG x1", "PG x2"):
        for cell in (rows[name][1], rows[name][3]):  # the ratios to file x1
            assert float(cell) > 0, done.stdout
    data = json.loads(record.read_text())
    [repetition] = data["repetitions"]
    assert [m["configuration"] for m in repetition] == ["file x1", "PG x1", "PG x2"]
    for measured in repetition:
        for kind in ("submit", "lifecycle"):
            assert measured["loads"][kind]["ok"] > 0, measured
    assert bench_schemas(pg_database_url) <= schemas_before
