"""What a release ships: the files the server reads from its package at run
time (the OpenAPI document, the dashboard) are in the source distribution,
which is what a wheel and an installation are built from."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from eventjobs.http.ui import FILES

ROOT = Path(__file__).parents[1]


def test_the_sdist_ships_the_openapi_document_and_the_dashboard(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "eventjobs",
        source / "eventjobs",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    # setuptools' own build backend, as pip would call it (no network needed).
    built = subprocess.run(
        [
            sys.executable,
            "-c",
            "from setuptools import build_meta; print(build_meta.build_sdist('dist'))",
        ],
        cwd=source,
        capture_output=True,
        text=True,
        check=True,
    )
    archive = source / "dist" / built.stdout.strip().splitlines()[-1]
    with tarfile.open(archive) as sdist:
        shipped = {
            name.split("/", 1)[1]: name for name in sdist.getnames() if "/" in name
        }
        expected = [
            "eventjobs/openapi.yaml",
            *(f"eventjobs/ui/static/{name}" for name in FILES),
        ]
        for path in expected:
            assert path in shipped, f"{path} is not in {archive.name}"
            member = sdist.extractfile(shipped[path])
            assert member is not None and member.read() == (ROOT / path).read_bytes(), (
                path
            )
