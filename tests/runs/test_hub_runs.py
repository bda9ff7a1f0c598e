"""Runs on Hub datasets, imported inside the run's own task: seed 000's POST /train classifying reviews with the
MiniLM encoder (predictions on held-out rows and a confusion matrix in the results; the imported split becomes
an analysed dataset version in the model's lineage), and DPO on a small preference set (and that set refused
for SFT). Real models on CPU, a few steps."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.api.conftest import wait_for_analysis
from tests.conftest import shared_file
from tests.runs.conftest import FAST_CONFIG, QUICK, jsonl_bytes, review_rows, wait_for_task
from tests.support.hub_standin import HubStandIn
from tests.training.conftest import llamafactory_v1_pairs

pytestmark = pytest.mark.slow


async def test_seed_000_train_classifies_a_hub_dataset_with_a_confusion_matrix(
        client: Any, auth_headers: Any, model_hub: HubStandIn) -> None:
    alice = auth_headers("alice-id")
    model_hub.add_repo("alice/reviews", "dataset", files={"train.jsonl": jsonl_bytes(review_rows())})
    r = await client.post("/train", headers={**alice, "X-OpenAI-Key": "sk-not-used"}, json={
        "dataset": "alice/reviews", "model": "sentence-transformers/all-MiniLM-L6-v2", "epochs": 1,
        "save_path": "review-classifier", "task": "text_classification", "version": "main"})
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"task_id"}
    task_id = r.json()["task_id"]

    await wait_for_task(client, task_id, alice, states=("DONE",))
    tracked = (await client.get(f"/track/{task_id}", headers=alice)).json()["response"]
    assert tracked["state"] == "DONE" and math.isfinite(tracked["metrics"]["loss"])
    result = tracked["result"]
    assert result["task"] == "text_classification" and result["model_name"] == tracked["result"]["model_name"]
    assert result["imported"]["repo_id"] == "alice/reviews" and result["imported"]["rows"] == 16
    assert result["imported"]["conversion"] == {"chat rows": 16, "examples": 16}

    run = (await client.get(f"/training/runs/{task_id}", headers=alice)).json()
    assert run["queue"] == "training" and run["placement"]["params_b"] == pytest.approx(0.0227, abs=0.001)
    model = run["model"]
    assert model["user_name"] == "review-classifier" and model["model_type"] == "classifier"
    assert model["status"] == "Ready" and model["model_params"] == {"num_classes": 2}
    assert {d["name"] for d in run["downloads"]} >= {"model", "results"}

    results = (await client.get(f"/training/runs/{task_id}/files/results", headers=alice)).json()
    report = results["classification"]
    held_out = results["data"]["eval_examples"]
    assert held_out >= 1 and report["labels"] == ["negative", "positive"]
    assert len(report["confusion_matrix"]) == 2 and sum(map(sum, report["confusion_matrix"])) == held_out
    assert len(report["predictions"]) == held_out
    assert all(p["label"] in ("negative", "positive") and p["predicted"] in ("negative", "positive")
               for p in report["predictions"])
    assert 0.0 <= report["accuracy"] <= 1.0 and set(report["per_label"]) == {"negative", "positive"}

    # The imported split is now a dataset version of alice's, analysed like an upload, named in the lineage.
    dataset_id = model["lineage"]["dataset_id"]
    assert dataset_id and dataset_id == result["dataset_id"]
    analysed = await wait_for_analysis(client, dataset_id, alice)
    assert analysed.status_code == 200 and analysed.json()["total_examples"] == 16


async def test_dpo_trains_on_preference_pairs_which_sft_refuses(client: Any, auth_headers: Any,
                                                                model_hub: HubStandIn, tmp_path: Any) -> None:
    alice = auth_headers("alice-id")
    pairs = llamafactory_v1_pairs(shared_file("llamafactory_v1_dpo_demo.jsonl"))
    model_hub.add_repo("alice/prefs", "dataset", files={"train.jsonl": jsonl_bytes(pairs)})
    body = {"hub_dataset": {"repo": "alice/prefs"}, "model": "smollm2-135m-instruct",
            "training_config": {**FAST_CONFIG, "max_steps": 2, "max_seq_length": 256}, **QUICK}

    r = await client.post("/training/runs", headers=alice, json={**body, "task": "chat_sft"})
    refused = await wait_for_task(client, r.json()["task_id"], alice, states=("ERROR",))
    assert refused["error"]["code"] == "preference_data_needs_dpo"  # never trained as if every answer were good
    assert "dpo" in refused["error"]["message"]

    r = await client.post("/training/runs", headers=alice, json={**body, "task": "dpo", "compare_prompts": 0})
    assert r.status_code == 202, r.text
    task = await wait_for_task(client, r.json()["task_id"], alice, states=("DONE",))
    assert task["result"]["task"] == "dpo" and task["result"]["steps"] == 2
    history = (await client.get(f"/tasks/{task['task_id']}/metrics", headers=alice)).json()["history"]
    assert [p["step"] for p in history if "loss" in p] == [1, 2]
    assert all(math.isfinite(p["loss"]) for p in history if "loss" in p)
    results = (await client.get(f"/training/runs/{task['task_id']}/files/results", headers=alice)).json()
    assert results["data"]["kinds"] == {"paired": 10} and results["status"] == "done"
    run = (await client.get(f"/training/runs/{task['task_id']}", headers=alice)).json()
    assert "adapter" in {d["name"] for d in run["downloads"]} and run["model"]["task"] == "dpo"
