"""The `required` marker: under CI (CI=1 or SLMGEN_REQUIRE_ALL=1) a skip of such a test fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SAMPLE = '''
import pytest

@pytest.mark.required
def test_needs_a_package():
    pytest.skip("the package is not installed")

def test_optional():
    pytest.skip("not needed here")
'''


def run_sample(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "SLMGEN_REQUIRE_ALL")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-p", "tests.conftest",
         "-c", os.devnull, "--rootdir", str(tmp_path), str(tmp_path / "test_sample.py")],
        cwd=REPO_ROOT, env={**clean, **env}, capture_output=True, text=True, check=False,
    )


@pytest.mark.parametrize("variable", ["CI", "SLMGEN_REQUIRE_ALL"])
def test_a_skipped_required_test_fails_under_ci(tmp_path: Path, variable: str) -> None:
    run = run_sample(tmp_path, **{variable: "1"})
    assert run.returncode == 1, run.stdout
    assert "1 failed, 1 skipped" in run.stdout
    assert "a required test was skipped (the package is not installed)" in run.stdout


def test_outside_ci_a_required_test_may_skip_and_says_why(tmp_path: Path) -> None:
    run = run_sample(tmp_path)
    assert run.returncode == 0, run.stdout
    assert "2 skipped" in run.stdout
    assert "the package is not installed" in run.stdout  # -ra lists every skip with its reason
