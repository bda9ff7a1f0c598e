"""A chat SFT run of SmolLM2-135M through the API: started from an analysed upload with the catalogue id, trained
by the embedded worker on CPU (a LoRA, 3 steps), its loss logged per step in the events and the metrics history,
its adapter downloaded as a zip that PEFT loads and generates with, its model registered with its lineage, pushed
to a Hub model repo with a model card, all of it hidden from another user, and deleted with its files."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import ModelCard

from backend.settings import Settings
from tests.conftest import shared_file
from tests.runs.conftest import FAST_CONFIG, QUICK, SMOLLM2_CACHE, sse_events, unzip, upload_and_analyze, wait_for_task
from tests.support.hub_standin import HubStandIn

pytestmark = pytest.mark.slow


async def test_chat_sft_run_logs_every_step_and_its_adapter_loads_with_peft(
        client: Any, auth_headers: Any, tmp_path: Path, settings: Settings, model_hub: HubStandIn) -> None:
    alice, bob = auth_headers("alice-id"), auth_headers("bob-id")
    data = shared_file("llamafactory_pr5606_openai_training_data_blank_lines.jsonl")
    session_id, analysed = await upload_and_analyze(client, data, headers=alice)
    assert analysed.status_code == 200, analysed.text

    r = await client.post("/training/runs", headers=alice, json={
        "session_id": session_id, "model": "smollm2-135m-instruct", "task": "chat_sft",
        "training_config": {**FAST_CONFIG, "max_steps": 3}, "eval_split": 0.2, "seed": 7, "name": "hello-bot",
        **QUICK})
    assert r.status_code == 202, r.text
    started = r.json()
    task_id, model_name = started["task_id"], started["model_name"]
    assert started["queue"] == "training" and started["run_url"] == f"/training/runs/{task_id}"

    r = await client.get(f"/v0/models/{model_name}/status", headers=alice)
    assert r.status_code == 200 and r.json()["status"] in ("Training", "Ready"), r.text

    task = await wait_for_task(client, task_id, alice, states=("DONE",))
    assert task["kind"] == "training" and task["attempt"] == 1 and task["max_attempts"] == 1
    assert task["result"]["steps"] == 3 and task["result"]["device"] == "cpu"
    assert task["result"]["base_model"] == {"name": "HuggingFaceTB/SmolLM2-135M-Instruct", "source": "catalogue",
                                            "catalogue_id": "smollm2-135m-instruct"}
    assert task["result"]["cpu_threads"] == 1

    # The loss curve: one point per step in the history and on the event stream, each finite.
    history = (await client.get(f"/tasks/{task_id}/metrics", headers=alice)).json()["history"]
    losses = [point for point in history if "loss" in point]
    assert [point["step"] for point in losses] == [1, 2, 3]
    assert all(math.isfinite(point["loss"]) and point["loss"] > 0 for point in losses)
    assert all(point["max_steps"] == 3 and point["tokens_per_second"] > 0 for point in losses)
    assert any("eval_loss" in point for point in history)
    events = sse_events((await client.get(f"/tasks/{task_id}/events", headers=alice)).text)
    streamed = [e["data"]["values"] for e in events if e.get("event") == "metrics" and "loss" in e["data"]["values"]]
    assert [values["step"] for values in streamed] == [1, 2, 3]
    assert events[-1]["event"] == "state" and events[-1]["data"]["state"] == "DONE"

    run = (await client.get(f"/training/runs/{task_id}", headers=alice)).json()
    names = {d["name"]: d for d in run["downloads"]}
    assert {"adapter", "results"} <= set(names) and names["adapter"]["folder"] is True
    model = run["model"]
    assert model["status"] == "Ready" and model["model_type"] == "generator" and model["user_name"] == "hello-bot"
    assert model["lineage"]["dataset_id"] == session_id and model["lineage"]["training_task_id"] == task_id
    assert model["lineage"]["analysis_task_id"] and model["lineage"]["config"]["max_steps"] == 3
    assert model["metrics"]["steps_logged"] == 3 and math.isfinite(model["metrics"]["final_loss"])

    results = (await client.get(f"/training/runs/{task_id}/files/results", headers=alice)).json()
    assert results["status"] == "done" and [p["step"] for p in results["metrics_history"] if "loss" in p] == [1, 2, 3]
    assert results["data"]["train_examples"] + results["data"]["eval_examples"] == 10

    r = await client.get(f"/training/runs/{task_id}/files/adapter", headers=alice)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    adapter = unzip(r.content, tmp_path / "download")
    assert (adapter / "adapter_config.json").exists() and (adapter / "adapter_model.safetensors").exists()
    assert_adapter_generates(adapter)

    # Someone else sees none of it.
    for path in (f"/training/runs/{task_id}", f"/training/runs/{task_id}/files/adapter", f"/tasks/{task_id}",
                 f"/v0/models/{model_name}/status"):
        r = await client.get(path, headers=bob)
        assert r.status_code == 404, (path, r.text)
    r = await client.get("/training/runs/nothing-here/files/adapter", headers=alice)
    assert r.status_code == 404

    await push_to_the_hub(client, alice, model_name, model_hub)

    # Deleting the model removes its files: the run's downloads go with it.
    r = await client.delete(f"/v0/models/{model_name}/delete", headers=alice)
    assert r.status_code == 200 and r.json()["deleted"] is True and r.json()["model_name"] == model_name
    r = await client.get(f"/training/runs/{task_id}/files/adapter", headers=alice)
    assert r.status_code == 404 and r.json()["error"] == "output_not_found"
    listed = (await client.get("/v0/models", headers=alice)).json()["models"]
    assert model_name not in [m["model_name"] for m in listed]
    assert not (settings.data_dir / "tasks" / task_id / "1").exists()


async def push_to_the_hub(client: Any, alice: dict[str, str], model_name: str, model_hub: HubStandIn) -> None:
    """The adapter and a model card in one commit to a new private Hub model repo; a read-only token fails."""
    r = await client.post(f"/v0/models/{model_name}/push", headers={**alice, "X-HuggingFace-Key": "alice-read"},
                          json={"repo": "alice/hello-bot-ro"})
    refused = await wait_for_task(client, r.json()["task_id"], alice, states=("ERROR",))
    assert refused["error"]["code"] == "hub_forbidden"

    r = await client.post(f"/v0/models/{model_name}/push", headers={**alice, "X-HuggingFace-Key": "alice-write"},
                          json={"repo": "hello-bot"})
    assert r.status_code == 202, r.text
    pushed = await wait_for_task(client, r.json()["task_id"], alice, states=("DONE",))
    assert pushed["result"]["repo_id"] == "alice/hello-bot" and pushed["result"]["pushed"] == "adapter"
    repo = model_hub.repo("alice/hello-bot", "model")
    assert repo.private and len(repo.commits) == 2  # created, then one commit with everything
    files = repo.head.files
    assert files["adapter_model.safetensors"][1] is True  # the weights went the LFS way
    assert {"adapter_config.json", "tokenizer.json", "README.md"} <= set(files)
    card = ModelCard(files["README.md"][0].decode())
    assert card.data.base_model == "HuggingFaceTB/SmolLM2-135M-Instruct" and card.data.library_name == "peft"
    assert card.data.license == "apache-2.0" and "slmgen" in card.data.tags
    assert "llamafactory_pr5606" in card.text and "Training loss" in card.text and "max_steps | 3" in card.text
    status = (await client.get(f"/v0/models/{model_name}/status", headers=alice)).json()
    assert status["hub_repo"] == f"{model_hub.url}/alice/hello-bot"


def assert_adapter_generates(adapter: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)  # the machine is shared: more threads than free cores spin against each other
    base = AutoModelForCausalLM.from_pretrained(SMOLLM2_CACHE, dtype=torch.float32)
    tuned = PeftModel.from_pretrained(base, adapter)
    tokenizer = AutoTokenizer.from_pretrained(adapter)
    inputs = tokenizer.apply_chat_template([{"role": "user", "content": "Say hello."}], add_generation_prompt=True,
                                           return_tensors="pt", return_dict=True)
    output = tuned.generate(**inputs, max_new_tokens=8, do_sample=False)
    assert output.shape[1] > inputs["input_ids"].shape[1]
