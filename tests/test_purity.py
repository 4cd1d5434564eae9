"""The pure core stays pure transitively: importing a core module, in a
fresh interpreter, loads no event loop, no I/O module and no backend.

tests/test_layers.py reads each module's own import statements; this test
also catches what they pull in (a value imported from a package whose
``__init__`` loads a backend, say).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.test_layers import PURE

#: Top-level modules the core must not load, and eventjobs packages (with
#: every module in them) that are I/O or actors.
FORBIDDEN_TOP = ("trio", "fcntl", "socket", "psycopg", "quart", "hypercorn")
FORBIDDEN_PACKAGES = ("eventjobs.journal", "eventjobs.actors")

#: One interpreter per module: what a module loads is then its own doing,
#: not an earlier import's. The script prints the forbidden modules loaded.
SCRIPT = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
top, packages = json.loads(sys.argv[2])
print(json.dumps(sorted(
    name for name in sys.modules
    if name.split(".")[0] in top
    or any(name == p or name.startswith(p + ".") for p in packages)
)))
"""


@pytest.mark.parametrize("unit", sorted(PURE))
def test_core_module_loads_no_io_and_no_backend(unit):
    """Importing ``eventjobs.<unit>`` alone loads none of FORBIDDEN_*."""
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            f"eventjobs.{unit}",
            json.dumps([FORBIDDEN_TOP, FORBIDDEN_PACKAGES]),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    loaded = json.loads(completed.stdout)
    assert loaded == [], f"import eventjobs.{unit} loads {', '.join(loaded)}"
