"""Datasets out through the API, end to end, with real workers and the stand-in Hub: from the axolotl duplicates
file to a deduplicated version, downloaded in each format, pushed with a card and splits, appended to, and
imported back; `datasets.load_dataset` reads every push back (splits, counts, card metadata)."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from backend.auth import mint_dev_token
from backend.db.models import Dataset, Task
from backend.services.tasks import engine
from backend.services.versions import new_version_id
from backend.settings import Settings
from tests.api.conftest import upload_and_analyze, wait_for_analysis
from tests.conftest import shared_file
from tests.reliability.conftest import make_settings, running_client
from tests.support.hub_fixtures import hub, read_back
from tests.support.hub_standin import HubStandIn
from tests.tasks.conftest import app_state, wait_for

__all__ = ["hub", "read_back"]  # fixtures

AXOLOTL = "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"
DEDUP = ["drop_exact_duplicates", "drop_near_duplicates"]
FORMATS = ["canonical", "openai", "sharegpt", "alpaca"]
ReadBack = Callable[..., dict[str, Any]]


@pytest.fixture
def settings(tmp_path: Path, hub: HubStandIn, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # The worker processes inherit this: the stand-in speaks the classic LFS protocol, not Xet.
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    return make_settings(tmp_path / "data", hf_endpoint=hub.url, task_lease_seconds=5.0)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_client(settings) as c:
        yield c


async def count_tasks(client: httpx.AsyncClient, kind: str) -> int:
    async with app_state(client).session() as session:
        return int(await session.scalar(select(func.count()).select_from(Task).where(Task.kind == kind)) or 0)


async def dataset_row(client: httpx.AsyncClient, session_id: str) -> Dataset:
    async with app_state(client).session() as session:
        row = await session.get(Dataset, session_id)
    assert row is not None
    return row


async def test_from_duplicates_to_the_hub_and_back(client: httpx.AsyncClient, hub: HubStandIn,
                                                   read_back: ReadBack) -> None:
    original, _ = await upload_and_analyze(client, shared_file(AXOLOTL))

    # Fix: the counts first (nothing written), then a new version made by a task and analysed like an upload.
    plan = await client.post(f"/datasets/{original}/fixes/plan", json={"actions": DEDUP})
    assert plan.status_code == 200, plan.text
    counted = plan.json()
    assert (counted["examples_before"], counted["examples_after"]) == (1000, 49)
    assert [(o["action"], o["before"], o["after"], o["removed"]) for o in counted["outcomes"]] == [
        ("drop_exact_duplicates", 1000, 60, 940), ("drop_near_duplicates", 60, 49, 11)]
    started = await client.post(f"/datasets/{original}/fixes", json={"actions": list(reversed(DEDUP))})
    assert started.status_code == 202, started.text
    fixed = started.json()["session_id"]
    fix_task = await wait_for(client, started.json()["task_id"])
    assert fix_task["state"] == "DONE", fix_task
    assert fix_task["kind"] == "fix" and fix_task["result"]["session_id"] == fixed
    analysed = await wait_for_analysis(client, fixed)
    assert analysed.status_code == 200, analysed.text
    assert analysed.json()["report"]["total_examples"] == 49
    assert analysed.json()["report"]["duplicates"]["exact"]["count"] == 0
    assert (await client.get(f"/analyze/{original}")).json()["report"]["total_examples"] == 1000  # it stays
    version = await dataset_row(client, fixed)
    assert (version.origin, version.parent_id) == ("fix", original)
    assert [(f["action"], f["removed"]) for f in version.origin_detail["fixes"]] == [  # type: ignore[index]
        ("drop_exact_duplicates", 940), ("drop_near_duplicates", 11)]  # 1,000 - 940 - 11 = 49

    # Download it in each format, gzipped: every line one of the 49 examples.
    for fmt in FORMATS:
        got = await client.get(f"/datasets/{fixed}/export", params={"format": fmt, "gzip": "true"})
        assert got.status_code == 200, (fmt, got.text)
        lines = gzip.decompress(got.content).splitlines()
        assert len(lines) == 49 and all(isinstance(orjson.loads(line), dict) for line in lines), fmt

    # Push: refused at once without a token (nothing queued); with one, leak-free splits and a card.
    refused = await client.post(f"/datasets/{fixed}/push", json={"repo": "alice/clean"})
    assert refused.status_code == 401 and refused.json()["error"] == "hub_token_missing"
    assert await count_tasks(client, "hub_push") == 0
    key = {"X-HuggingFace-Key": "alice-write"}
    pushed = await client.post(f"/datasets/{fixed}/push", json={"repo": "alice/clean", "split": [80, 10, 10]},
                               headers=key)
    assert pushed.status_code == 202, pushed.text
    push_task = await wait_for(client, pushed.json()["task_id"])
    assert push_task["state"] == "DONE", push_task
    result = push_task["result"]
    assert result["repo_id"] == "alice/clean" and result["private"] and sum(result["splits"].values()) == 49
    assert "alice-write" not in str(push_task)
    back = read_back("alice/clean")
    assert {name: len(rows) for name, rows in back["splits"].items()} == result["splits"]
    assert list(result["splits"]) == ["train", "validation", "test"]
    card = back["card"]
    assert card["size_categories"] == ["n<1K"] and "en" in card["language"]
    assert {s["name"]: s["num_examples"] for s in card["dataset_info"]["splits"]} == result["splits"]
    assert "A cleaned version of `axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl`" in back["text"]
    assert "(940 removed)" in back["text"] and "(11 removed)" in back["text"]

    # Append the original: its exact copies of pushed rows are left out; the 11 near-duplicates are new.
    appended = await client.post(f"/datasets/{original}/append", json={"repo": "alice/clean", "split": "train"},
                                 headers=key)
    assert appended.status_code == 202, appended.text
    append_task = await wait_for(client, appended.json()["task_id"])
    assert append_task["state"] == "DONE", append_task
    assert (append_task["result"]["added"], append_task["result"]["left_out_duplicates"]) == (11, 989)
    train = result["splits"]["train"] + 11
    back = read_back("alice/clean")
    assert len(back["splits"]["train"]) == train
    assert {s["name"]: s["num_examples"] for s in back["card"]["dataset_info"]["splits"]}["train"] == train

    # Import it back: a new dataset, analysed like an upload, with the repo as its origin.
    imported = await client.post("/upload/hub", json={"repo": "alice/clean", "split": "train"}, headers=key)
    assert imported.status_code == 202, imported.text
    new_id = imported.json()["session_id"]
    report = await wait_for_analysis(client, new_id)
    assert report.status_code == 200, report.text
    assert report.json()["report"]["total_examples"] == train
    row = await dataset_row(client, new_id)
    assert row.origin == "hub_import" and row.origin_detail is not None
    assert (row.origin_detail["repo"], row.origin_detail["split"]) == ("alice/clean", "train")
    assert row.origin_detail["revision"] == hub.repo("alice/clean").head.sha


async def test_import_errors_are_the_route_s_or_the_task_s(client: httpx.AsyncClient, hub: HubStandIn,
                                                           settings: Settings) -> None:
    hub.add_repo("alice/secret", private=True, files={"data/train.jsonl": b'{"messages": []}\n'})
    for repo, code in (("not a repo", "invalid_input"), ("bare-name", "invalid_input")):
        r = await client.post("/upload/hub", json={"repo": repo})
        assert (r.status_code, r.json()["error"]) == (422, code), r.text
    assert await count_tasks(client, "hub_import") == 0

    # Only the Hub can say these: the import task fails, and GET /analyze answers with its error.
    for repo, headers, status, code in (("alice/secret", {}, 401, "hub_token_required"),
                                        ("alice/missing", {"X-HuggingFace-Key": "alice-write"}, 404,
                                         "hub_repo_not_found")):
        r = await client.post("/upload/hub", json={"repo": repo}, headers=headers)
        assert r.status_code == 202, r.text
        task = await wait_for(client, r.json()["task_id"])
        assert (task["state"], task["error"]["code"]) == ("ERROR", code), task
        answer = await client.get(f"/analyze/{r.json()['session_id']}")
        assert (answer.status_code, answer.json()["error"]) == (status, code), answer.text
        assert answer.json()["task_id"] == task["task_id"]
        assert not (settings.uploads_dir / r.json()["session_id"]).exists()  # nothing half-imported stays


async def test_the_saved_token_pushes_and_fix_choices_are_refused_before_queueing(
        client: httpx.AsyncClient, hub: HubStandIn, auth_headers: Callable[..., dict[str, str]]) -> None:
    owner = auth_headers("owner-5")
    hub.tokens["hf_owner_token"] = ("owner5", "write")
    assert (await client.put("/settings/hub-token", json={"token": "hf_owner_token"}, headers=owner)).status_code == 200
    session_id, _ = await upload_and_analyze(client, shared_file("openai_cookbook_toy_chat_fine_tuning.jsonl"),
                                             headers=owner)
    for body, code in (({"actions": []}, "invalid_input"),
                       ({"actions": ["drop_over_length", "flag_over_length"]}, "invalid_input")):
        r = await client.post(f"/datasets/{session_id}/fixes", json=body, headers=owner)
        assert (r.status_code, r.json()["error"]) == (422, code), r.text
    assert (await client.post(f"/datasets/{session_id}/fixes", json={"actions": ["mask_pii"]})).status_code == 404
    assert await count_tasks(client, "fix") == 0
    bad_split = await client.post(f"/datasets/{session_id}/push", json={"repo": "toy", "split": [50, 40]},
                                  headers=owner)
    assert bad_split.status_code == 422, bad_split.text
    pushed = await client.post(f"/datasets/{session_id}/push", json={"repo": "toy", "split": "train"},
                               headers=owner)  # no header: the saved token
    assert pushed.status_code == 202, pushed.text
    task = await wait_for(client, pushed.json()["task_id"], headers=owner)
    assert task["state"] == "DONE", task
    assert task["result"]["repo_id"] == "owner5/toy" and task["result"]["splits"] == {"train": 5}


async def test_analyze_answers_while_a_version_is_being_made(tmp_path: Path, hub: HubStandIn) -> None:
    # No worker: the tasks stay queued, so what GET /analyze says meanwhile can be looked at.
    settings = make_settings(tmp_path / "data", hf_endpoint=hub.url, embedded_workers=False)
    async with running_client(settings) as client:
        owner = {"Authorization": "Bearer " + mint_dev_token(settings.supabase_jwt_secret, settings.supabase_url,
                                                             "owner-9")}
        r = await client.post("/upload/hub", json={"repo": "alice/clean", "split": "test"}, headers=owner)
        assert r.status_code == 202, r.text
        started = r.json()
        assert started["task_id"] == started["session_id"]  # the import task's id is the new dataset's
        waiting = await client.get(f"/analyze/{started['session_id']}", headers=owner)
        assert waiting.status_code == 202, waiting.text
        body = waiting.json()
        assert (body["status"], body["task_id"], body["progress"]) == ("importing", started["task_id"], 0.0)
        assert body["detailed_status"][-1] == "Queued: importing alice/clean from the Hub"
        assert body["message"].startswith("Import from the Hub importing")
        hidden = await client.get(f"/analyze/{started['session_id']}")  # someone else's: not found
        assert (hidden.status_code, hidden.json()["error"]) == (404, "session_not_found")
        assert (await client.delete(f"/tasks/{started['task_id']}", headers=owner)).json()["state"] == "CANCELLED"
        stopped = await client.get(f"/analyze/{started['session_id']}", headers=owner)
        assert (stopped.status_code, stopped.json()["error"]) == (409, "hub_import_cancelled")

        fix_id = new_version_id()
        await engine.admit(app_state(client), "fix", None, "addr:test", {"dataset_id": fix_id}, task_id=fix_id,
                           status="Queued: making a fixed version")
        fixing = await client.get(f"/analyze/{fix_id}")
        assert (fixing.status_code, fixing.json()["status"]) == (202, "fixing"), fixing.text
        assert (await client.get("/analyze/no-such-version-id")).status_code == 404
