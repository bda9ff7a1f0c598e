"""Seed 001's training session through the real app: the wrong-state 409s and key checks without training, then
the whole flow with a real tiny run (SmolLM2-135M LoRA, 2 steps on CPU): start_session, parameters, upload the
train and test files, preprocess (their analyses), start, monitor (the loss per step), model_ready, the adapter
and results downloads, and force_restart."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import shared_file
from tests.reliability.conftest import assert_error_body
from tests.runs.conftest import FAST_CONFIG, unzip

DATA = "llamafactory_pr5606_openai_training_data_blank_lines.jsonl"


def train_and_test_files() -> dict[str, tuple[str, bytes]]:
    rows = [line for line in shared_file(DATA).read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) == 10
    return {"train_file": ("train.jsonl", ("\n".join(rows[:7]) + "\n").encode()),
            "test_file": ("test.jsonl", ("\n".join(rows[7:]) + "\n").encode())}


def conflict(r: Any, state: str) -> None:
    assert r.status_code == 409, r.text
    error = assert_error_body(r)
    assert error["error"] == "wrong_session_state" and error["state"] == state, error


async def poll(client: Any, path: str, headers: dict[str, str], until: Any) -> dict[str, Any]:
    for _ in range(9000):  # a guard against a hung test, not a performance limit
        r = await client.get(path, headers=headers)
        assert r.status_code == 200, r.text
        if until(r.json()):
            return dict(r.json())
        await asyncio.sleep(0.2)
    raise AssertionError(f"{path} never reached the awaited state: {r.text}")


async def test_a_session_refuses_verbs_in_the_wrong_state_and_keys_not_its_own(client: Any,
                                                                               auth_headers: Any) -> None:
    alice, bob = auth_headers("alice-id"), auth_headers("bob-id")
    r = await client.get("/status", headers=alice)
    assert r.status_code == 404 and assert_error_body(r)["error"] == "training_session_not_found"

    started = (await client.get("/start_session", headers=alice)).json()
    key = started["key"]
    assert started["state"] == "setup" and started["phase"] == "setup" and started["config"] == {}
    r = await client.get("/start_session", headers=alice)
    assert r.status_code == 409 and assert_error_body(r)["error"] == "training_session_exists"

    conflict(await client.post(f"/training/start/{key}", headers=alice), "setup")
    conflict(await client.post(f"/training/stop/{key}", headers=alice), "setup")
    r = await client.post(f"/preprocess/{key}", headers=alice)
    assert r.status_code == 409 and assert_error_body(r)["error"] == "datasets_missing"
    r = await client.get(f"/download_model/{key}", headers=alice)
    assert r.status_code == 409 and assert_error_body(r)["error"] == "model_not_trained"
    assert (await client.get(f"/model_ready/{key}", headers=alice)).json()["model_ready"] is False

    # One session per user: bob has none, and alice's key is nothing to him.
    r = await client.post(f"/parameters/{key}", headers=bob, json={"epochs": 1})
    assert r.status_code == 404 and assert_error_body(r)["error"] == "training_session_not_found"
    bobs = (await client.get("/start_session", headers=bob)).json()["key"]
    assert bobs != key
    for method, path in (("post", f"/parameters/{key}"), ("get", f"/monitor/{key}"),
                         ("post", f"/training/start/{key}"), ("get", f"/download_results/{key}")):
        r = await client.request(method, path, headers=bob, json={})
        assert r.status_code == 404, (path, r.text)

    r = await client.post(f"/parameters/{key}", headers=alice, json={"task_type": "regression"})
    assert r.status_code == 422 and assert_error_body(r)["field"] == "task_type"
    r = await client.post(f"/parameters/{key}", headers=alice, json={"batch_size": 0})
    assert r.status_code == 422
    r = await client.post(f"/parameters/{key}", headers=alice, json={"epochs": 2, "eval_metrics": ["accuracy"]})
    assert r.json()["config"] == {"epochs": 2.0, "eval_metrics": ["accuracy"]}
    assert r.json()["config_not_used"] == ["eval_metrics"]

    restarted = (await client.get("/start_session?force_restart=1", headers=alice)).json()
    assert restarted["key"] != key and restarted["config"] == {}
    r = await client.get(f"/monitor/{key}", headers=alice)
    assert r.status_code == 404  # the old key went with the old session
    for route in ("/status", "/parameters", "/preprocess_status"):
        assert (await client.get(route, headers=alice)).json()["key"] == restarted["key"]
    # The embedded worker registers when it has started: the healthcheck says so once it has.
    health = await poll(client, "/healthcheck", {}, lambda h: h["workers"].get("training"))
    assert health["status"] == "ok" and health["can_train"] is True and health["training_packages_missing"] == []


@pytest.mark.slow
async def test_the_seed_001_flow_trains_monitors_and_downloads(client: Any, auth_headers: Any,
                                                              tmp_path: Path) -> None:
    alice = auth_headers("alice-id")
    key = (await client.get("/start_session", headers=alice)).json()["key"]
    r = await client.post(f"/parameters/{key}", headers=alice, json={
        "model": "smollm2-135m-instruct", "task_type": "chat_sft", "batch_size": 2, "epochs": 1,
        "learning_rate": 2e-4, "seed": 11, "init_eval": False, "name": "session-bot",
        "training_config": {**FAST_CONFIG, "max_steps": 2}, "compare_prompts": 1, "max_new_tokens": 8})
    assert r.status_code == 200, r.text
    assert r.json()["config_not_used"] == ["init_eval"]

    uploaded = (await client.post(f"/upload_dataset/{key}", headers=alice, files=train_and_test_files())).json()
    assert uploaded["state"] == "setup" and uploaded["train_dataset_id"] and uploaded["test_dataset_id"]
    assert set(uploaded["preprocess"]) == {"train", "test"}

    r = await client.post(f"/preprocess/{key}", headers=alice)
    assert r.status_code == 200 and r.json()["state"] in ("preprocessing", "ready"), r.text
    ready = await poll(client, "/preprocess_status", alice, lambda s: s["state"] != "preprocessing")
    assert ready["state"] == "ready", ready
    assert all(p["state"] == "DONE" for p in ready["preprocess"].values())
    conflict(await client.post(f"/parameters/{key}", headers=alice, json={"epochs": 3}), "ready")
    conflict(await client.post(f"/upload_dataset/{key}", headers=alice, files=train_and_test_files()), "ready")

    r = await client.post(f"/training/start/{key}", headers=alice)
    assert r.status_code == 200, r.text
    training = r.json()
    assert training["state"] == "training" and training["run_active"] and training["model_name"]
    task_id = training["training_task_id"]
    r = await client.post(f"/training/start/{key}", headers=alice)
    assert r.status_code == 409 and assert_error_body(r)["state"] in ("training", "trained")

    done = await poll(client, f"/monitor/{key}", alice, lambda s: s["state"] not in ("training", "stopping"))
    assert done["state"] == "trained", done["training"]["error"]
    curve = [point for point in done["training"]["history"] if "loss" in point]
    assert [point["step"] for point in curve] == [1, 2] and all(math.isfinite(p["loss"]) for p in curve)
    assert done["training"]["state"] == "DONE" and done["training"]["metrics"]["step"] == 2
    conflict(await client.post(f"/training/stop/{key}", headers=alice), "trained")
    assert (await client.get(f"/model_ready/{key}", headers=alice)).json()["model_ready"] is True

    r = await client.get(f"/download_model/{key}", headers=alice)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    adapter = unzip(r.content, tmp_path / "model")
    assert (adapter / "adapter_config.json").exists() and (adapter / "adapter_model.safetensors").exists()
    results = json.loads((await client.get(f"/download_results/{key}", headers=alice)).content)
    # The test file is the evaluation set: its 3 examples, not a split of the 7 training ones.
    assert results["data"]["train_examples"] == 7 and results["data"]["eval_examples"] == 3
    assert results["config"]["max_steps"] == 2 and results["config"]["learning_rate"] == 2e-4
    assert results["config"]["batch_size"] == 2 and results["config"]["seed"] == 11

    model = (await client.get(f"/v0/models/{training['model_name']}/status", headers=alice)).json()
    assert model["status"] == "Ready" and model["user_name"] == "session-bot"
    assert model["lineage"]["dataset_id"] == uploaded["train_dataset_id"]
    assert model["lineage"]["training_task_id"] == task_id


async def test_import_model_registers_a_hub_model_and_refuses_a_classifier_without_classes(
        client: Any, auth_headers: Any, tmp_path: Path) -> None:
    alice = auth_headers("alice-id")
    key = (await client.get("/start_session", headers=alice)).json()["key"]
    assert (await client.get("/import_status", headers=alice)).json()["state"] == "none"
    r = await client.get(f"/get_imported_model/{key}", headers=alice)
    assert r.status_code == 409 and assert_error_body(r)["error"] == "import_not_ready"

    r = await client.post(f"/import_model/{key}", headers=alice, params={
        "model_type": "generator", "model_name": "HuggingFaceTB/SmolLM2-135M-Instruct"})
    assert r.status_code == 200, r.text
    status = await poll(client, "/import_status", alice, lambda s: s["state"] in ("DONE", "ERROR", "CANCELLED"))
    assert status["state"] == "DONE", status["error"]
    imported = (await client.get(f"/get_imported_model/{key}", headers=alice)).json()
    assert imported["model_name"] == status["imported_model_name"] and imported["status"] == "Ready"
    assert imported["source"] == "import" and imported["model_type"] == "generator"
    assert imported["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct" and imported["has_tokenizer"] is True
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(imported["files"])
    no_tokenizer = (await client.get(f"/get_imported_model/{key}?tokenizer=0", headers=alice)).json()["files"]
    assert "tokenizer.json" not in no_tokenizer and "model.safetensors" in no_tokenizer
    r = await client.get(f"/get_imported_model/{key}?on_disk=1", headers=alice)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    folder = unzip(r.content, tmp_path / "imported")
    weights = json.loads((folder / "config.json").read_text())
    assert weights["model_type"] == "llama" and (folder / "model.safetensors").stat().st_size > 100_000_000
    listed = [m["model_name"] for m in (await client.get("/v0/models", headers=alice)).json()["models"]]
    assert imported["model_name"] in listed

    # An encoder without classes in its config is no classifier yet: refused with what to do.
    r = await client.post(f"/import_model/{key}", headers=alice, params={
        "model_type": "classifier", "model_name": "sentence-transformers/all-MiniLM-L6-v2"})
    failed = await poll(client, "/import_status", alice, lambda s: s["import_task_id"] == r.json()["import_task_id"]
                        and s["state"] in ("DONE", "ERROR"))
    assert failed["state"] == "ERROR" and failed["error"]["code"] == "not_a_classifier"
    r = await client.post(f"/import_model/{key}", headers=auth_headers("bob-id"), params={
        "model_type": "generator", "model_name": "a/b"})
    assert r.status_code == 404


@pytest.mark.slow
async def test_a_session_run_stopped_mid_run_ends_stopped_with_its_checkpoint(client: Any, auth_headers: Any) -> None:
    alice = auth_headers("alice-id")
    key = (await client.get("/start_session", headers=alice)).json()["key"]
    await client.post(f"/parameters/{key}", headers=alice, json={
        "model": "smollm2-135m-instruct", "task_type": "chat_sft", "batch_size": 1,
        "training_config": {**FAST_CONFIG, "max_steps": 400}, "compare_prompts": 0})
    await client.post(f"/upload_dataset/{key}", headers=alice, files=train_and_test_files())
    await client.post(f"/preprocess/{key}", headers=alice)
    await poll(client, "/preprocess_status", alice, lambda s: s["state"] == "ready")
    assert (await client.post(f"/training/start/{key}", headers=alice)).status_code == 200
    await poll(client, f"/monitor/{key}", alice, lambda s: any("loss" in p for p in s["training"]["history"]))
    conflict(await client.post(f"/parameters/{key}", headers=alice, json={"epochs": 1}), "training")

    r = await client.post(f"/training/stop/{key}", headers=alice)
    assert r.status_code == 200 and r.json()["state"] in ("stopping", "stopped"), r.text
    stopped = await poll(client, f"/monitor/{key}", alice, lambda s: s["state"] not in ("training", "stopping"))
    assert stopped["state"] == "stopped" and stopped["training"]["state"] == "CANCELLED"
    r = await client.get(f"/download_model/{key}", headers=alice)
    assert r.status_code == 409 and "checkpoint" in assert_error_body(r)["detail"]
    run = (await client.get(f"/training/runs/{stopped['training_task_id']}", headers=alice)).json()
    assert "checkpoint" in {d["name"] for d in run["downloads"]}
    assert run["model"]["status"] == "Failed" and "checkpoint" in run["model"]["status_detail"]
