"""The load test (bench/load_test.py) in a short form: the real server, 8 clients for 10 s, nothing lost.

No latency is asserted here (figures belong to the bench run); what must hold under any load is that every
request succeeds and every upload ends in a report and a preview holding all the records that were sent.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest

from tests.conftest import REPO_ROOT


def load_bench_module() -> ModuleType:
    path = REPO_ROOT / "bench" / "load_test.py"
    spec = importlib.util.spec_from_file_location("slmgen_load_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
async def test_short_load_run_loses_nothing_and_fails_nothing() -> None:
    load_test = load_bench_module()
    result = await load_test.run_load(clients=8, duration=10.0)
    assert result["errors"] == 0, result["error_samples"]
    assert result["lost_uploads"] == 0
    assert result["uploads"] >= 8  # every client completed at least one round
    assert result["verified"] == result["uploads"] == result["uploads_on_disk"]
    assert result["latency"]["GET /preview"]["count"] == 3 * result["uploads"]
