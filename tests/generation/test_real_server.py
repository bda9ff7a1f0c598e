"""A real OpenAI-compatible server, `transformers serve` with SmolLM2-135M-Instruct on 127.0.0.1, driven by the
task bodies through the real openai SDK; and the embedded provider running the same model in-process.

The tiny model's answers are rarely the JSON asked for: these tests assert structure, states, usage and
provenance after the lenient parse (every item a row or a counted drop, every request a success or a
counted failure), never what the model wrote.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from backend.core.generation.rows import read_rows
from backend.services.generation.bodies import run_generate_inputs, run_generate_questions
from backend.services.tasks.context import LocalContext, TaskCancelled
from backend.settings import Settings
from tests.api.conftest import wait_for_analysis
from tests.conftest import shared_file
from tests.notebook.smoke import ensure_smollm2
from tests.reliability.conftest import make_settings, running_client

pytestmark = pytest.mark.slow
SMALL = {"max_tokens": 48, "max_error_rate": 1.0, "concurrency": 1}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    return ensure_smollm2()


@pytest.fixture(scope="session")
def served_model(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base_url, model id) of `transformers serve` started once for the session."""
    port = free_port()
    cli = Path(sys.executable).with_name("transformers")
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("wb")
    process = subprocess.Popen(
        [str(cli), "serve", str(smollm2_dir), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        while True:  # ready in seconds; a server that died says so instead of hanging the suite
            if process.poll() is not None:
                pytest.fail(f"transformers serve exited with {process.returncode}; see {log.name}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=10).json()["data"]
        yield f"http://127.0.0.1:{port}/v1", models[0]["id"]
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def served_settings(served: tuple[str, str], tmp_path: Path) -> Settings:
    base_url, model = served
    return Settings(_env_file=None, data_dir=tmp_path / "data", llm_timeout_seconds=600,  # type: ignore[call-arg]
                    llm_providers=[{"name": "smol", "base_url": base_url, "model": model}])


def check_accounting(result: dict[str, Any], rows: list[dict[str, Any]], model: str) -> None:
    assert len(rows) == result["rows"]
    assert result["items_parsed"] == result["rows"] + sum(result["dropped"].values())
    assert result["batches"]["sent"] == result["batches"]["succeeded"] + result["batches"]["failed"]
    for row in rows:
        assert row["provenance"]["provider"] == "smol" and row["provenance"]["model"] == model


def test_a_whole_job_against_transformers_serve(served_model: tuple[str, str], tmp_path: Path) -> None:
    seen: list[tuple[float, int]] = []  # (rows reported, rows readable in the file) at each progress event

    def on_event(kind: str, data: dict[str, Any]) -> None:
        if kind == "progress":
            seen.append((data["done"], len(read_rows(ctx.work_dir / "rows.jsonl"))))

    ctx = LocalContext(tmp_path / "task" / "1", on_event=on_event)
    payload = {"application_description": "Questions customers ask a shoe shop", "num_inputs_to_generate": 3,
               "seeds": ["Do you have these sneakers in size 44?", "Can I return shoes I wore once?"],
               "batch_size": 3, "max_batches": 2, **SMALL}
    result = run_generate_inputs(ctx, payload, settings=served_settings(served_model, tmp_path))
    rows = read_rows(ctx.work_dir / "rows.jsonl")
    check_accounting(result, rows, served_model[1])
    assert result["batches"]["sent"] in (1, 2)
    # the server's own usage, request by request
    usage = ctx.usage_totals
    assert usage["requests"] == result["batches"]["sent"] == result["usage"]["requests"]
    assert usage["prompt_tokens"] > 50 * usage["requests"]  # the prompt alone is longer than that
    assert 0 < usage["completion_tokens"] <= 48 * usage["requests"]
    assert result["usage"]["estimated_usage_requests"] == 0 and result["usage"]["cost_usd"] is None
    # rows were readable as they were accepted: at every progress report the file held exactly those rows
    assert seen and all(done == readable for done, readable in seen)
    assert ctx.detailed_status[-1].startswith(f"Done: {result['rows']} of 3 rows")


def test_grounded_questions_against_transformers_serve(served_model: tuple[str, str], tmp_path: Path) -> None:
    ctx = LocalContext(tmp_path / "task" / "1")
    content = shared_file("llamafactory_wiki_demo.txt").read_text()[:1500]
    payload = {"content": content, "index": 2, "num_samples": 2, "batch_size": 2, "chunk_tokens": 128,
               "max_batches": 1, "tokenizer": "smollm2", **SMALL, "max_tokens": 32}
    result = run_generate_questions(ctx, payload, settings=served_settings(served_model, tmp_path))
    rows = read_rows(ctx.work_dir / "rows.jsonl")
    check_accounting(result, rows, served_model[1])
    assert all(c["tokens"] <= 128 for c in ctx.artifacts["chunks"])
    assert all(r["chunk"] == 0 and r["chunks"] == [0] and r["source_index"] == 2 for r in rows)


def test_the_embedded_provider_runs_in_process_and_says_it_is_tiny(smollm2_dir: Path, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    (settings.data_dir / "models").mkdir(parents=True)
    (settings.data_dir / "models" / "smollm2-135m-instruct").symlink_to(smollm2_dir)
    ctx = LocalContext(tmp_path / "task" / "1")
    payload = {"application_description": "Questions customers ask a shoe shop", "num_inputs_to_generate": 2,
               "seeds": ["Do you have these sneakers in size 44?"], "batch_size": 2, "max_batches": 1,
               "provider": "local", **SMALL, "max_tokens": 32}
    result = run_generate_inputs(ctx, payload, settings=settings)
    assert result["provider"]["tiny"] and "not for data you will train on" in result["warning"]
    assert any("not for data you will train on" in step for step in ctx.detailed_status)
    assert result["batches"]["sent"] == 1 and ctx.usage_totals["requests"] == 1
    assert 0 < ctx.usage_totals["completion_tokens"] <= 32
    rows = read_rows(ctx.work_dir / "rows.jsonl")
    assert all(r["provenance"]["tiny_model"] and r["provenance"]["provider"] == "local" for r in rows)


def test_cancel_against_transformers_serve(served_model: tuple[str, str], tmp_path: Path) -> None:
    def on_event(kind: str, data: dict[str, Any]) -> None:
        if kind in ("progress", "log") and ctx.usage_totals.get("requests", 0) >= 1:
            ctx.cancel()  # after the first answer, while the second request is being generated

    ctx = LocalContext(tmp_path / "task" / "1", on_event=on_event)
    payload = {"application_description": "Questions customers ask a shoe shop", "num_inputs_to_generate": 50,
               "seeds": ["Do you have these sneakers in size 44?"], "batch_size": 5, **SMALL, "concurrency": 2}
    with pytest.raises(TaskCancelled):
        run_generate_inputs(ctx, payload, settings=served_settings(served_model, tmp_path))
    assert ctx.usage_totals["requests"] == 1  # the request in flight was cancelled, not waited for
    assert len(read_rows(ctx.work_dir / "rows.jsonl")) <= 5


async def test_a_seed_004_job_through_the_api_against_transformers_serve(served_model: tuple[str, str],
                                                                         tmp_path: Path) -> None:
    """The whole product path once for real: route, task, worker, openai SDK, `transformers serve`, then either
    the dataset (analysed) or, when no answer of the tiny model passes the gates (it tends to copy the format
    hint as an object), the error that says so. Which of the two is the model's wisdom; the accounting is not."""
    base_url, model = served_model
    settings = make_settings(tmp_path / "data", llm_providers=[{"name": "smol", "base_url": base_url, "model": model}],
                             llm_local_enabled=False, llm_timeout_seconds=600, generation_workers=1)
    payload = {"application_description": "Questions customers ask a shoe shop", "num_inputs_to_generate": 3,
               "seeds": ["Do you have these sneakers in size 44?", "Can I return shoes I wore once?"],
               "batch_size": 3, "max_batches": 2, **SMALL}
    async with running_client(settings) as client:
        job = (await client.post("/data/generate", json=payload)).json()
        while job["state"] not in ("DONE", "ERROR", "CANCELLED"):
            await asyncio.sleep(0.2)
            job = (await client.get(f"/data/generate/{job['job_id']}")).json()
        task = (await client.get(f"/tasks/{job['job_id']}")).json()
        rows = [orjson.loads(line) for line in (await client.get(f"/data/rows/{job['job_id']}")).text.splitlines()]
        assert job["state"] in ("DONE", "ERROR"), job
        assert any(step.startswith("Generating 3 rows with") for step in job["detailed_status"])
        # the server's own usage, request by request; every parsed item is a row or a counted drop
        usage, metrics = task["usage"], task["metrics"]
        assert usage["requests"] == metrics["batches_sent"] and 1 <= usage["requests"] <= 2
        assert usage["prompt_tokens"] > 50 * usage["requests"]
        assert 0 < usage["completion_tokens"] <= 48 * usage["requests"]
        assert metrics["items_parsed"] == metrics["rows"] + metrics["rows_dropped"] and metrics["rows"] == len(rows)
        assert job["data"] == [row["input"] for row in rows]
        assert all(row["provenance"]["model"] == model for row in rows)
        if job["state"] == "ERROR":
            assert rows == [] and task["error"]["code"] == "generation_empty"
            assert job["detailed_status"][-1] == task["error"]["message"]
            assert "after 2 requests" in task["error"]["message"] and job["dataset_id"] is None
        else:
            analysed = await wait_for_analysis(client, job["dataset_id"])
            assert analysed.status_code == 200 and analysed.json()["total_examples"] == len(rows) > 0
