"""The notebook runs: rendered for a real fixture, executed end to end on CPU with the real SmolLM2-135M."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.conftest import shared_file
from tests.notebook.smoke import run_smoke


@pytest.mark.notebook
@pytest.mark.slow
def test_the_notebook_trains_replies_and_saves_the_adapter_on_cpu(tmp_path: Path) -> None:
    result = run_smoke(
        shared_file("llamafactory_pr5606_openai_training_data_blank_lines.jsonl"), steps=3, workdir=tmp_path
    )
    summary = result.summary
    assert summary["path"] == "transformers+peft" and summary["device"] == "cpu"
    assert summary["steps"] == 3
    assert math.isfinite(summary["final_train_loss"]) and summary["final_train_loss"] > 0
    assert isinstance(summary["reply_after_training"], str) and summary["reply_after_training"].strip()
    adapter = tmp_path / summary["saved"]["lora_adapter"]
    assert (adapter / "adapter_config.json").exists() and (adapter / "adapter_model.safetensors").exists()
    errors = [
        o for c in result.executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert errors == []
    plots = [
        o for c in result.executed.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(plots) == 1, "the loss plot is drawn"
