"""Fixtures for training tests: the packaged models (built or located once) and small real datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from backend.services import packaged_models
from tests.conftest import REPO_ROOT, shared_file
from tests.notebook.canonical import read_canonical

SMOLLM2_CACHE = REPO_ROOT / "tests" / "artifacts" / "smollm2-135m-instruct"


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    return packaged_models.ensure_smollm2(SMOLLM2_CACHE)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def llamafactory_v1_pairs(path: Path) -> list[dict[str, Any]]:
    """LLaMA-Factory's v1 preference records (chosen_messages / rejected_messages with typed content) in the
    analysis store's contract: {"messages": <prompt>, "chosen": [...], "rejected": [...]}."""

    def text(message: dict[str, Any]) -> dict[str, str]:
        parts = message["content"]
        content = parts if isinstance(parts, str) else "".join(p["value"] for p in parts if p["type"] == "text")
        return {"role": message["role"], "content": content}

    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        chosen = [text(m) for m in record["chosen_messages"]]
        rejected = [text(m) for m in record["rejected_messages"]]
        cut = max(i for i, m in enumerate(chosen) if m["role"] == "user") + 1
        assert chosen[:cut] == rejected[:cut], "a v1 pair shares its prompt"
        pairs.append({"messages": chosen[:cut], "chosen": chosen[cut:], "rejected": rejected[cut:]})
    return pairs


@pytest.fixture
def chat_jsonl(tmp_path: Path) -> Path:
    examples = read_canonical(shared_file("llamafactory_pr5606_openai_training_data_blank_lines.jsonl"))
    return write_jsonl(tmp_path / "chat.jsonl", examples)


@pytest.fixture
def dpo_jsonl(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "pairs.jsonl", llamafactory_v1_pairs(shared_file("llamafactory_v1_dpo_demo.jsonl")))
