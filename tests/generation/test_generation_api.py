"""Generation through the API with real workers (the app's embedded `slmgen worker`) against the stand-in
OpenAI-compatible server: seed 004's jobs (rows before DONE, usage, cancel, 409), seed 000's /data/view and
/question through /track, a generated dataset analysed and turned into a notebook, and every refusal made
before anything is queued."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from backend.db.models import Dataset, Task
from backend.settings import Settings
from tests.api.conftest import auth_headers, upload_and_analyze, wait_for_analysis  # noqa: F401 - fixture
from tests.conftest import shared_file
from tests.generation.conftest import inputs_payload
from tests.generation.fake_llm import FakeLLM
from tests.reliability.conftest import make_settings, running_client
from tests.tasks.conftest import app_state, wait_for, worker_pid

TOY = "openai_cookbook_toy_chat_fine_tuning.jsonl"


def api_settings(fake: FakeLLM, tmp_path: Path, **overrides: Any) -> Settings:
    providers = [{"name": "fake", "base_url": fake.base_url, "model": "fake-model", "label": "Fake",
                  "prompt_price_per_1m": 1.0, "completion_price_per_1m": 2.0},
                 {"name": "openai", "base_url": "https://api.openai.com/v1", "model": "gpt-4o-mini"}]
    values: dict[str, Any] = {"llm_providers": providers, "llm_local_enabled": False, "task_lease_seconds": 6.0,
                              "task_cancel_grace_seconds": 1.0, "generation_workers": 1, "llm_max_retries": 1,
                              "llm_timeout_seconds": 10.0, **overrides}
    return make_settings(tmp_path / "data", **values)


@pytest.fixture
def settings(fake: FakeLLM, tmp_path: Path) -> Settings:
    return api_settings(fake, tmp_path)


async def poll_job(client: httpx.AsyncClient, job_id: str, until: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    while True:
        r = await client.get(f"/data/generate/{job_id}")
        assert r.status_code == 200, r.text
        if until(r.json()):
            return dict(r.json())
        await asyncio.sleep(0.05)


async def test_a_seed_004_job_streams_rows_before_done_and_becomes_an_analysed_dataset(
        settings: Settings, fake: FakeLLM) -> None:
    fake.hold_after = 1  # the first batch is answered, the next ones wait: the job is seen part-way through
    async with running_client(settings) as client:
        started = await client.post("/data/generate", json=inputs_payload(15, concurrency=1, random_seed=3))
        assert started.status_code == 200, started.text
        job = started.json()
        assert job["state"] == "QUEUED" and job["data"] == [] and job["detailed_status"] == ["Queued"]
        part_way = await poll_job(client, job["job_id"], lambda j: len(j["data"]) > 0)
        assert part_way["state"] == "RUNNING" and len(part_way["data"]) == 5
        assert "Generating 15 rows with Fake" in part_way["detailed_status"]
        streamed = await client.get(f"/data/generate/{job['job_id']}/data", params={"follow": "false"})
        assert streamed.text.splitlines() == part_way["data"]  # the rows so far, as text lines
        fake.release.set()
        done = await poll_job(client, job["job_id"], lambda j: j["state"] in ("DONE", "ERROR", "CANCELLED"))
        assert done["state"] == "DONE", done
        assert len(done["data"]) == 15 and done["data"][:5] == part_way["data"]
        assert all(line.startswith("input ") for line in done["data"])
        # usage from the server's own `usage` (100 prompt tokens per answer), and the price table's cost
        assert done["usage"]["requests"] == len(fake.requests) == 3
        assert done["usage"]["prompt_tokens"] == 300
        assert done["usage"]["cost_usd"] == pytest.approx((300 + 2 * done["usage"]["completion_tokens"]) / 1e6)
        following = await client.get(f"/data/generate/{job['job_id']}/data")  # follow: ends with the job
        assert following.text.splitlines() == done["data"]
        again = await client.delete(f"/data/generate/{job['job_id']}")
        assert again.status_code == 409 and again.json()["error"] == "task_finished"
        # the inputs are a dataset now, analysed like an upload, with its lineage
        analysed = await wait_for_analysis(client, done["dataset_id"])
        assert analysed.status_code == 200, analysed.text
        assert analysed.json()["total_examples"] == 15
        async with app_state(client).session() as session:
            dataset = await session.get(Dataset, done["dataset_id"])
        assert dataset is not None and dataset.origin == "generation" and dataset.stored_name == "upload.jsonl"
        detail = dataset.origin_detail or {}
        assert (detail["provider"], detail["model"], detail["mode"]) == ("fake", "fake-model", "inputs")
        assert detail["exploration_mode"] == "BALANCED" and detail["prompt_version"]
        assert detail["seeds"]["shown"] == inputs_payload()["seeds"] and detail["counts"]["rows"] == 15
        assert detail["task_id"] == job["job_id"] and detail["warning"] is None
        task = (await client.get(f"/tasks/{job['job_id']}")).json()
        assert task["kind"] == "generation_inputs" and task["dataset_id"] == done["dataset_id"]


async def test_cancel_stops_a_running_job_and_keeps_its_rows(settings: Settings, fake: FakeLLM) -> None:
    fake.hold_after = 1
    async with running_client(settings) as client:
        job = (await client.post("/data/generate", json=inputs_payload(50, concurrency=1))).json()
        await poll_job(client, job["job_id"], lambda j: len(j["data"]) == 5)
        stopping = await client.delete(f"/data/generate/{job['job_id']}")
        assert stopping.status_code in (200, 202), stopping.text
        assert stopping.json()["state"] in ("RUNNING", "CANCELLED")  # seed 004 has no CANCELLING
        stopped = await poll_job(client, job["job_id"], lambda j: j["state"] != "RUNNING")
        assert stopped["state"] == "CANCELLED" and len(stopped["data"]) == 5
        assert stopped["dataset_id"] is None  # only a finished generation becomes a dataset
        assert (await client.delete(f"/data/generate/{job['job_id']}")).status_code == 409
        assert len(fake.requests) == 2  # the held request was the last one sent


async def test_a_worker_killed_mid_job_is_retried_and_the_retry_resumes_from_the_rows_written(
        fake: FakeLLM, tmp_path: Path) -> None:
    fake.hold_after = 1
    async with running_client(api_settings(fake, tmp_path, task_lease_seconds=3.0)) as client:
        job = (await client.post("/data/generate", json=inputs_payload(15, concurrency=1))).json()
        first = await poll_job(client, job["job_id"], lambda j: len(j["data"]) == 5)
        async with app_state(client).session() as session:
            row = await session.get(Task, job["job_id"])
        assert row is not None and row.worker
        os.kill(worker_pid(row.worker), signal.SIGKILL)  # mid-job, a request in flight
        fake.release.set()
        done = await poll_job(client, job["job_id"], lambda j: j["state"] in ("DONE", "ERROR", "CANCELLED"))
        task = (await client.get(f"/tasks/{job['job_id']}")).json()
        assert (done["state"], task["attempt"]) == ("DONE", 2), task
        assert task["result"]["resumed_rows"] == 5 and done["data"][:5] == first["data"] and len(done["data"]) == 15
        assert len(fake.requests) == 4  # 2 by the first attempt (one never answered), 2 for the 10 rows left
        assert (await wait_for_analysis(client, done["dataset_id"])).json()["total_examples"] == 15


async def test_seed_000_view_and_question_reach_done_through_track(settings: Settings, fake: FakeLLM) -> None:
    async with running_client(settings) as client:
        view = await client.post("/data/view", json={"prompt": "Sentiment of product reviews", "num_samples": 6,
                                                     "task": "text_classification",
                                                     "labels": ["positive", "negative"]})
        assert view.status_code == 200 and view.json()["status"] == "Accepted", view.text
        content = shared_file("llamafactory_wiki_demo.txt").read_text()[:3000]
        question = await client.post("/question", json={"content": content, "index": 3, "num_samples": 4,
                                                        "multiple_chunks": False, "chunk_tokens": 200})
        assert question.status_code == 200, question.text
        for accepted in (view, question):
            await wait_for(client, accepted.json()["task_id"])
        tracked = (await client.get(f"/track/{view.json()['task_id']}")).json()["response"]
        assert tracked["state"] == "DONE" and tracked["kind"] == "generation_view"
        rows = tracked["result"]["data"]
        assert len(rows) == 6 and {r["label"] for r in rows} == {"positive", "negative"}
        assert sorted(r["label"] for r in rows).count("positive") == 3  # balanced quotas
        tracked = (await client.get(f"/track/{question.json()['task_id']}")).json()["response"]
        assert tracked["state"] == "DONE", tracked
        pairs = tracked["result"]["data"]
        assert len(pairs) == 4 and all(p["source_index"] == 3 and p["chunks"] == [p["chunk"]] for p in pairs)
        lines = (await client.get(f"/data/rows/{question.json()['task_id']}")).text.splitlines()
        assert [line.count('"provenance"') for line in lines] == [1] * 4
        # a seed 004 route does not answer for another kind of task
        assert (await client.get(f"/data/generate/{view.json()['task_id']}")).status_code == 404


async def test_grown_examples_are_analysed_recommended_and_become_a_notebook(
        settings: Settings, fake: FakeLLM, auth_headers: Callable[..., dict[str, str]]) -> None:  # noqa: F811
    me, someone = auth_headers("grower-1"), auth_headers("someone-else")
    async with running_client(settings) as client:
        source, _ = await upload_and_analyze(client, shared_file(TOY), headers=me)
        body = {"task_description": "A tutor that explains physics simply", "num_examples": 6, "session_id": source,
                "num_seed_examples": 4}
        assert (await client.post("/data/examples", json=body, headers=someone)).status_code == 404
        accepted = await client.post("/data/examples", json=body, headers=me)
        assert accepted.status_code == 200, accepted.text
        task = await wait_for(client, accepted.json()["task_id"], headers=me)
        assert task["state"] == "DONE", task
        prompt = fake.requests[0]["body"]["messages"][-1]["content"]
        assert '{"messages"' in prompt  # seeds sampled from the uploaded dataset were shown
        generated = task["result"]["dataset_id"]
        report = await wait_for_analysis(client, generated, me)
        assert report.status_code == 200 and report.json()["total_examples"] == 6
        assert (await client.get(f"/analyze/{generated}", headers=someone)).status_code == 404
        ranked = await client.post("/recommend", headers=me, json={"session_id": generated, "task_type": "conversation",
                                                                   "deployment_target": "cloud"})
        assert ranked.status_code == 200, ranked.text
        model = ranked.json()["recommendations"][0]["model_id"]
        notebook = await client.post("/generate", headers=me, json={"session_id": generated, "model_id": model})
        assert notebook.status_code == 200, notebook.text
        jobs = (await client.get("/jobs", headers=me)).json()
        assert {j["session_id"] for j in jobs} == {source, generated}
        async with app_state(client).session() as session:
            dataset = await session.get(Dataset, generated)
        assert dataset is not None and dataset.parent_id == source and dataset.owner_id == "grower-1"


async def test_refusals_come_before_anything_is_queued(settings: Settings, fake: FakeLLM,
                                                       auth_headers: Callable[..., dict[str, str]]) -> None:  # noqa: F811
    key = "sk-refused-NEVER-ECHO-91d2"
    async with running_client(settings) as client:
        cases = [
            ({**inputs_payload(), "num_inputs_to_generate": 0}, {}, 422, "num_inputs_to_generate"),
            ({**inputs_payload(), "batch_size": 11}, {}, 422, "batch_size"),
            ({**inputs_payload(), "exploration_mode": "WILD"}, {}, 422, "exploration_mode"),
            ({**inputs_payload(), "provider": "nowhere"}, {}, 422, "nowhere"),
            ({**inputs_payload(), "api_key": key}, {}, 422, "X-OpenAI-Key"),
            ({**inputs_payload(), "provider": "openai"}, {}, 401, "X-OpenAI-Key"),
            (inputs_payload(), {"X-OpenAI-Key": "bad\nkey"}, 401, "API key"),
        ]
        for body, headers, status, named in cases:
            r = await client.post("/data/generate", json=body, headers=headers)
            assert r.status_code == status and named in r.json()["detail"], (body, r.text)
            assert key not in r.text
        grow = {"task_description": "x", "num_examples": 3, "dataset_path": str(settings.data_dir)}
        r = await client.post("/data/examples", json=grow)
        assert r.status_code == 422 and r.json()["field"] == "dataset_path"
        r = await client.post("/data/examples", json={"task_description": "x", "num_examples": 3,
                                                      "session_id": "no-such-session-id"})
        assert r.status_code == 404
        r = await client.post("/data/view", json={"prompt": "p", "num_samples": 3, "task": "summaries"})
        assert r.status_code == 422 and "task" in r.json()["detail"]
        r = await client.post("/question", json={"content": "text", "num_samples": 2, "repo": "alice/qa"})
        assert r.status_code == 401 and r.json()["error"] == "hub_token_missing"
        async with app_state(client).session() as session:
            assert await session.scalar(select(func.count()).select_from(Task)) == 0
        assert fake.requests == []
        # what a client may see of the providers, and a price before starting
        listed = (await client.get("/data/providers")).json()["providers"]
        assert [(p["name"], p["needs_request_key"]) for p in listed] == [("fake", False), ("openai", True)]
        assert fake.base_url not in str(listed) and "api.openai.com" not in str(listed)
        priced = await client.post("/data/estimate", json={"kind": "inputs", "request": inputs_payload(40)})
        assert priced.status_code == 200, priced.text
        estimate = priced.json()
        assert estimate["batches"] >= 8 and estimate["prompt_tokens"] > 0 and estimate["cost_usd"] > 0
        assert estimate["provider"]["name"] == "fake"
        bad = await client.post("/data/estimate", json={"kind": "inputs", "request": {"seeds": []}})
        assert bad.status_code == 422 and "application_description" in bad.json()["detail"]
