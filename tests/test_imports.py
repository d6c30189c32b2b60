"""The package's shape: every module imports on its own, the import graph has no cycle, and the data layer
does not reach up into the layers built on it (backbones, features, inputs, training, ...)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vgteach"
#: runs the command line on import, by design
NOT_IMPORTABLE = {"vgteach.__main__"}


def module_names() -> dict:
    """``{"vgteach.x.y": path}`` for every module of the package (a package is its ``__init__.py``)."""
    names = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST):
    """Every import statement, at module level or inside a function, except ``if TYPE_CHECKING:`` ones."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(child for child in ast.iter_child_nodes(node) if not _type_checking_only(child))


def module_graph() -> dict:
    """``{module: {vgteach modules it imports}}``, lazy (function-level) imports included: a cycle through
    an import inside a function is still a cycle. ``from pkg import name`` points at ``pkg.name`` when that
    is a module, else at ``pkg``; the implicit import of a parent package is not an edge."""
    modules = module_names()
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            source = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                child = f"{source}.{alias.name}"
                targets.add(child if child in modules else source)
        graph[name] = {target for target in targets if target in modules and target != name}
    return graph


def find_cycle(graph: dict):
    """One cycle ``[a, b, ..., a]`` of ``graph``, or None (depth-first search with three colours)."""
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return path[path.index(target) :] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_graph_reader_sees_what_it_must():
    """The checks below are only as good as the graph: it resolves relative, lazy and package imports, and
    the cycle finder finds a planted cycle."""
    graph = module_graph()
    assert "vgteach.training.report" in graph["vgteach.training.study"]  # from .report import …
    assert "vgteach.training.sampler" in graph["vgteach.diagnose.compute"]  # lazy, two dots up
    assert "vgteach.losses" in graph["vgteach"]  # a package's __init__
    assert "vgteach.efficientnet_lite0" in graph["vgteach.backbones"]  # from . import module
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_the_package():
    cycle = find_cycle(module_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_data_layer_imports_nothing_above_it():
    """vgteach.data reads datasets; it may use vgteach._validation and itself, nothing built on top."""
    allowed = lambda target: target == "vgteach._validation" or target.startswith("vgteach.data")  # noqa: E731
    upward = {
        name: sorted(t for t in targets if not allowed(t))
        for name, targets in module_graph().items()
        if name.startswith("vgteach.data")
    }
    assert not any(upward.values()), {name: targets for name, targets in upward.items() if targets}


_IMPORT_EACH = """
import importlib, os, sys, traceback
import numpy, pandas, torch                  # third-party, shared: only vgteach must be fresh in each child
failed = []
for name in sys.argv[1:]:
    if hasattr(os, "fork"):
        pid = os.fork()
        if pid == 0:                             # a child with no vgteach module imported yet
            try:
                importlib.import_module(name)
            except BaseException:
                traceback.print_exc()
                os._exit(1)
            os._exit(0)
        ok = os.waitpid(pid, 0)[1] == 0
    else:
        ok = subprocess.run([sys.executable, "-c", f"import {name}"]).returncode == 0
    if not ok:
        failed.append(name)
print("FAILED:", " ".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_alone_in_a_fresh_interpreter():
    """Each module first, with nothing of vgteach imported before it: an order-dependent import (a cycle
    that only bites when one side is imported first) fails here."""
    names = [name for name in module_names() if name not in NOT_IMPORTABLE]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    run = subprocess.run(
        [sys.executable, "-c", "import subprocess\n" + _IMPORT_EACH, *names],
        cwd=PACKAGE.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    assert run.stdout.strip() == "FAILED:"
