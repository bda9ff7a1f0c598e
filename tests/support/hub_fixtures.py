"""Fixtures: the stand-in Hub on a free port, and a reader that checks repos the way a user would
(`datasets.load_dataset`). Test packages that need them import them into their conftest.

`read_back` runs `load_dataset(repo)` and `DatasetCard.load(repo)` in a fresh Python process pointed at the
stand-in through HF_ENDPOINT (the variable both libraries read when imported), with its own HF_HOME, so
nothing cached by the test process can answer for the Hub.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import huggingface_hub.constants
import pytest

from backend.services.tasks.context import LocalContext
from tests.support.hub_standin import HubStandIn

TOKENS = {"alice-write": ("alice", "write"), "alice-read": ("alice", "read"), "bob-write": ("bob", "write")}
READ_BACK = """
import json, sys
import datasets
from huggingface_hub import DatasetCard
repo, token = sys.argv[1], sys.argv[2] or None
try:
    loaded = datasets.load_dataset(repo, token=token)
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
    raise SystemExit(0)
card = DatasetCard.load(repo, repo_type="dataset", token=token)
print(json.dumps({"splits": {name: split.to_list() for name, split in loaded.items()},
                  "card": card.data.to_dict(), "text": card.text}, default=str))
"""


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubStandIn]:
    # The stand-in speaks the classic LFS upload protocol, not Xet: tell this process's client so.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)
    standin = HubStandIn(tokens=dict(TOKENS)).start()
    yield standin
    standin.stop()


@pytest.fixture
def read_back(hub: HubStandIn, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    def read(repo: str, token: str | None = "alice-write") -> dict[str, Any]:
        env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "reader-hf-home"),
               "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
        done = subprocess.run([sys.executable, "-c", READ_BACK, repo, token or ""], env=env, capture_output=True,
                              text=True, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    return read


@pytest.fixture
def ctx(tmp_path: Path) -> LocalContext:
    return LocalContext(tmp_path / "task", secrets={"hf_token": "alice-write"})
