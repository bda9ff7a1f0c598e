"""The build files agree with the code they serve."""

from __future__ import annotations

import re

from backend.core.notebook.versions import UNSLOTH_VERSION
from tests.conftest import REPO_ROOT


def makefile_variable(name: str) -> str:
    text = (REPO_ROOT / "Makefile").read_text()
    match = re.search(rf"^{name}\s*:=\s*(.+)$", text, re.MULTILINE)
    assert match, f"{name} is not set in the Makefile"
    return match.group(1).strip()


def test_the_makefile_downloads_the_unsloth_release_the_notebooks_pin() -> None:
    assert makefile_variable("UNSLOTH_VERSION") == UNSLOTH_VERSION


def test_ci_runs_make_test() -> None:
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()
