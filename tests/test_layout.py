"""Who imports whom: the pipeline's layers, checked on the source.

Every import of a gatekit module, anywhere in a module (inside functions and
``TYPE_CHECKING`` blocks too), must go to the module's own layer or one it
may use, and the imports must form no cycle. The README's contributor
section draws the same picture.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gatekit"

#: each layer, and the layers it may import from (besides its own)
ALLOWED: dict[str, set[str]] = {
    "base": set(),  # errors, limits, names, math, arrays: what everything may use
    "plugin": {"base"},  # the hook contract and the registry
    "gates": {"base", "plugin"},  # the built-in gates, plugins like any other
    "format": {"base"},  # YAML to a circuit definition; knows no gates
    "engine": {"base", "plugin", "format"},  # validate, graph, compile, run
    "io": {"base", "format", "engine"},  # data files in, results out
    "testing": {"base", "plugin", "engine"},  # gradient checks for gate authors
    "views": {"base", "plugin", "format", "engine", "io", "testing"},  # trace, explain, draw, tables
    "api": {"base", "plugin", "engine", "views"},  # the public Circuit: engine + notebook pictures
    "training": {"base", "plugin", "format", "engine", "io", "views"},  # optimizers, schedules, the trainer
    "onnx": {"base", "plugin", "format", "engine", "io"},  # ONNX export and import (the onnx extra)
    "package": {"base", "plugin", "api", "training", "onnx"},  # gatekit/__init__.py: the public names
    "cli": {
        "base",
        "plugin",
        "format",
        "engine",
        "io",
        "testing",
        "views",
        "api",
        "training",
        "onnx",
        "package",
    },
    "main": {"cli"},  # python -m gatekit
}
BASE = {"errors", "limits", "names", "math", "arrays"}


def layer(module: str) -> str:
    """The layer of ``gatekit.X.Y``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "package"
    head = parts[1]
    if head in BASE:
        return "base"
    if head == "__main__":
        return "main"
    if head in ALLOWED:
        return head
    raise AssertionError(f"{module} belongs to no layer: add it to ALLOWED or BASE")


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(path: Path) -> set[str]:
    """The gatekit modules ``path`` imports (``from gatekit import math`` is gatekit.math)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "gatekit"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "gatekit":
            assert node.level == 0, f"{path}: relative import"
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if is_module(sub) else node.module)
    return found


MODULES = {module_name(path): imports_of(path) for path in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_to_the_layers_a_module_may_use(module: str) -> None:
    own = layer(module)
    for target in sorted(MODULES[module]):
        assert layer(target) in ALLOWED[own] | {own}, f"{module} ({own}) imports {target} ({layer(target)})"


def test_the_imports_form_no_cycle() -> None:
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(MODULES)
    graph.add_edges_from((module, target) for module, targets in MODULES.items() for target in targets)
    graph.remove_edges_from([(module, module) for module in MODULES])
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, f"import cycles: {cycles}"


def test_nothing_but_the_entry_point_imports_the_cli() -> None:
    importers = [module for module, targets in MODULES.items() if "gatekit.cli" in targets]
    assert importers == ["gatekit.__main__"]


def test_the_format_knows_no_plugin_and_no_engine() -> None:
    for module, targets in MODULES.items():
        if layer(module) == "format":
            assert not {layer(t) for t in targets} & {"plugin", "engine"}, module


def test_the_layers_are_the_ones_the_readme_draws() -> None:
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Working on gatekit", 1)[1].split("\n## ", 1)[0]
    for name in ALLOWED:
        if name not in ("package", "main", "base"):
            assert f"`{name}" in section, f"the README's picture does not show {name}"
