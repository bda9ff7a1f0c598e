"""Shared fixtures. The real third-party datasets live in ../shared/data beside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Generator
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


# --- trust: a required test may not be skipped where the whole suite is meant to run ----------------
REQUIRE_ALL_VARIABLES = ("CI", "SLMGEN_REQUIRE_ALL")


def require_all() -> bool:
    """Whether skips of tests marked `required` fail the run (CI sets CI=1; `make test` sets the other)."""
    return any(os.environ.get(name, "").strip().lower() in {"1", "true", "yes"} for name in REQUIRE_ALL_VARIABLES)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and item.get_closest_marker("required") is not None and require_all():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"a required test was skipped ({reason}); install what it needs (make install-test)"
