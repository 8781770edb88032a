"""The trio layer's imports run one way: no import cycle among ``python/zmtrio``'s modules,
type-only (``TYPE_CHECKING``) imports included, and every import goes to the same or a lower
layer of the README's layer picture (so the picture is the import graph)."""

from __future__ import annotations

import ast
import fnmatch
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "python" / "zmtrio"
README = PACKAGE.parent.parent / "README.md"


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the package by dotted name, with its file and whether it is a
    package; the Rust extension counts through its stub."""
    modules: dict[str, tuple[Path, bool]] = {}
    for path in [*PACKAGE.rglob("*.py"), PACKAGE / "_core.pyi"]:
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        modules[".".join(parts)] = (path, is_package)
    return modules


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports, by any import statement anywhere in it
    (inside ``if TYPE_CHECKING:`` and functions too)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        here = name.split(".") if is_package else name.split(".")[:-1]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[: len(here) - node.level + 1]
                    target = ".".join(base + (node.module.split(".") if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    submodule = f"{target}.{alias.name}"
                    edges.add(submodule if submodule in modules else target)
        graph[name] = {edge for edge in edges if edge in modules and edge != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def readme_layers() -> list[list[str]]:
    """The module patterns of each layer of the README's picture, top layer first."""
    text = README.read_text()
    match = re.search(r"<!-- layers -->\n```text\n(.*?)```", text, re.DOTALL)
    assert match, "README.md lost its layer picture"
    layers: list[list[str]] = []
    for line in match.group(1).splitlines():
        if "│" not in line:
            continue
        _, _, modules = line.partition("│")
        patterns = [
            "zmtrio" + ("" if word == "__init__" else "." + word) for word in modules.split()
        ]
        if line.startswith(" "):  # a continuation of the layer above
            layers[-1] += patterns
        else:
            layers.append(patterns)
    return layers


def layer_of(module: str, layers: list[list[str]]) -> int:
    for depth, patterns in enumerate(layers):
        if any(fnmatch.fnmatchcase(module, pattern) for pattern in patterns):
            return depth
    raise AssertionError(f"{module} is in no layer of the README's picture")


def test_the_graph_sees_type_only_imports() -> None:
    """The graph is built from source, so an import under TYPE_CHECKING counts."""
    graph = import_graph()
    assert "zmtrio._peer" in graph["zmtrio._seam"]
    assert "zmtrio._core" in graph["zmtrio._pipe"]
    probe = ast.parse("if TYPE_CHECKING:\n    from ._socket import Socket\n")
    assert any(isinstance(node, ast.ImportFrom) for node in ast.walk(probe))


def test_cycle_detection_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_every_module_is_in_one_layer_of_the_readme_picture() -> None:
    layers = readme_layers()
    for module in import_graph():
        depths = [
            depth
            for depth, patterns in enumerate(layers)
            if any(fnmatch.fnmatchcase(module, pattern) for pattern in patterns)
        ]
        assert len(depths) == 1, (module, depths)


@pytest.mark.parametrize("module", sorted(import_graph()))
def test_imports_go_down_the_readme_picture(module: str) -> None:
    layers = readme_layers()
    depth = layer_of(module, layers)
    upward = [imported for imported in import_graph()[module] if layer_of(imported, layers) < depth]
    assert upward == [], f"{module} imports from a layer above it"
