"""Shared fixtures. The real third-party datasets live in ../shared/data beside the repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def shared_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.fail(f"fixture dataset {name} is missing from {SHARED_DATA}; shared/ must sit beside the repo")
    return path


@pytest.fixture
def shared_data() -> Path:
    return SHARED_DATA


def generated_chat_file(directory: Path, examples: int, seed: int = 1234) -> Path:
    """A chat JSONL made by the benchmark generator in shared/bench (about 800 bytes per example)."""
    out = directory / f"chat_{examples}_{seed}.jsonl"
    if not out.exists():
        generator = REPO_ROOT.parent / "shared" / "bench" / "gen_chat_jsonl.py"
        subprocess.run([sys.executable, str(generator), str(examples), str(out), str(seed)], check=True)
    return out
