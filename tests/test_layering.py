"""The dependency direction holds: core imports nothing of the web, the database or the settings;
services never import the API layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parents[1] / "backend"

FORBIDDEN = {
    "core": ("fastapi", "starlette", "sqlalchemy", "uvicorn", "httpx", "backend.api", "backend.db",
             "backend.services", "backend.auth", "backend.settings", "backend.cli"),
    "services": ("fastapi", "starlette", "backend.api", "backend.cli"),
    "db": ("fastapi", "starlette", "backend.api", "backend.services", "backend.cli"),
}


def imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_its_layer_may(package: str) -> None:
    files = sorted((BACKEND / package).rglob("*.py"))
    assert files, f"backend/{package} has no modules"
    offending = [
        f"{path.relative_to(BACKEND.parent)} imports {name}"
        for path in files
        for name in imported_modules(path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[package])
    ]
    assert offending == []


def test_the_check_would_catch_a_violation(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from sqlalchemy import select\nimport fastapi.routing\n")
    assert imported_modules(module) == ["sqlalchemy", "fastapi.routing"]
