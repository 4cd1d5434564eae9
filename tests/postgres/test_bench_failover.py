"""The cluster-failover scenario runs end to end on PostgreSQL (nothing about
speed: both cancel figures and the recovery are printed, and the scenario's
schema is gone afterwards)."""

from __future__ import annotations

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
def test_cluster_failover_prints_cancels_and_recovery(tmp_path, pg_database_url):
    schemas_before = bench_schemas(pg_database_url)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "eventjobs.bench",
            "cluster-failover",
            "--url",
            pg_database_url,
            "--cancels",
            "2",
            "--kills",
            "1",
            "--node-lease",
            "1",
        ],
        capture_output=True,
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
    lines = done.stdout.splitlines()
    assert [line[:26] for line in lines] == [
        "cancel on the same node   ",
        "cancel on another node    ",
        "recovery after kill -9    ",
    ]
    assert all("n=2)" in line for line in lines[:2]), done.stdout
    assert "n=1)" in lines[2] and "(lease 1 s: " in lines[2]
    assert bench_schemas(pg_database_url) <= schemas_before
