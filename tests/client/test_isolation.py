"""The client speaks HTTP only: it imports no part of the server."""

from __future__ import annotations

import ast
import sys

import pytest

from tests.test_layers import PACKAGE, imported_units

CLIENT = PACKAGE / "client"

#: Pure helpers the client shares with the server: header names and values,
#: the command line's time format, the checks of numbers it is given.
ALLOWED = {"client", "headers", "timeparse", "numbers"}

THIRD_PARTY_ALLOWED = {"attrs"}


@pytest.mark.parametrize(
    "path", sorted(CLIENT.glob("*.py")), ids=lambda path: path.name
)
def test_the_client_imports_no_server_module(path):
    assert imported_units(path) <= ALLOWED


@pytest.mark.parametrize(
    "path", sorted(CLIENT.glob("*.py")), ids=lambda path: path.name
)
def test_the_client_needs_no_http_library(path):
    """Standard library (and attrs, already a dependency) only: no quart,
    trio, httpx or hypercorn in a command-line client."""
    tree = ast.parse(path.read_text())
    names = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and not node.level
    }
    assert {
        name for name in names - {"__future__"} if name not in sys.stdlib_module_names
    } <= (THIRD_PARTY_ALLOWED)
