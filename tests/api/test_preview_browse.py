"""GET /preview searched, filtered and sorted, on the real shared datasets, checked against the files
themselves (read here with the standard library) and the cookbook's published token counts."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.api.conftest import upload_and_analyze
from tests.conftest import shared_file

TOY = "openai_cookbook_toy_chat_fine_tuning.jsonl"
ALPACA = "llamafactory_alpaca_en_demo.json"
GLAIVE = "llamafactory_glaive_toolcall_en_demo.json"
KTO = "llamafactory_kto_en_demo.json"
# The cookbook's own per-example totals for its toy file, in file order (its README, cl100k_base).
TOY_TOKENS = [45, 111, 26, 28, 8032]


async def all_pages(client: httpx.AsyncClient, sid: str, **params: Any) -> list[dict[str, Any]]:
    examples: list[dict[str, Any]] = []
    page = 1
    while True:
        r = await client.get(f"/preview/{sid}", params={**params, "page": page, "page_size": 100})
        assert r.status_code == 200, r.text
        body = r.json()
        examples += body["examples"]
        if page >= body["total_pages"]:
            assert len(examples) == body["total_count"]
            return examples
        page += 1


async def test_search_finds_exactly_the_records_whose_text_holds_the_word(client: httpx.AsyncClient) -> None:
    sid, _ = await upload_and_analyze(client, shared_file(ALPACA))
    raw = json.loads(shared_file(ALPACA).read_text(encoding="utf-8"))
    expected = [i for i, r in enumerate(raw) if "poem" in f"{r['instruction']} {r['input']} {r['output']}".lower()]
    found = await all_pages(client, sid, q="PoEm")
    assert [e["index"] for e in found] == expected and len(expected) == 13
    # With a role, the text must be in that role's messages: Alpaca's output is the assistant turn.
    in_answers = [i for i, r in enumerate(raw) if "poem" in r["output"].lower()]
    found = await all_pages(client, sid, q="poem", role="assistant")
    assert [e["index"] for e in found] == in_answers and set(in_answers) < set(expected)


async def test_search_looks_inside_tool_calls_and_role_filter_keeps_tool_turns(client: httpx.AsyncClient) -> None:
    sid, _ = await upload_and_analyze(client, shared_file(GLAIVE))
    raw = json.loads(shared_file(GLAIVE).read_text(encoding="utf-8"))

    def calls(record: dict[str, Any], name: str) -> bool:
        return any(t["from"] == "function_call" and name in t["value"] for t in record["conversations"])

    expected = [i for i, r in enumerate(raw) if calls(r, "calculate_bmi")]
    found = await all_pages(client, sid, q="calculate_bmi", role="assistant")
    assert [e["index"] for e in found] == expected and expected
    for example in found:
        assistant_calls = [
            c for m in example["messages"] if m["role"] == "assistant" for c in m.get("tool_calls") or []
        ]
        assert any(c["function"]["name"] == "calculate_bmi" for c in assistant_calls)
    with_results = [i for i, r in enumerate(raw) if any(t["from"] == "observation" for t in r["conversations"])]
    assert [e["index"] for e in await all_pages(client, sid, role="tool")] == with_results


async def test_length_filter_and_token_sort_use_the_cookbook_counts(client: httpx.AsyncClient) -> None:
    sid, _ = await upload_and_analyze(client, shared_file(TOY))
    longest_first = sorted(range(5), key=lambda i: -TOY_TOKENS[i])
    found = await all_pages(client, sid, sort="tokens_desc")
    assert [e["index"] for e in found] == longest_first
    assert [e["token_count"] for e in found] == sorted(TOY_TOKENS, reverse=True)
    found = await all_pages(client, sid, sort="tokens_asc", min_tokens=30, max_tokens=200)
    assert [(e["index"], e["token_count"]) for e in found] == [(0, 45), (1, 111)]
    refused = await client.get(f"/preview/{sid}", params={"min_tokens": 300, "max_tokens": 200})
    assert refused.status_code == 422 and "min_tokens" in refused.json()["detail"]


async def test_record_list_and_jump_to_a_record(client: httpx.AsyncClient) -> None:
    sid, _ = await upload_and_analyze(client, shared_file(TOY))
    r = await client.get(f"/preview/{sid}", params={"records": "4,0,99", "page_size": 10})
    body = r.json()
    assert [e["index"] for e in body["examples"]] == [0, 4]
    assert body["missing_records"] == [99] and body["total_examples"] == 5
    sid, _ = await upload_and_analyze(client, shared_file(ALPACA))
    r = await client.get(f"/preview/{sid}", params={"at_record": 505, "page_size": 10, "page": 1})
    body = r.json()
    assert body["page"] == 51 and 505 in [e["index"] for e in body["examples"]]
    assert [e["position"] for e in body["examples"]] == list(range(500, 510))
    gone = await client.get(f"/preview/{sid}", params={"at_record": 5000})
    assert gone.status_code == 404 and gone.json()["error"] == "record_out_of_range"
    hidden = await client.get(f"/preview/{sid}", params={"at_record": 0, "q": "python"})
    assert hidden.status_code == 404 and hidden.json()["error"] == "record_filtered_out"


async def test_language_filter_agrees_with_the_report(client: httpx.AsyncClient) -> None:
    sid, r = await upload_and_analyze(client, shared_file(KTO))
    counts = r.json()["report"]["languages"]["counts"]  # every example of a small file is looked at
    assert counts["hi"] == 3 and counts["ar"] == 2
    for code, count in counts.items():
        found = await all_pages(client, sid, language=code)
        assert len(found) == count, code
        assert {e["language"] for e in found} == {code}


async def test_log_histogram_bins_hold_every_example_once(client: httpx.AsyncClient) -> None:
    sid, _ = await upload_and_analyze(client, shared_file(TOY))
    body = (await client.get(f"/preview/{sid}/distribution")).json()
    bins = body["tokens_log_histogram"]
    assert sum(b["count"] for b in bins) == 5
    assert all(b["hi"] > b["lo"] for b in bins)
    assert all(a["hi"] == b["lo"] for a, b in zip(bins, bins[1:], strict=False))
    for tokens in TOY_TOKENS:
        [holder] = [b for b in bins if b["lo"] <= tokens < b["hi"]]
        assert holder["count"] >= 1
    assert {(b["lo"], b["hi"]): b["count"] for b in bins if b["count"]} == {
        (23, 32): 2, (45, 64): 1, (91, 128): 1, (5793, 8192): 1}
    assert body["max_seq_length"] == 2048 and body["examples_over_max_seq_length"] == 1
