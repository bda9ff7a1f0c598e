"""The complete duplicate groups and issue records, paged, through the real app (the report lists 20)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.api.conftest import upload_and_analyze
from tests.conftest import shared_file

AXOLOTL = "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"


async def all_pages(client: httpx.AsyncClient, url: str, page_size: int, headers: dict[str, str] | None = None,
                    ) -> list[dict]:  # type: ignore[type-arg]
    first = (await client.get(url, params={"page": 1, "page_size": page_size}, headers=headers or {})).json()
    pages = [first]
    for page in range(2, first["total_pages"] + 1):
        r = await client.get(url, params={"page": page, "page_size": page_size}, headers=headers or {})
        assert r.status_code == 200, r.text
        pages.append(r.json())
    return pages


async def test_every_exact_group_and_every_issue_record_can_be_paged(client: httpx.AsyncClient) -> None:
    sid, analysed = await upload_and_analyze(client, shared_file(AXOLOTL))
    report = analysed.json()["report"]
    assert len(report["duplicates"]["exact"]["groups"]) == 20  # the report's own list is capped

    pages = await all_pages(client, f"/preview/{sid}/duplicates/exact", 20)
    assert [p["total_pages"] for p in pages] == [3, 3, 3]
    assert (pages[0]["kind"], pages[0]["total_groups"], pages[0]["total_records"]) == ("exact", 60, 1000)
    groups = [g for p in pages for g in p["groups"]]
    assert [g["group"] for g in groups] == list(range(60))
    members = [m["index"] for g in groups for m in g["members"]]
    assert sorted(members) == list(range(1000)) and sum(g["size"] for g in groups) == 1000
    assert all(g["similarity"] is None for g in groups)
    assert [m["line"] for m in groups[0]["members"]] == [i + 1 for i in (m["index"] for m in groups[0]["members"])]

    records = [r for p in await all_pages(client, f"/preview/{sid}/issues/extra_keys", 300) for r in p["records"]]
    assert [r["index"] for r in records] == list(range(1000))
    one = (await client.get(f"/preview/{sid}/issues/exact_duplicate", params={"page": 2, "page_size": 50})).json()
    assert (one["code"], one["count"], one["page"], one["page_size"], one["total_pages"]) == (
        "exact_duplicate", 940, 2, 50, 19)
    assert len(one["records"]) == 50


async def test_near_groups_carry_their_verified_similarity(client: httpx.AsyncClient) -> None:
    sid, _ = await upload_and_analyze(client, shared_file("fastchat_dummy_conversation_with_system.json"))
    body = (await client.get(f"/preview/{sid}/duplicates/near", params={"page": 1, "page_size": 5})).json()
    assert body["total_groups"] > 5 and len(body["groups"]) == 5
    assert all(0.719 <= g["similarity"] <= 1 for g in body["groups"])


async def test_unknown_kinds_codes_and_other_peoples_sessions(
        client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]) -> None:
    owner = auth_headers("11111111-1111-1111-1111-111111111111")
    sid, _ = await upload_and_analyze(client, shared_file("openai_cookbook_toy_chat_fine_tuning.jsonl"),
                                      headers=owner)
    assert (await client.get(f"/preview/{sid}/duplicates/fuzzy", headers=owner)).status_code == 422
    missing = await client.get(f"/preview/{sid}/issues/no_such_issue", headers=owner)
    assert missing.status_code == 404 and missing.json()["error"] == "issue_not_found"
    few = (await client.get(f"/preview/{sid}/issues/too_few_examples", headers=owner)).json()
    assert (few["count"], few["records"]) == (5, [])  # a file-level issue: named, nothing to list
    stranger = auth_headers("22222222-2222-2222-2222-222222222222")
    assert (await client.get(f"/preview/{sid}/issues/too_few_examples", headers=stranger)).status_code == 404
    assert (await client.get(f"/preview/{sid}/duplicates/exact")).status_code == 404  # anonymous
