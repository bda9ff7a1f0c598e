"""Shared fixtures. The real third-party datasets live in ../shared/data beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def shared_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.fail(f"fixture dataset {name} is missing from {SHARED_DATA}; the shared/ folder must sit beside the repo")
    return path


@pytest.fixture
def shared_data() -> Path:
    return SHARED_DATA
