"""The client starts without the server: ``eventjobs job ...`` imports
neither Quart nor trio nor hypercorn (they cost most of its start-up time),
while ``from eventjobs import ...`` still gives every public name."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import eventjobs
from tests.client.helpers import client_env
from tests.support import ServerProcess

pytestmark = pytest.mark.e2e

SERVER_SIDE = ("quart", "quart_trio", "trio", "hypercorn")

#: The console script's entry, run as ``python -m eventjobs`` runs it; then
#: which of the server's packages were imported, and the exit status.
PROGRAM = f"""
import json, runpy, sys
sys.argv = ["eventjobs", *json.loads(sys.argv[1])]
try:
    runpy.run_module("eventjobs", run_name="__main__", alter_sys=True)
except SystemExit as end:
    status = end.code
print(json.dumps({{"status": status, "imported": [m for m in {SERVER_SIDE!r} if m in sys.modules]}}))
"""


def run_entry(*args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, json.dumps(args)],
        capture_output=True,
        check=False,
        text=True,
        env=client_env(),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_job_status_imports_none_of_the_server(server: ServerProcess):
    """A real status request (job 1 does not exist: exit 3) loads no server package."""
    assert run_entry("job", "--url", server.url, "status", "1") == {
        "status": 3,
        "imported": [],
    }


def test_the_client_help_imports_none_of_the_server():
    assert run_entry("job", "--help") == {"status": 0, "imported": []}


def test_schedule_list_imports_none_of_the_server(server: ServerProcess):
    assert run_entry("schedule", "--url", server.url, "list") == {
        "status": 0,
        "imported": [],
    }


def test_the_other_commands_still_parse():
    """The other commands load what they need when they run."""
    assert run_entry("journal", "--help")["status"] == 0
    assert run_entry("--version")["status"] == 0


def test_every_public_name_imports():
    names = {}
    # The import statement itself, as a user writes it.
    exec(f"from eventjobs import {', '.join(eventjobs.__all__)}", names)  # noqa: S102
    from eventjobs import http, settings, work

    homes = {
        "Settings": settings,
        "report_progress": work,
        "run_in_process": work,
        "run_in_thread": work,
    }
    for name in eventjobs.__all__:
        if name != "__version__":
            assert names[name] is getattr(homes.get(name, http), name), name
    assert set(eventjobs.__all__) <= set(dir(eventjobs))


def test_star_import_and_an_unknown_name():
    names: dict = {}
    exec("from eventjobs import *", names)  # noqa: S102 (a star import needs module scope)
    assert set(eventjobs.__all__) <= set(names)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        eventjobs.nope  # noqa: B018
