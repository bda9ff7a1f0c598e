"""Seed 002's model routes: create (classifier with num_classes, generator), list, status, delete, with the
seed's response shape, owner scoping, and the mistakes a client can make; a run that names a registry model
checks it first. No training here: the runs that fill models are tested beside."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.reliability.conftest import assert_error_body

SEED_KEYS = {"status", "model_name", "model_type", "model_params", "user_name", "last_updated_time"}


@pytest.fixture
def bob(auth_headers: Any) -> dict[str, str]:
    headers: dict[str, str] = auth_headers("bob-id")
    return headers


async def test_create_list_status_delete_in_the_seed_shape(client: Any, auth_headers: Any,
                                                           bob: dict[str, str]) -> None:
    alice = auth_headers("alice-id")
    r = await client.post("/v0/models", headers=alice, json={
        "model_type": "classifier", "model_params": {"num_classes": 3}, "name": "my-shiny-classifier"})
    assert r.status_code == 200, r.text
    created = r.json()
    assert set(created) >= SEED_KEYS
    assert created["status"] == "Created" and created["model_type"] == "classifier"
    assert created["model_params"] == {"num_classes": 3} and created["user_name"] == "my-shiny-classifier"
    assert re.fullmatch(r"[0-9a-f]{32}", created["model_name"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?", created["last_updated_time"])

    generator = (await client.post("/v0/models", headers=alice, json={"model_type": "generator",
                                                                      "name": "winemag-data"})).json()
    assert generator["model_params"] == {} and generator["status"] == "Created"

    listed = (await client.get("/v0/models", headers=alice)).json()
    assert [m["model_name"] for m in listed["models"]] == [generator["model_name"], created["model_name"]]
    assert all(set(m) >= SEED_KEYS for m in listed["models"])
    assert (await client.get("/v0/models", headers=bob)).json() == {"models": []}

    status = (await client.get(f"/v0/models/{created['model_name']}/status", headers=alice)).json()
    assert {k: status[k] for k in SEED_KEYS} == {k: created[k] for k in SEED_KEYS}
    for path in (f"/v0/models/{created['model_name']}/status",):
        r = await client.get(path, headers=bob)
        assert r.status_code == 404 and assert_error_body(r)["error"] == "model_not_found"
    r = await client.delete(f"/v0/models/{created['model_name']}/delete", headers=bob)
    assert r.status_code == 404

    r = await client.delete(f"/v0/models/{created['model_name']}/delete", headers=alice)
    assert r.status_code == 200 and r.json()["model_name"] == created["model_name"] and r.json()["deleted"]
    r = await client.get(f"/v0/models/{created['model_name']}/status", headers=alice)
    assert r.status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"model_type": "classifier", "name": "no classes"}, "model_params.num_classes"),
    ({"model_type": "classifier", "name": "one class", "model_params": {"num_classes": 1}}, "model_params.num_classes"),
    ({"model_type": "generator", "name": "g", "model_params": {"num_classes": 3}}, "model_params.num_classes"),
    ({"model_type": "regressor", "name": "r"}, "model_type"),
    ({"model_type": "generator", "name": ""}, "name"),
    ({"model_type": "generator"}, "name"),
])
async def test_a_wrong_model_is_a_422_naming_the_field(client: Any, auth_headers: Any, body: dict[str, Any],
                                                       field: str) -> None:
    r = await client.post("/v0/models", headers=auth_headers("alice-id"), json=body)
    assert r.status_code == 422, r.text
    error = assert_error_body(r)
    assert field in error.get("field", "") or field in str(error.get("fields", "")), error


async def test_the_registry_needs_a_signed_in_user(client: Any) -> None:
    for method, path in (("get", "/v0/models"), ("post", "/v0/models"), ("get", "/v0/models/abc/status"),
                         ("delete", "/v0/models/abc/delete"), ("post", "/training/runs"), ("post", "/train")):
        r = await client.request(method, path, json={})
        assert r.status_code == 401 and assert_error_body(r)["error"] == "not_authenticated", (path, r.text)


async def test_a_run_checks_the_registry_model_it_names(client: Any, auth_headers: Any, bob: dict[str, str]) -> None:
    from tests.api.conftest import upload_and_analyze
    from tests.conftest import shared_file

    alice = auth_headers("alice-id")
    session_id, _ = await upload_and_analyze(
        client, shared_file("llamafactory_pr5606_openai_training_data_blank_lines.jsonl"), headers=alice)
    classifier = (await client.post("/v0/models", headers=alice, json={
        "model_type": "classifier", "model_params": {"num_classes": 2}, "name": "c"})).json()["model_name"]
    cases = [
        ({"model_name": classifier, "task": "chat_sft"}, 422, "model_type_mismatch", alice),
        ({"model_name": classifier, "task": "text_classification", "num_labels": 3}, 422, "num_labels_mismatch",
         alice),
        ({"model_name": "f" * 32, "task": "chat_sft"}, 404, "model_not_found", alice),
        ({"task": "dpo"}, 422, "not_preference_pairs", alice),
        ({"model": "no-such-model"}, 422, "unknown_base_model", alice),
        ({"model": "smollm2-135m-instruct", "training_config": {"max_steps": 0}}, 422, "invalid_input", alice),
    ]
    for extra, status, code, who in cases:
        r = await client.post("/training/runs", headers=who, json={"session_id": session_id, **extra})
        assert r.status_code == status and assert_error_body(r)["error"] == code, (extra, r.text)
    r = await client.post("/training/runs", headers=bob, json={"session_id": session_id})
    assert r.status_code == 404 and r.json()["error"] == "session_not_found"
    bobs, _ = await upload_and_analyze(
        client, shared_file("llamafactory_pr5606_openai_training_data_blank_lines.jsonl"), headers=bob)
    r = await client.post("/training/runs", headers=bob, json={"session_id": bobs, "model_name": classifier,
                                                               "task": "text_classification"})
    assert r.status_code == 404 and r.json()["error"] == "model_not_found"  # alice's model, not bob's
    r = await client.post("/training/runs", headers=alice, json={"session_id": session_id,
                                                                 "hub_dataset": {"repo": "a/b"}})
    assert r.status_code == 422
    # Nothing was queued by any of these.
    assert (await client.get("/tasks?kind=training", headers=alice)).json() == []
    status = (await client.get(f"/v0/models/{classifier}/status", headers=alice)).json()
    assert status["status"] == "Created"


async def test_a_gpu_sized_run_is_refused_while_no_gpu_worker_is_connected(client: Any, auth_headers: Any) -> None:
    from tests.api.conftest import upload_and_analyze
    from tests.conftest import shared_file

    alice = auth_headers("alice-id")
    session_id, _ = await upload_and_analyze(
        client, shared_file("llamafactory_pr5606_openai_training_data_blank_lines.jsonl"), headers=alice)
    r = await client.post("/training/runs", headers=alice, json={"session_id": session_id,
                                                                 "model": "qwen2.5-7b-instruct"})
    assert r.status_code == 503, r.text
    error = assert_error_body(r)
    assert error["error"] == "no_worker" and error["queue"] == "gpu" and r.headers["Retry-After"]
    for advice in ("Colab", "at most 0.5B", "slmgen worker --kinds training"):
        assert advice in error["detail"], error["detail"]
    assert (await client.get("/tasks?kind=training", headers=alice)).json() == []


async def test_a_server_whose_workers_cannot_train_says_so(client: Any, auth_headers: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from tests.api.conftest import upload_and_analyze
    from tests.conftest import shared_file

    alice = auth_headers("alice-id")
    session_id, _ = await upload_and_analyze(
        client, shared_file("llamafactory_pr5606_openai_training_data_blank_lines.jsonl"), headers=alice)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "trl" else real(name, *a))
    r = await client.post("/training/runs", headers=alice, json={"session_id": session_id})
    assert r.status_code == 503, r.text
    error = assert_error_body(r)
    assert error["error"] == "training_unavailable" and error["missing"] == ["trl"]
    assert "slmgen[train]" in error["detail"]
