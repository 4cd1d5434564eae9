"""The layers of docs/architecture.md: each imports only the ones before it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "eventjobs"

#: Top-level module or subpackage of eventjobs -> its layer.
LAYERS = {
    "_version": 0,
    "errors": 0,
    "events": 1,
    "codec": 2,
    "identity": 2,
    "results": 2,
    "headers": 2,
    "settings": 2,
    "timeparse": 2,
    # Job ids and counts typed on the command line.
    "numbers": 2,
    "tokens": 2,
    "users": 2,
    "authentication": 3,
    # What events a job admits when several nodes share a journal (the
    # PostgreSQL journal judges its appends with it).
    "referee": 2,
    "journal": 3,
    "projection": 4,
    "retention": 4,
    "snapshot": 4,
    "actors": 5,
    # Metrics and transition logs: fed by the writer's hooks, read by the runtime.
    "observe": 5,
    "runtime": 6,
    "work": 7,
    "http": 7,
    "asgi": 8,
    "cli": 8,
    # `serve --workers N`: starts N server processes (cli), imports none.
    "workers": 8,
    "user_commands": 8,
    "audit": 8,
    # The command-line client: HTTP only, none of the server side.
    "client": 8,
    "__main__": 8,
    "__init__": 8,
    # The benchmark harness drives everything below it; nothing imports it.
    "bench": 9,
}

# The pure core does no I/O and knows nothing of trio.
PURE = {
    "errors", "events", "codec", "identity", "results", "headers", "projection",
    "retention", "snapshot", "referee", "numbers",
}


def unit_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def imported_units(path: Path) -> set[str]:
    """The eventjobs units *path* imports, resolved from relative imports."""
    tree = ast.parse(path.read_text())
    package_parts = list(path.relative_to(PACKAGE).parent.parts)
    units = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
                if target:
                    units.add(target[0])
                else:  # "from . import x" at the top level
                    units.update(alias.name for alias in node.names)
            elif node.module and node.module.split(".")[0] == "eventjobs":
                parts = node.module.split(".")
                units.add(parts[1] if len(parts) > 1 else "__init__")
    return units


def modules():
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_earlier_layers(path):
    """No module imports a layer above its own."""
    unit = unit_of(path)
    for imported in imported_units(path) - {unit}:
        assert LAYERS[imported] <= LAYERS[unit], f"{unit} imports {imported}"


@pytest.mark.parametrize(
    "path", [p for p in modules() if unit_of(p) in PURE], ids=lambda p: p.name
)
def test_pure_core_imports_no_trio_and_no_io(path):
    """The pure core imports neither trio nor os."""
    tree = ast.parse(path.read_text())
    names = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    assert not names & {"trio", "os", "socket", "quart"}, names


def test_every_unit_has_a_layer():
    """A new module must be placed in the layer table above."""
    assert {unit_of(path) for path in modules()} <= set(LAYERS)
