"""The optimizer's import graph: no circles, and the rooms import in one direction.

The graph is read from the source with ``ast``: every ``import`` and ``from ... import``,
at module level, inside functions and under ``TYPE_CHECKING`` alike (an import made only for
a type annotation still ties two modules together). ``from pkg import name`` counts as an
import of ``pkg.name`` when that is a module, else of ``pkg``.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

import ecs_optimizer

PACKAGE_DIR = Path(ecs_optimizer.__file__).parent
ROOT = "ecs_optimizer"


def module_name(path: Path, package_dir: Path) -> str:
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(package_dir: Path) -> Dict[str, Set[str]]:
    """Module -> the package's modules it imports (itself excluded)."""
    root = package_dir.name
    paths = {module_name(p, package_dir): p for p in sorted(package_dir.rglob("*.py"))}
    graph: Dict[str, Set[str]] = {}
    for name, path in paths.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        targets: Set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for alias in node.names:
                    submodule = f"{module}.{alias.name}"
                    targets.add(submodule if submodule in paths else module)
        graph[name] = {t for t in targets if t in paths and t != name and t.split(".")[0] == root}
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """One cycle (``a -> b -> ... -> a``) per strongly connected group of modules (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    groups: List[Set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_one_cycle(graph, group) for group in groups]


def _one_cycle(graph: Dict[str, Set[str]], group: Set[str]) -> List[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph[v] & group):
                if w == start:
                    return paths[v] + [start]
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    following.append(w)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover - a group always has one


def room(module: str) -> str:
    """``ecs_optimizer.live.aws`` -> ``live``; a top-level module is its own room."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


GRAPH = import_graph(PACKAGE_DIR)


def test_the_optimizer_has_no_import_cycle():
    found = cycles(GRAPH)
    assert len(GRAPH) > 40, f"expected the optimizer's modules under {PACKAGE_DIR}"
    assert found == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def _write(root: Path, files: Dict[str, str]) -> Path:
    package = root / "pkg"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def test_the_cycle_finder_sees_a_planted_cycle(tmp_path):
    """A circle made of a relative import, a function-level import and a typing-only import is
    found, and a module outside it is not reported."""
    package = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from .sub import b\n",
            "sub/__init__.py": "",
            "sub/b.py": "def f():\n    from ..c import X\n",
            "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\nX = 1\n",
            "d.py": "from . import a\n",
        },
    )
    graph = import_graph(package)
    assert graph["pkg.d"] == {"pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]]
    assert cycles({**graph, "pkg.c": set()}) == []


#: For each room, the rooms it must not import (a lower room never reaches up).
FORBIDDEN = {
    # shared plain types and the platform facts: the floor
    "core": {"live", "planning", "levers", "apply", "pricing", "network", "writeback", "output", "cli"},
    # reading and writing AWS sees only the plain types
    "live": {"planning", "levers", "apply", "pricing", "network", "writeback", "output", "cli"},
    # a lever sees the planner, the engine and restore through levers.ports' Protocols
    "levers": {"apply", "pricing", "network", "output", "cli"},
    "planning": {"apply", "network", "writeback", "output", "cli"},
    "pricing": {"output", "cli"},
    "apply": {"cli"},
    "network": {"cli"},
    "writeback": {"cli"},
    "output": {"cli"},
}


def upward_imports(graph: Dict[str, Set[str]]) -> List[str]:
    """``module imports target`` for every import of a room its room must not import."""
    return sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if room(target) in FORBIDDEN.get(room(module), set())
    )


def test_the_rooms_import_in_one_direction():
    assert upward_imports(GRAPH) == []


def test_levers_reach_the_planner_only_through_protocols():
    """The levers never import the plan, the engine, restore or the write-back's builders."""
    reached = {
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if room(module) == "levers"
        for target in targets
        if target
        in {
            f"{ROOT}.planning.plan",
            f"{ROOT}.planning.revalidation",
            f"{ROOT}.writeback.applied",
            f"{ROOT}.writeback.plan",
            f"{ROOT}.writeback.files",
        }
    }
    assert reached == set()


def test_the_layering_check_sees_a_lower_room_reaching_up(tmp_path):
    """core reaching up into cli from inside a function is found; live reading core is not."""
    files = {f"{room_}/__init__.py": "" for room_ in ("core", "live", "cli")}
    files.update({"__init__.py": "", "cli/main.py": "", "live/reader.py": "from ..core import m\n"})
    files["core/m.py"] = "def f():\n    from ..cli import main\n"
    graph = import_graph(_write(tmp_path, files))
    assert graph["pkg.live.reader"] == {"pkg.core.m"}
    assert upward_imports(graph) == ["pkg.core.m imports pkg.cli.main"]
