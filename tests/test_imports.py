"""The module import graph of ``larc_core`` has no cycle.

Function-level imports hide cycles from Python (they resolve at call time) but not from a
reader: a cycle still means two modules that cannot be understood, tested or moved apart. The
graph is built with ``ast`` from every ``import`` / ``from ... import`` anywhere in a module
(top level, functions, methods, conditional blocks), relative imports resolved:

- ``import a.b.c`` and ``from a.b.c import name`` are edges to ``a.b.c`` (a package's node is
  its ``__init__``);
- ``from a.b import c`` is an edge to ``a.b.c`` when ``c`` is a submodule, else to ``a.b``;
- importing a submodule also runs its parents' ``__init__`` at runtime, but that is not an edge
  of the importing module (otherwise every sibling import inside a package whose ``__init__``
  re-exports its submodules would read as a cycle). The ``__init__`` re-exports themselves are
  edges like any other import, so the whole graph, ``__init__`` modules included, is checked.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "larc_core"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> source file, for every module of the package."""
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """Absolute name of ``from <level dots><target> import ...`` written in ``module``."""
    if level == 0:
        return target or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def module_imports(name: str, path: Path, modules: set[str]) -> set[str]:
    """Modules of the package that ``name`` imports, anywhere in its source."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, is_package, node.level, node.module)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    """Module -> modules of the package it imports."""
    files = module_files()
    modules = set(files)
    return {name: module_imports(name, path, modules) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, ..., a]``, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def all_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one (what to print on failure)."""
    graph = {k: set(v) for k, v in graph.items()}
    cycles = []
    while (cycle := find_cycle(graph)) is not None:
        cycles.append(cycle)
        graph[cycle[-2]].discard(cycle[-1])  # break it and look for the next one
    return cycles


def test_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    # function-level: stages imports the evaluation modules inside its functions
    assert "larc_core.evaluation.pairs" in graph["larc_core.stages"]
    # relative, in a package __init__
    assert "larc_core.world_model.config" in graph["larc_core.world_model"]
    # an import of a package counts as one of its __init__
    assert "larc_core.data" in graph["larc_core.evaluation.pairs"]


def test_find_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycle():
    cycles = all_cycles(import_graph())
    assert not cycles, "import cycles in larc_core:\n" + "\n".join(
        " -> ".join(c) for c in cycles
    )


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The module graph collapsed to the package's top-level packages and modules
    (``larc_core.evaluation.pairs`` -> ``larc_core.evaluation``), self-edges left out."""
    def top(m: str) -> str:
        return ".".join(m.split(".")[:2])

    out: dict[str, set[str]] = {}
    for m, imports in graph.items():
        out.setdefault(top(m), set()).update(top(i) for i in imports if top(i) != top(m))
    return out


def test_package_graph_finds_a_cycle_between_packages():
    graph = {"larc_core.a.x": {"larc_core.b.y"}, "larc_core.b.y": set(),
             "larc_core.b.z": {"larc_core.a"}, "larc_core.a": set()}
    assert find_cycle(package_graph(graph)) in (["larc_core.a", "larc_core.b", "larc_core.a"],
                                                ["larc_core.b", "larc_core.a", "larc_core.b"])
    assert find_cycle(package_graph({"larc_core.a.x": {"larc_core.a.y"},
                                     "larc_core.a.y": {"larc_core.a.x"}})) is None


def test_no_import_cycle_between_packages():
    """No two packages (or top-level modules) import each other, even through modules that
    have no cycle among themselves: every package sits in one layer."""
    cycles = all_cycles(package_graph(import_graph()))
    assert not cycles, "import cycles between larc_core packages:\n" + "\n".join(
        " -> ".join(c) for c in cycles
    )


def _reach(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_no_import_runs_up_the_layers():
    """The training engine sits below the models, the world model below the policies and the
    objectives, the objectives below training, evaluation and reports: ``engine`` reaches only
    ``io`` and ``logs``; nothing in ``world_model`` reaches the objectives, the policy training,
    the policies, evaluation or planning; nothing in ``objectives`` reaches the training driver,
    the settings, the config, evaluation or reports."""
    graph = import_graph()
    engine = {m for m in graph if m.startswith("larc_core.engine")}
    assert engine, "larc_core.engine is gone"
    for m in engine:
        below = {r for r in _reach(graph, m) if not r.startswith("larc_core.engine")}
        assert below <= {"larc_core.io", "larc_core.logs"}, (m, below)
    above = ("larc_core.training", "larc_core.objectives", "larc_core.policies",
             "larc_core.evaluation", "larc_core.planning", "larc_core.stages")
    for m in (m for m in graph if m.startswith("larc_core.world_model")):
        up = sorted(r for r in _reach(graph, m) if r.startswith(above))
        assert not up, f"{m} imports upward: {up}"
    # The objectives sit below the training driver, the evaluation and the reports.
    above = ("larc_core.training", "larc_core.evaluation", "larc_core.reporting",
             "larc_core.stages", "larc_core.settings", "larc_core.config", "larc_core.cli")
    for m in (m for m in graph if m.startswith("larc_core.objectives")):
        up = sorted(r for r in _reach(graph, m) if r.startswith(above))
        assert not up, f"{m} imports upward: {up}"
