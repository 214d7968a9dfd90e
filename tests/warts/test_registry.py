"""The record-type table, and the import graph it is built from."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import warts
from warts import registry
from warts.objtypes import OBJ_NAMES

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "warts"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every warts module ``path`` imports, wherever the import stands
    (function bodies and TYPE_CHECKING blocks count: they are cycles too)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found |= {f"{mod}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] == "warts"}


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {m: {i for i in _imports(p) if i in paths and i != m} for m, p in paths.items()}


def test_registry_import_graph_has_no_cycle() -> None:
    graph = _graph()
    # a package imports its own __init__ on the way to any submodule: the
    # edge from a submodule to its package is not an import it makes
    for m in graph:
        graph[m] = {i for i in graph[m] if not m.startswith(i + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle = stack[stack.index(n):] + [n]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


@pytest.mark.parametrize("module", sorted(_graph()))
def test_registry_any_module_imports_first(module: str) -> None:
    # A fresh interpreter importing this module before any other warts
    # module: no "partially initialized module" whatever the order.
    code = f"import {module}, warts; assert warts.registry.BY_TYPE"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_registry_table_has_one_row_per_type() -> None:
    types = [rt.obj_type for rt in registry.RECORD_TYPES]
    classes = [rt.cls for rt in registry.RECORD_TYPES]
    assert sorted(types) == sorted(OBJ_NAMES) and len(set(classes)) == len(classes)
    assert registry.BY_TYPE[registry.OBJ_PING].cls.__name__ == "Ping"


def test_registry_every_type_is_written() -> None:
    assert all(rt.encode is not None for rt in registry.RECORD_TYPES)
    assert warts.to_json(object()) is None
