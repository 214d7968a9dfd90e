"""The house's shape, read from the code: import cycles and I/O where it must not be.

DESIGN.md: ``protocol`` and ``warts`` import nothing of ours and no trio;
inside ``scamperd`` a method never imports trio or opens a socket.  And no
module may import itself back through others, ``TYPE_CHECKING`` imports and
imports inside functions included: a cycle is a module that cannot be
loaded first, and a seam that is not one.  (A package's ``__init__`` runs
when a submodule is imported; that implicit edge is not counted, as Python
handles a parent mid-import.)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("protocol", "warts", "scamperd")
NO_IO = ("protocol", "warts", "scamperd.methods")


def _modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _imports(name: str) -> Iterator[tuple[str, ast.AST]]:
    """Every module ``name`` imports (absolute names), wherever the import is."""
    tree = ast.parse(MODULES[name].read_text(), str(MODULES[name]))
    base = name if _is_package(name) else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                up = parts[:len(parts) - node.level + 1]
                target = ".".join(up + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # ``from pkg import sub`` imports the submodule; the package
            # itself only for names that are not submodules
            subs = [f"{target}.{a.name}" for a in node.names]
            if not all(sub in MODULES for sub in subs):
                yield target, node
            for sub in subs:
                if sub in MODULES:
                    yield sub, node


def _graph() -> dict[str, set[str]]:
    return {m: {t for t, _ in _imports(m) if t in MODULES and t != m} for m in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_imports_graph_covers_the_packages() -> None:
    assert {"protocol", "warts", "scamperd", "scamperd.engine.scheduler",
            "scamperd.methods.trace.task"} <= set(MODULES)
    assert "scamperd.methods.trace.state" in _graph()["scamperd.methods.trace.task"]


def test_imports_cycles_are_found() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_no_cycle(package: str) -> None:
    cycles = [c for c in _cycles(_graph()) if any(m.split(".")[0] == package for m in c)]
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def _in(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("prefix", NO_IO)
def test_imports_no_trio_or_socket_objects_in_pure_code(prefix: str) -> None:
    """No trio import, no ``socket.socket`` (an I/O object) in protocol/,
    warts/ or scamperd/methods/."""
    bad = []
    for name in MODULES:
        if not _in(name, prefix):
            continue
        for target, node in _imports(name):
            if _in(target, "trio"):
                bad.append(f"{name}: imports {target} (line {node.lineno})")
        tree = ast.parse(MODULES[name].read_text())
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr == "socket"
                    and isinstance(node.value, ast.Name) and node.value.id == "socket"):
                bad.append(f"{name}: uses socket.socket (line {node.lineno})")
            if isinstance(node, ast.ImportFrom) and node.module == "socket" and \
                    any(a.name == "socket" for a in node.names):
                bad.append(f"{name}: imports socket.socket (line {node.lineno})")
    assert not bad, "\n".join(bad)
