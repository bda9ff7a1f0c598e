"""Preference data through the real app: the report says so, and /generate refuses an SFT notebook."""

from __future__ import annotations

import httpx

from tests.api.conftest import upload_and_analyze
from tests.conftest import shared_file


async def test_a_dpo_file_is_reported_as_pairs_and_gets_no_sft_notebook(client: httpx.AsyncClient) -> None:
    sid, analysed = await upload_and_analyze(client, shared_file("llamafactory_v1_dpo_demo.jsonl"))
    assert analysed.status_code == 200, analysed.text
    report = analysed.json()["report"]
    assert report["preference"]["kind"] == "paired" and report["preference"]["examples"] == 10
    assert report["preference"]["source_format"] == "llamafactory_v1"
    page = (await client.get(f"/preview/{sid}", params={"page": 1, "page_size": 2})).json()
    first = page["examples"][0]
    assert page["total_count"] == 10 and [m["role"] for m in first["messages"]] == ["system", "user"]
    assert first["chosen"][0]["role"] == first["rejected"][0]["role"] == "assistant"
    assert first["chosen"] != first["rejected"] and first["completion"] is None
    r = await client.post("/generate", json={"session_id": sid, "model_id": "smollm2-135m-instruct"})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "preference_data" and "DPO" in body["detail"]
    assert body["preference_kind"] == "paired"
