"""The command run from a folder that holds a clone named ``eventjobs``.

An editable install finds the package through an import hook that comes
after the path entries, and ``python -m`` puts the current folder first on
the path: the clone's folder there (its top-level ``journal/`` included)
would be taken for a namespace package ``eventjobs``. These tests install
the package under test that way, in a user site of their own, and run the
command from a folder holding such a clone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import eventjobs
from eventjobs._version import __version__
from tests.cluster.nodes import LEASE
from tests.support import server_process

pytestmark = pytest.mark.e2e

#: The folder that holds the package under test.
TREE = Path(eventjobs.__file__).resolve().parents[1]

#: A user site's hook that finds ``eventjobs`` in TREE as setuptools'
#: editable installs do: after the path entries, any module of the package
#: by its name.
HOOK = """\
import importlib.machinery
import importlib.util
import os
import sys

TREE = {tree!r}


class TreeFinder:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "eventjobs" and not name.startswith("eventjobs."):
            return None
        base = os.path.join(TREE, *name.split("."))
        init = os.path.join(base, "__init__.py")
        if os.path.isfile(init):
            return importlib.util.spec_from_file_location(
                name, init, submodule_search_locations=[base]
            )
        if os.path.isfile(base + ".py"):
            return importlib.util.spec_from_file_location(name, base + ".py")
        return None


sys.meta_path.insert(sys.meta_path.index(importlib.machinery.PathFinder) + 1, TreeFinder)
"""


def installed_by_a_hook(tmp_path: Path) -> dict[str, str]:
    """What to change in the environment for a Python that finds the
    package under test only through the hook (PYTHONPATH, which would find
    it first, emptied)."""
    user_base = tmp_path / "user"
    site = Path(
        subprocess.run(
            [sys.executable, "-c", "import site; print(site.getusersitepackages())"],
            env={**os.environ, "PYTHONUSERBASE": str(user_base)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    site.mkdir(parents=True)
    (site / "eventjobs_tree_hook.py").write_text(HOOK.format(tree=str(TREE)))
    (site / "eventjobs-tree-hook.pth").write_text("import eventjobs_tree_hook\n")
    # (Python takes an empty variable for an unset one.)
    return {"PYTHONPATH": "", "PYTHONNOUSERSITE": "", "PYTHONUSERBASE": str(user_base)}


def folder_holding_a_clone(tmp_path: Path) -> Path:
    here = tmp_path / "projects"
    (here / "eventjobs" / "journal").mkdir(parents=True)
    (here / "eventjobs" / "journal" / "README.md").write_text("not the package\n")
    return here


def test_python_m_eventjobs_beside_a_clone_runs_the_package(tmp_path: Path) -> None:
    env = installed_by_a_hook(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "eventjobs", "--version"],
        cwd=folder_holding_a_clone(tmp_path),
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert __version__ in result.stdout
    assert "Traceback" not in result.stderr


def test_serve_workers_beside_a_clone_serves(tmp_path: Path, pg_url: str) -> None:
    """``serve --workers 2`` from there: both workers serve jobs."""
    env = installed_by_a_hook(tmp_path)
    with server_process(
        "--journal",
        pg_url,
        "--workers",
        "2",
        "--node-lease",
        str(LEASE),
        "--shutdown-timeout",
        "0",
        env=env,
        cwd=folder_holding_a_clone(tmp_path),
    ) as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            accepted = client.put(
                "/_admin/echo", content=b"hi", headers={"x-arango-async": "store"}
            )
            assert accepted.status_code == 202, accepted.text
        assert server.stop() == 0, server.text
    assert "Traceback" not in server.text, server.text
    assert "a worker process exited" not in server.text
