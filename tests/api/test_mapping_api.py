"""The field / role mapping through the real app: preview it, then analyse with it (upload or re-analysis)."""

from __future__ import annotations

import json

import httpx

from tests.api.conftest import upload_and_analyze, wait_for_analysis

QA = b"".join(json.dumps(r).encode() + b"\n" for r in [{"query": "What is 2+2?", "answer": "4"}] * 12)


async def test_preview_then_reanalyse_with_a_mapping(client: httpx.AsyncClient) -> None:
    sid, first = await upload_and_analyze(client, QA)
    assert first.json()["total_examples"] == 0  # unknown field names: nothing usable yet
    mapping = {"field_mapping": {"prompt": "query", "completion": "answer"}}
    preview = await client.post(f"/preview/{sid}/mapping", json={**mapping, "count": 3})
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["usable"] == 3 and body["records"][0]["keys"] == ["query", "answer"]
    assert body["records"][0]["format"] == "prompt_completion"
    assert body["records"][0]["example"]["messages"][1] == {"role": "assistant", "content": "4"}
    assert (await client.post(f"/analyze/{sid}", json=mapping)).status_code == 202
    again = (await wait_for_analysis(client, sid)).json()
    assert again["total_examples"] == 12 and again["report"]["file"]["format"] == "prompt_completion"
    # the mapping is kept: a re-analysis with another max_seq_length still reads the records
    assert (await client.post(f"/analyze/{sid}", json={"max_seq_length": 512})).status_code == 202
    assert (await wait_for_analysis(client, sid)).json()["total_examples"] == 12


async def test_upload_with_a_mapping_and_a_mapping_that_cannot_work(client: httpx.AsyncClient) -> None:
    _, analysed = await upload_and_analyze(
        client, QA, params={"field_mapping": json.dumps({"prompt": "query", "completion": "answer"})})
    assert analysed.json()["total_examples"] == 12
    bad = await client.post("/upload", files={"file": ("d.jsonl", QA)}, params={"role_mapping": '{"bot": "robot"}'})
    assert bad.status_code == 422 and "not a role" in bad.json()["detail"]
    worse = await client.post("/upload", files={"file": ("d.jsonl", QA)}, params={"field_mapping": "[1, 2]"})
    assert worse.status_code == 422 and worse.json()["error"] == "invalid_input"
