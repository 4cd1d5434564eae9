"""The multi-node tests: real server processes on one PostgreSQL schema.

``pg_url`` (a fresh schema, dropped afterwards) comes from tests/conftest.py;
without PostgreSQL it skips loudly. ``count`` runs a test with two and with
three nodes.
"""

from __future__ import annotations

import pytest


@pytest.fixture(params=[2, 3], ids=["two nodes", "three nodes"])
def count(request: pytest.FixtureRequest) -> int:
    number: int = request.param
    return number
