"""Helpers to look inside a rendered notebook: its code cells as Python, and single cells run in isolation."""

from __future__ import annotations

import ast
from typing import Any

from nbformat import NotebookNode


def code_cells(nb: NotebookNode) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def python_of(source: str) -> str:
    """A cell's Python: a leading cell magic (`%%capture name`) is IPython's business, not Python's."""
    if source.startswith("%%"):
        return source.split("\n", 1)[1] if "\n" in source else ""
    return source


def parse_cells(nb: NotebookNode) -> list[ast.Module]:
    return [ast.parse(python_of(source)) for source in code_cells(nb)]


def cell_with(nb: NotebookNode, marker: str) -> str:
    matches = [source for source in code_cells(nb) if marker in source]
    assert len(matches) == 1, f"expected one code cell containing {marker!r}, found {len(matches)}"
    return matches[0]


def run_definitions(source: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Execute only a cell's imports and function definitions (not its top-level work)."""
    tree = ast.parse(python_of(source))
    kept = [node for node in tree.body if isinstance(node, ast.FunctionDef | ast.Import | ast.ImportFrom)]
    exec(compile(ast.Module(body=kept, type_ignores=[]), "<cell>", "exec"), namespace)  # noqa: S102
    return namespace


def calls(nb: NotebookNode) -> list[ast.Call]:
    return [node for tree in parse_cells(nb) for node in ast.walk(tree) if isinstance(node, ast.Call)]


def call_name(call: ast.Call) -> str:
    """`a.b.c(...)` → "a.b.c"; anything that is not a plain dotted name → ""."""
    parts: list[str] = []
    node: ast.expr = call.func
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(node.id)
    return ".".join(reversed(parts))


def keywords(call: ast.Call) -> set[str]:
    return {kw.arg for kw in call.keywords if kw.arg is not None}
