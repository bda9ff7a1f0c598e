"""GET /models, GET /models/{id} and POST /recommend through the real app; the CLI prints the same JSON."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from backend.cli import main as slmgen
from backend.core.catalog import load_catalog
from tests.api.conftest import upload_and_analyze
from tests.conftest import shared_file

AXOLOTL = "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"
GLAIVE = "llamafactory_glaive_toolcall_en_demo.json"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert slmgen(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


async def test_models_lists_the_catalogue_with_sources_as_the_cli_does(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    r = await client.get("/models")
    assert r.status_code == 200
    models = r.json()
    assert [m["model_id"] for m in models] == load_catalog().ids()
    assert all(m["sources"]["context_length"].startswith("https://huggingface.co/") for m in models)
    assert run_cli(capsys, "models", "--json") == models


@pytest.mark.parametrize("model_id", ["qwen2.5-3b-instruct", "Qwen/Qwen2.5-3B-Instruct"])
async def test_one_model_by_slug_or_hub_id(client: httpx.AsyncClient, model_id: str) -> None:
    r = await client.get(f"/models/{model_id}")
    assert r.status_code == 200
    body = r.json()
    assert (body["model_id"], body["license"], body["commercial_use"]) == (
        "qwen2.5-3b-instruct",
        "qwen-research",
        False,
    )
    assert body["response_marker"] == "<|im_start|>assistant\n"
    assert body["defaults"]["learning_rate"] == 2e-4


async def test_unknown_model_is_a_404_with_suggestions(client: httpx.AsyncClient) -> None:
    r = await client.get("/models/phi-4-mini")
    assert r.status_code == 404
    body = r.json()
    assert body["error"] == "model_not_found"
    assert body["suggestions"][0] == "phi-4-mini-instruct"
    assert "phi-4-mini-instruct" in body["detail"]


async def test_recommend_answers_the_contract_and_agrees_with_the_cli(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    path = shared_file(AXOLOTL)
    session_id, analysed = await upload_and_analyze(client, path)
    assert analysed.status_code == 200
    body = {"session_id": session_id, "task_type": "instruction_following", "deployment_target": "cloud"}
    r = await client.post("/recommend", json=body)
    assert r.status_code == 200, r.text
    answer = r.json()
    first = answer["recommendations"][0]
    # The seed's fields, then the breakdown that explains the score.
    assert {"model_id", "model_name", "size", "score", "reasons", "is_gated"} <= set(first)
    assert first["reasons"] and 0 < first["score"] <= 1
    assert sum(c["points"] for c in first["score_breakdown"]) == pytest.approx(first["score"], abs=0.001)
    assert [c["component"] for c in first["score_breakdown"]] == [
        "task_fit",
        "deployment_fit",
        "data_fit",
        "format_fit",
        "language_fit",
    ]
    assert answer["request"]["task_type"] == "instruction_following"
    assert "smaller model" in answer["tie_break"]
    gemma2 = next(m for m in answer["recommendations"] if m["model_id"] == "gemma-2-2b-it")
    assert any("has no system role" in w for w in gemma2["warnings"])
    assert answer["recommendations"] == sorted(answer["recommendations"], key=lambda m: m["rank"])
    cli = run_cli(
        capsys,
        "recommend",
        str(path),
        "--task",
        "instruction_following",
        "--deploy",
        "cloud",
        "--workers",
        "1",
        "--json",
    )
    assert cli == answer
    # Same request, same answer.
    assert (await client.post("/recommend", json=body)).json() == answer


async def test_constraints_exclude_with_reasons(client: httpx.AsyncClient) -> None:
    session_id, _ = await upload_and_analyze(client, shared_file(GLAIVE))
    body = {
        "session_id": session_id,
        "task_type": "tool_calling",
        "deployment_target": "edge",
        "commercial_only": True,
        "no_gated": True,
    }
    r = await client.post("/recommend", json=body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert {m["model_id"] for m in answer["recommendations"]} <= {
        "qwen2.5-0.5b-instruct",
        "qwen2.5-1.5b-instruct",
        "qwen3-0.6b",
        "qwen3-1.7b",
        "qwen3-4b",
    }
    excluded = {x["model_id"]: x for x in answer["excluded"]}
    assert excluded["qwen2.5-3b-instruct"]["rules"] == ["check_commercial_licence"]
    assert excluded["llama-3.2-1b-instruct"]["rules"] == ["check_gated"]
    assert set(excluded["mistral-7b-instruct-v0.3"]["rules"]) == {
        "check_gated",
        "check_deployment_memory",
        "check_tool_template",
    }
    assert all(len(x["reasons"]) == len(x["rules"]) for x in answer["excluded"])
    assert len(answer["recommendations"]) + len(answer["excluded"]) == len(load_catalog())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"task_type": "chatting"}, "task_type"),
        ({"deployment_target": "phone"}, "deployment_target"),
        ({"max_params_b": 0}, "max_params_b"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
async def test_invalid_request_is_a_422_naming_the_field(
    client: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    body = {"session_id": "whatever", "task_type": "qa", "deployment_target": "cloud", **change}
    r = await client.post("/recommend", json=body)
    assert r.status_code == 422
    assert field in [f["field"] for f in r.json()["fields"]]


async def test_unknown_session_is_a_404(client: httpx.AsyncClient) -> None:
    body = {"session_id": "no-such-session", "task_type": "qa", "deployment_target": "cloud"}
    r = await client.post("/recommend", json=body)
    assert r.status_code == 404
    assert r.json()["detail"]


async def test_someone_elses_dataset_is_a_404(client: httpx.AsyncClient, auth_headers: Any) -> None:
    session_id, _ = await upload_and_analyze(client, shared_file(AXOLOTL), headers=auth_headers("alice"))
    body = {"session_id": session_id, "task_type": "qa", "deployment_target": "cloud"}
    assert (await client.post("/recommend", json=body, headers=auth_headers("alice"))).status_code == 200
    assert (await client.post("/recommend", json=body, headers=auth_headers("mallory"))).status_code == 404
