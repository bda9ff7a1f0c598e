"""`slmgen train`: the task body in this process, a progress bar with the loss, outputs in the folder named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.cli import main
from tests.training.conftest import write_jsonl
from tests.training.test_training_task import REVIEWS


@pytest.mark.slow
def test_train_writes_the_model_and_results_to_the_folder_and_prints_the_loss(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_jsonl(tmp_path / "reviews.jsonl", [{"text": t, "label": label} for t, label in REVIEWS])
    out = tmp_path / "out"
    code = main(["train", str(data), "--task", "text_classification", "--max-steps", "2", "--batch-size", "4",
                 "--eval-share", "0.25", "-o", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "loss" in printed and "trained 2 steps on cpu" in printed
    assert f"model: {out / 'model'}" in printed and f"results: {out / 'results.json'}" in printed
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["status"] == "done" and len(results["metrics_history"]) >= 2
    assert (out / "model" / "config.json").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.jsonl"], "does not exist"),
        (["DATA", "--task", "dpo"], "cannot be trained with DPO"),
        (["DATA", "--lora-rank", "0"], "config.lora_rank"),
    ],
)
def test_mistakes_are_one_sentence_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    data = write_jsonl(tmp_path / "reviews.jsonl", [{"text": t, "label": label} for t, label in REVIEWS])
    argv = [str(data) if a == "DATA" else str(tmp_path / a) if a.endswith(".jsonl") else a for a in argv]
    assert main(["train", *argv, "-o", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
