"""The training task body, run in-process with LocalContext on real packaged models (CPU, a few steps)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from backend.core.errors import InvalidInputError
from backend.services.tasks.context import LocalContext, TaskCancelled
from backend.services.training import run_training
from tests.conftest import shared_file
from tests.notebook.canonical import read_canonical
from tests.training.conftest import write_jsonl

QUICK = {"compare_prompts": 1, "max_new_tokens": 8}  # one held-out prompt, a short answer: plumbing, not wisdom
FAST = {"max_seq_length": 128, "batch_size": 2, "grad_accum": 1, "lora_rank": 8, "lora_alpha": 8, "warmup_steps": 0}


def chat_payload(dataset: Path, model_dir: Path, **extra: Any) -> dict[str, Any]:
    return {
        "dataset": str(dataset),
        "base_model": str(model_dir),
        "catalogue_model": "smollm2-135m-instruct",
        "task": "chat_sft",
        "config": FAST,
        "eval_split": 0.2,
        "seed": 7,
        "limits": {"max_steps": 3, "max_examples": 12, **QUICK},
        **extra,
    }


def read_results(ctx: LocalContext) -> dict[str, Any]:
    assert ctx.artifacts["results"] == {"path": "results.json"}
    results: dict[str, Any] = json.loads((ctx.work_dir / "results.json").read_text(encoding="utf-8"))
    return results


@pytest.mark.slow
def test_chat_sft_reports_every_step_saves_an_adapter_that_peft_loads_and_generates(
    tmp_path: Path, smollm2_dir: Path, chat_jsonl: Path
) -> None:
    ctx = LocalContext(tmp_path / "run")
    result = run_training(ctx, chat_payload(chat_jsonl, smollm2_dir, merge=True))
    steps = [point for point in ctx.metrics_history if "loss" in point]
    assert [point["step"] for point in steps] == [1, 2, 3]
    assert all(math.isfinite(point["loss"]) and point["loss"] > 0 for point in steps)
    assert all(point["tokens_per_second"] > 0 and point["learning_rate"] >= 0 for point in steps)
    assert all("eta_seconds" in point and "epoch" in point for point in steps)
    assert any("eval_loss" in point for point in ctx.metrics_history)
    assert (ctx.done, ctx.total) == (3, 3)
    assert result["steps"] == 3 and result["outputs"] == {"adapter": "adapter", "merged": "merged"}
    assert result["device"] == "cpu" and math.isfinite(result["final_eval"]["eval_loss"])
    results = read_results(ctx)
    assert results["status"] == "done" and results["task"] == "chat_sft"
    assert results["config"]["max_steps"] == 3 and results["config"]["seed"] == 7
    assert results["data"]["train_examples"] + results["data"]["eval_examples"] == 10
    assert 0 < results["data"]["trained_tokens"] < results["data"]["tokens"]
    assert results["metrics_history"] == ctx.metrics_history
    sample = results["generation"]["samples"][0]
    assert sample["prompt"][-1]["role"] == "user" and sample["reference"] and isinstance(sample["after"], str)
    assert ctx.artifacts["adapter"] == {"path": "adapter", "kind": "lora_adapter"}

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype=torch.float32)
    tuned = PeftModel.from_pretrained(base, ctx.work_dir / "adapter")
    tokenizer = AutoTokenizer.from_pretrained(ctx.work_dir / "adapter")
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Say hello."}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    output = tuned.generate(**inputs, max_new_tokens=8, do_sample=False)
    assert output.shape[1] > inputs["input_ids"].shape[1]
    assert (ctx.work_dir / "merged" / "config.json").exists()


@pytest.mark.slow
def test_a_stop_ends_the_run_cancelled_with_a_checkpoint_after_the_current_step(
    tmp_path: Path, smollm2_dir: Path, chat_jsonl: Path
) -> None:
    def stop_after_first_step(kind: str, data: dict[str, Any]) -> None:
        if kind == "metrics" and data["values"].get("step") == 1 and "loss" in data["values"]:
            ctx.cancel()  # what the engine does when a user presses Stop

    ctx = LocalContext(tmp_path / "run", on_event=stop_after_first_step)
    payload = chat_payload(
        chat_jsonl, smollm2_dir, limits={"max_steps": 50, "max_examples": 12, **QUICK}, eval_split=0.0
    )
    with pytest.raises(TaskCancelled):
        run_training(ctx, payload)
    checkpoint = ctx.artifacts["checkpoint"]
    assert checkpoint["step"] in (1, 2)
    saved = ctx.work_dir / checkpoint["path"]
    assert (saved / "adapter_model.safetensors").exists() and (saved / "trainer_state.json").exists()
    assert read_results(ctx)["status"] == "cancelled"
    assert "adapter" not in ctx.artifacts


@pytest.mark.slow
def test_dpo_trains_a_few_steps_on_preference_pairs(tmp_path: Path, smollm2_dir: Path, dpo_jsonl: Path) -> None:
    ctx = LocalContext(tmp_path / "run")
    payload = chat_payload(dpo_jsonl, smollm2_dir, task="dpo", limits={"max_steps": 2, "compare_prompts": 0})
    result = run_training(ctx, payload)
    steps = [point for point in ctx.metrics_history if "loss" in point]
    assert [point["step"] for point in steps] == [1, 2] and all(math.isfinite(p["loss"]) for p in steps)
    assert result["task"] == "dpo" and (ctx.work_dir / "adapter" / "adapter_config.json").exists()
    results = read_results(ctx)
    assert results["data"]["kinds"] == {"paired": 10}
    assert results["data"]["train_examples"] + results["data"]["eval_examples"] == 10


@pytest.mark.parametrize(
    ("fixture", "task", "code"),
    [
        ("llamafactory_pr5606_openai_training_data_blank_lines.jsonl", "dpo", "not_preference_pairs"),
        ("llamafactory_kto_en_demo.json", "dpo", "not_preference_pairs"),
        ("llamafactory_kto_en_demo.json", "chat_sft", "preference_data_needs_dpo"),
    ],
)
def test_preference_and_chat_data_are_refused_by_the_wrong_task(
    tmp_path: Path, fixture: str, task: str, code: str
) -> None:
    examples = read_canonical(shared_file(fixture))
    if fixture.startswith("llamafactory_kto"):  # the store's unpaired shape: prompt, completion, label
        examples = [
            {"messages": e["messages"][:-1], "completion": e["messages"][-1:], "label": i % 2 == 0}
            for i, e in enumerate(examples)
        ]
    dataset = write_jsonl(tmp_path / "data.jsonl", examples)
    ctx = LocalContext(tmp_path / "run")
    with pytest.raises(InvalidInputError) as caught:
        run_training(ctx, {"dataset": str(dataset), "task": task, "base_model": str(tmp_path)})
    assert caught.value.code == code
    assert ctx.metrics_history == [] and "adapter" not in ctx.artifacts


def test_a_bad_payload_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="task") as caught:
        run_training(LocalContext(tmp_path), {"dataset": "x.jsonl", "task": "pretraining"})
    assert caught.value.code == "invalid_training_request"
    with pytest.raises(InvalidInputError, match=r"config\.lora_rank"):
        run_training(LocalContext(tmp_path), {"dataset": "x.jsonl", "config": {"lora_rank": 0}})


REVIEWS = [
    ("A wonderful film, I loved every minute.", "positive"),
    ("Great acting and a moving story.", "positive"),
    ("Brilliant, funny and warm.", "positive"),
    ("One of the best books I have read.", "positive"),
    ("Delightful from start to finish.", "positive"),
    ("I would happily watch it again.", "positive"),
    ("Superb music and lovely photography.", "positive"),
    ("An excellent, joyful experience.", "positive"),
    ("Terrible plot and wooden acting.", "negative"),
    ("A boring, painful waste of time.", "negative"),
    ("I hated it and walked out.", "negative"),
    ("Awful dialogue, dull characters.", "negative"),
    ("The worst meal I have ever had.", "negative"),
    ("Broken on arrival and support was useless.", "negative"),
    ("Dreadful, I want my money back.", "negative"),
    ("Sloppy, ugly and far too long.", "negative"),
]


@pytest.mark.slow
def test_minilm_classification_predicts_held_out_rows_with_a_confusion_matrix(tmp_path: Path) -> None:
    rows = [{"text": text, "label": label} for text, label in REVIEWS]
    dataset = write_jsonl(tmp_path / "reviews.jsonl", rows)
    ctx = LocalContext(tmp_path / "run")
    payload = {
        "dataset": str(dataset),
        "task": "text_classification",
        "num_labels": 2,
        "config": {"batch_size": 4, "grad_accum": 1, "learning_rate": 5e-4, "max_seq_length": 128, "warmup_steps": 0},
        "eval_split": 0.25,
        "seed": 1,
        "limits": {"max_steps": 12},
    }
    result = run_training(ctx, payload)
    assert result["base_model"] == {"name": "model", "source": "packaged", "catalogue_id": None}
    losses = [point["loss"] for point in ctx.metrics_history if "loss" in point]
    assert len(losses) == 12 and all(math.isfinite(loss) for loss in losses)
    report = read_results(ctx)["classification"]
    assert report["labels"] == ["negative", "positive"] and report["examples"] == 4
    matrix = report["confusion_matrix"]
    assert len(matrix) == 2 and sum(map(sum, matrix)) == 4
    assert report["accuracy"] == sum(matrix[k][k] for k in range(2)) / 4
    assert set(report["per_label"]) == {"negative", "positive"}
    assert len(report["predictions"]) == 4
    assert all(p["predicted"] in ("negative", "positive") for p in report["predictions"])
    held_out = {p["text"] for p in report["predictions"]}
    assert held_out <= {text for text, _ in REVIEWS}
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(ctx.work_dir / "model")
    assert model.config.num_labels == 2 and model.config.id2label == {0: "negative", 1: "positive"}


def test_classification_refuses_free_text_and_a_wrong_label_count(tmp_path: Path) -> None:
    chat = read_canonical(shared_file("llamafactory_pr5606_openai_training_data_blank_lines.jsonl"))
    dataset = write_jsonl(tmp_path / "chat.jsonl", chat)
    with pytest.raises(InvalidInputError) as caught:
        run_training(LocalContext(tmp_path / "a"), {"dataset": str(dataset), "task": "text_classification"})
    assert caught.value.code == "not_labels"
    labelled = write_jsonl(tmp_path / "labelled.jsonl", [{"text": t, "label": lab} for t, lab in REVIEWS])
    with pytest.raises(InvalidInputError) as caught:
        run_training(
            LocalContext(tmp_path / "b"), {"dataset": str(labelled), "task": "text_classification", "num_labels": 3}
        )
    assert caught.value.code == "num_labels_mismatch"


@pytest.mark.slow
def test_seq2seq_on_a_causal_model_trains_the_final_reply_only(tmp_path: Path, smollm2_dir: Path) -> None:
    rows = [
        {"prompt": f"Translate to French: {w}", "completion": f"{f}"}
        for w, f in [
            ("cat", "chat"),
            ("dog", "chien"),
            ("house", "maison"),
            ("tree", "arbre"),
            ("water", "eau"),
            ("bread", "pain"),
        ]
    ]
    dataset = write_jsonl(tmp_path / "pairs.jsonl", rows)
    ctx = LocalContext(tmp_path / "run")
    limits = {"max_steps": 1, "compare_prompts": 0}
    result = run_training(ctx, chat_payload(dataset, smollm2_dir, task="seq2seq", eval_split=0.0, limits=limits))
    assert result["task"] == "seq2seq" and result["steps"] == 1
    data = read_results(ctx)["data"]
    assert data["kinds"] == {"completion": 6} and 0 < data["trained_tokens"] < data["tokens"]


def test_a_stop_before_training_starts_trains_nothing(tmp_path: Path, chat_jsonl: Path) -> None:
    ctx = LocalContext(tmp_path / "run")
    ctx.cancel()
    with pytest.raises(TaskCancelled):
        run_training(ctx, {"dataset": str(chat_jsonl), "base_model": str(tmp_path)})
    assert ctx.metrics_history == [] and ctx.artifacts == {}


def test_a_base_model_that_cannot_be_loaded_is_the_users_error(tmp_path: Path, chat_jsonl: Path) -> None:
    from backend.core.errors import UnavailableError

    empty = tmp_path / "not-a-model"
    empty.mkdir()
    payload = {"dataset": str(chat_jsonl), "base_model": str(empty), "catalogue_model": "smollm2-135m-instruct"}
    with pytest.raises(UnavailableError, match="could not be loaded") as caught:
        run_training(LocalContext(tmp_path / "run"), payload)
    assert caught.value.code == "base_model_unavailable"
