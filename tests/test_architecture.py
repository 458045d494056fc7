"""The package's import graph: no circles, and no layer imports a higher one.

Every module of ``cimtwin`` is parsed with :mod:`ast` (nothing is imported), and every
``import`` statement is read, at module level and inside functions alike: a lazy import
inside a function is still a dependency, and two lazy imports can still form a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "cimtwin"

# Lower layers never import higher ones; peers in one layer do not import each other (except
# in the first layer, whose modules are leaves). cli is the outermost layer: it is a thin front
# end over the library and renders reports with viz (neither computes anything).
LAYERS = [
    ("errors", "config", "_validate", "_crs", "_geometry"),
    ("kernels",),
    ("grid",),
    ("io",),
    ("model",),
    ("routing",),
    ("coverage", "risk"),
    ("targets",),
    ("viz",),
    ("cli",),
]
RANK = {part: i for i, layer in enumerate(LAYERS) for part in layer}

# Circles known and not yet untied, each exactly as found (none today). Any other circle
# fails, and so does a known one that grows or is gone (then delete it here).
KNOWN_KNOTS: list[frozenset] = []


def _module_name(path: Path) -> str:
    parts = ["cimtwin", *path.relative_to(ROOT).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _known(name: str, modules) -> str:
    """The longest prefix of a dotted name that is a module of the package."""
    parts = name.split(".")
    while parts and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts)


def _imports(module: str, path: Path, modules) -> list[tuple[str, int]]:
    """(imported cimtwin module, line) for every import statement of ``module``."""
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from pkg import sub` imports the submodule when there is one
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                     for alias in node.names]
        else:
            continue
        for name in names:
            if name == "cimtwin" or name.startswith("cimtwin."):
                target = _known(name, modules)
                if target and target != module:
                    out.append((target, node.lineno))
    return out


def _graph():
    modules = _modules()
    edges: dict[str, dict[str, int]] = {m: {} for m in modules}
    for module, path in modules.items():
        for target, line in _imports(module, path, modules):
            edges[module].setdefault(target, line)
    return modules, edges


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "errors"  # the root package only re-exports lazily


def _components(edges) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(set(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return components


def _cycles(edges) -> list[list[str]]:
    """One shortest circle through the first module of each strongly connected component."""
    circles = []
    for comp in _components(edges):
        start = min(comp)
        # breadth-first search inside the component for the shortest way back to start
        prev = {start: None}
        queue = [start]
        found = None
        while queue and found is None:
            v = queue.pop(0)
            for w in sorted(edges[v]):
                if w == start:
                    found = v
                    break
                if w in comp and w not in prev:
                    prev[w] = v
                    queue.append(w)
        path = []
        while found is not None:
            path.append(found)
            found = prev[found]
        circles.append(path[::-1] + [start])
    return circles


def _where(modules, edges, a: str, b: str) -> str:
    return f"{modules[a].relative_to(ROOT.parent).as_posix()}:{edges[a][b]}"


def test_every_module_has_a_layer():
    modules, _ = _graph()
    unknown = sorted({_layer(m) for m in modules} - set(RANK))
    assert not unknown, f"Add these parts of cimtwin to LAYERS in {Path(__file__).name}: {unknown}"


def test_no_import_circles():
    modules, edges = _graph()
    lines = []
    knots = _components(edges)
    for circle, comp in zip(_cycles(edges), knots):
        if comp in KNOWN_KNOTS:
            continue
        steps = [f"{a} ({_where(modules, edges, a, b)})" for a, b in zip(circle, circle[1:])]
        lines.append(" -> ".join(steps + [circle[-1]]))
        if len(comp) > len(circle) - 1:
            lines.append(f"    (the circle is part of a knot of {len(comp)} modules: {', '.join(sorted(comp))})")
    gone = [sorted(k) for k in KNOWN_KNOTS if k not in knots]
    assert not lines, "Import circles (module-level and function-level imports):\n  " + "\n  ".join(lines)
    assert not gone, f"These known circles are untied or changed; update KNOWN_KNOTS: {gone}"


def test_layers_import_downwards():
    modules, edges = _graph()
    bad = []
    for a in sorted(edges):
        for b in sorted(edges[a]):
            la, lb = _layer(a), _layer(b)
            if la == lb or la not in RANK or lb not in RANK:
                continue
            if RANK[lb] >= RANK[la] and not (RANK[la] == 0 and RANK[lb] == 0):
                bad.append(f"{_where(modules, edges, a, b)}: {a} ({la}) imports {b} ({lb})")
    order = " -> ".join(" | ".join(layer) for layer in LAYERS)
    assert not bad, f"Imports against the layer order {order}:\n  " + "\n  ".join(bad)


@pytest.mark.parametrize("source, expected", [
    ("import cimtwin.grid.chunked\n", ["cimtwin.grid.chunked"]),
    ("def f():\n    from cimtwin.grid import chunked\n", ["cimtwin.grid.chunked"]),
    ("from cimtwin.grid import GridSpec\n", ["cimtwin.grid"]),
    ("from . import spec\nfrom .._validate import requires_metres\n", ["cimtwin.grid.spec", "cimtwin._validate"]),
    ("import numpy\nfrom os import path\n", []),
])
def test_imports_are_read_at_every_level(tmp_path, source, expected):
    modules = {"cimtwin": None, "cimtwin.grid": None, "cimtwin.grid.chunked": None, "cimtwin.grid.spec": None,
               "cimtwin._validate": None, "cimtwin.grid.zonal": None}
    path = tmp_path / "zonal.py"
    path.write_text(source, encoding="utf-8")
    assert [t for t, _ in _imports("cimtwin.grid.zonal", path, modules)] == expected


def test_circles_are_found():
    edges = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1, "d": 1}, "d": {}}
    assert _cycles(edges) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b": 1}, "b": {}}) == []


def test_kernels_can_be_cached():
    """numba cannot cache a kernel that sets its own parallel chunk size: callers set it."""
    offenders = [f"{p.relative_to(ROOT.parent)}:{i}" for p in sorted((ROOT / "kernels").rglob("*.py"))
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if "set_parallel_chunksize(" in line and not line.lstrip().startswith("#")]
    assert not offenders, offenders
