"""The layers of docs/architecture.md: each imports only the ones before it,
and no module takes part in an import circle.

Every module of every sub-package is read (imports inside functions and
under ``TYPE_CHECKING`` included): its imports of other top-level units must
go to the same or an earlier layer, and the graph of imports between
modules, inside a package as much as across, must have no circle.
"""

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
    # The phases, transitions and ending events of a job: pure, below
    # everything that follows jobs (projection, referee, audit, metrics).
    "lifecycle": 2,
    # A journal record as the core folds it, apart from any journal backend.
    "records": 2,
    # The audit trail's Merkle tree and signed notes (pure, hashes and keys only).
    "merkle": 1,
    "signed_note": 1,
    "tlog_checkpoint": 2,
    "codec": 2,
    "identity": 2,
    "results": 2,
    "headers": 2,
    "settings": 2,
    "timeparse": 2,
    # The retry rules of a job (which attempts run again, and when).
    "retries": 2,
    # Job ids and counts typed on the command line.
    "numbers": 2,
    "tokens": 2,
    "users": 2,
    # --app MODULE:ATTR, and calling a WSGI app with plain data: standard
    # library only, for the worker processes that import the app.
    "app_reference": 2,
    "wsgi_call": 2,
    "authentication": 3,
    # What events a job admits when several nodes share a journal (the
    # PostgreSQL journal judges its appends with it).
    "referee": 2,
    # Recurring schedules: a schedule's document, its firing times (cronsim).
    "recurrence": 2,
    "journal": 3,
    "projection": 4,
    "retention": 4,
    "snapshot_codec": 4,
    # The recovery rules (what becomes of a job nobody runs any more).
    "recovery": 4,
    "actors": 5,
    # Metrics and transition logs: fed by the writer's hooks, read by the runtime.
    "observe": 5,
    "runtime": 6,
    "work": 7,
    "http": 7,
    "asgi": 8,
    # hypercorn's --config module: runs eventjobs.asgi's checks on import.
    "hypercorn_config": 8,
    "cli": 8,
    # `eventjobs serve`: its options (the settings they make) and its run.
    "serve_options": 8,
    "serving": 8,
    # `serve --workers N`: starts N server processes (cli), imports none.
    "server_processes": 8,
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
    "errors",
    "events",
    "codec",
    "identity",
    "results",
    "headers",
    "projection",
    "retention",
    "snapshot_codec",
    "referee",
    "lifecycle",
    "records",
    "recovery",
    "retries",
    "numbers",
    "merkle",
    "signed_note",
    "tlog_checkpoint",
    "recurrence",
}


def module_name(path: Path) -> str:
    """``eventjobs.journal.postgres`` for eventjobs/journal/postgres.py; a
    package's ``__init__`` is the package itself."""
    parts = ["eventjobs", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


MODULES = {module_name(path): path for path in modules()}


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def imported_modules(path: Path) -> set[str]:
    """The eventjobs modules *path* imports, anywhere in it, each resolved to
    the most specific module named: ``from .journal import postgres`` is
    eventjobs.journal.postgres, ``from .journal import Recorded`` is the
    package eventjobs.journal (its ``__init__``)."""
    tree = ast.parse(path.read_text(), str(path))
    name = module_name(path)
    package = name if _is_package(name) else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(
                alias.name
                for alias in node.names
                if alias.name.split(".")[0] == "eventjobs"
            )
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module and node.module.split(".")[0] == "eventjobs":
                target = node.module
            else:
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in MODULES else target)
    return found - {name}


def imported_units(path: Path) -> set[str]:
    """The top-level eventjobs units *path* imports."""
    units = set()
    for name in imported_modules(path):
        parts = name.split(".")
        units.add(parts[1] if len(parts) > 1 else "__init__")
    return units


def import_circles() -> list[frozenset[str]]:
    """The strongly connected groups of the module import graph that hold
    more than one module: each is an import circle (Tarjan's algorithm)."""
    graph = {
        name: sorted(imported_modules(path) & MODULES.keys())
        for name, path in MODULES.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for other in graph[name]:
            if other not in index:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in on_stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == name:
                    break
            if len(group) > 1:
                circles.append(frozenset(group))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return circles


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_earlier_layers(path):
    """No module imports a layer above its own."""
    unit = unit_of(path)
    for imported in imported_units(path) - {unit}:
        assert LAYERS[imported] <= LAYERS[unit], f"{unit} imports {imported}"


def test_imports_name_existing_modules():
    """Every eventjobs module imported exists (else the graph below would
    miss its edges)."""
    missing = {
        (module_name(path), name)
        for path in modules()
        for name in imported_modules(path)
        if name not in MODULES
    }
    assert not missing


def test_no_import_circle():
    """No module imports itself through others: not across units, not
    inside a package, not by a function-level import."""
    circles = set(import_circles())
    assert not circles, "import circles: " + "; ".join(
        " <-> ".join(sorted(circle)) for circle in circles
    )


@pytest.mark.parametrize(
    "path", [p for p in modules() if unit_of(p) in PURE], ids=lambda p: p.name
)
def test_pure_core_imports_no_trio_and_no_io(path):
    """The pure core imports neither trio nor os (tests/test_purity.py checks
    what it loads, transitively)."""
    tree = ast.parse(path.read_text())
    names = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    names |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and not node.level
    }
    assert not names & {"trio", "os", "socket", "quart"}, names


def test_every_unit_has_a_layer():
    """A new module must be placed in the layer table above."""
    assert {unit_of(path) for path in modules()} <= set(LAYERS)
