"""The rules of the house that a reader relies on, checked so they stay true (ARCHITECTURE.md,
STYLE.md): imports run one way (no cycle between the modules of codeintel/, lsp/ and indexer/,
counting imports inside functions too) and no module imports another module's private
(underscore) name; every module opens with a docstring."""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGES = ("codeintel", "lsp", "indexer")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(modules: dict[str, Path]) -> tuple[dict[str, set[str]], list[str]]:
    """Each module's imports of other modules of ours, and every import of a private name."""
    edges: dict[str, set[str]] = {}
    private = []
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                targets = [(alias.name, None) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
                source = ".".join(base + ([node.module] if node.module else []))
                targets = [(source, alias.name) for alias in node.names]
            else:
                continue
            for source, imported in targets:
                whole = f"{source}.{imported}" if imported else source
                target = whole if whole in modules else source
                if target in modules and target != name:
                    edges.setdefault(name, set()).add(target)
                if imported and imported.startswith("_") and not imported.startswith("__") and target != name:
                    private.append(f"{name} imports {source}.{imported}")
    return edges, private


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(edges):
        if node not in index:
            visit(node)
    return found


def test_imports_run_one_way_and_private_names_stay_home():
    edges, private = _imports(_modules())
    assert _cycles(edges) == []
    assert private == []


def test_every_module_says_what_it_owns():
    missing = [str(path.relative_to(ROOT)) for path in _modules().values()
               if path.stat().st_size and ast.get_docstring(ast.parse(path.read_text("utf-8"))) is None]
    assert missing == []
