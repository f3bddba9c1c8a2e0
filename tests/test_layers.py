"""The package's layers point down only, and no module imports itself through others.

Every import counts, wherever it stands: at the top, inside a function, or under ``TYPE_CHECKING``.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "paddlefcn"

# Lowest first; a module may import its own layer and those below it.
LAYERS = [
    ("paddlefcn.errors", "paddlefcn.checks", "paddlefcn.utils", "paddlefcn.version"),
    ("paddlefcn.registry", "paddlefcn.settings", "paddlefcn.config", "paddlefcn.runtime"),
    ("paddlefcn.models",),
    ("paddlefcn.data",),
    ("paddlefcn.engine",),
    ("paddlefcn.deploy",),
    ("paddlefcn.serve", "paddlefcn.benchmark", "paddlefcn.ablation"),
    ("paddlefcn.experiment", "paddlefcn.cli"),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(path: Path) -> set[str]:
    """The paddlefcn modules ``path`` imports (``from a import b`` names ``a.b`` when that is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
    return {name for name in found if name in MODULES}


GRAPH = {name: imports_of(path) - {name} for name, path in MODULES.items()}


def layer_of(module: str) -> int:
    for index, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def test_every_module_has_a_layer():
    for module in MODULES:
        if module != "paddlefcn":  # the package's public API gathers from every layer
            layer_of(module)


@pytest.mark.parametrize("module", sorted(set(MODULES) - {"paddlefcn"}))
def test_imports_point_down(module):
    upward = sorted(m for m in GRAPH[module] if m != "paddlefcn" and layer_of(m) > layer_of(module))
    assert not upward, f"{module} (layer {layer_of(module)}) imports higher layers: {upward}"


def test_utils_and_models_never_import_data():
    for module, imported in GRAPH.items():
        if module.startswith(("paddlefcn.utils", "paddlefcn.models")):
            assert not [m for m in imported if m.startswith("paddlefcn.data")], module


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` as a path that ends where it starts, or ``[]``."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def test_no_import_cycles():
    assert find_cycle(GRAPH) == []


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []
