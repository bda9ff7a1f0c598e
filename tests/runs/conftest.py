"""Training runs through the real app: the API, the task engine's embedded worker processes, real models on CPU.

The base model comes the way a user's does, from the Hugging Face Hub by its catalogue id
(HuggingFaceTB/SmolLM2-135M-Instruct) or Hub id (sentence-transformers/all-MiniLM-L6-v2), here from the
stand-in Hub serving the packaged SmolLM2 and MiniLM weights; the
worker downloads it with transformers into its own HF_HOME. One stand-in serves the whole session, so the
weights are downloaded once and later runs find them in the cache, as on a user's machine.
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import huggingface_hub.constants
import pytest

from backend.settings import Settings
from tests.api.conftest import auth_headers, upload_and_analyze  # noqa: F401 - fixtures and helpers for the package
from tests.reliability.conftest import make_settings, running_client
from tests.support.hub_fixtures import TOKENS
from tests.support.hub_standin import HubStandIn
from tests.training.conftest import SMOLLM2_CACHE, write_jsonl  # noqa: F401

SMOLLM2_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
FINAL = ("DONE", "ERROR", "CANCELLED")
# Small and fast: plumbing, not wisdom (2-3 steps, short sequences, one held-out prompt with a short answer).
FAST_CONFIG = {"max_seq_length": 128, "batch_size": 2, "grad_accum": 1, "lora_rank": 8, "lora_alpha": 8,
               "warmup_steps": 0}
QUICK = {"compare_prompts": 1, "max_new_tokens": 8}


@pytest.fixture(scope="session")
def model_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStandIn]:
    from backend.services import packaged_models

    source = packaged_models.ensure_smollm2(SMOLLM2_CACHE)
    hub = HubStandIn(tokens=dict(TOKENS)).start()
    repo = hub.add_repo(SMOLLM2_HUB_ID, "model", files={p.name: p.read_bytes() for p in source.iterdir()})
    weights = repo.head.files["model.safetensors"][0]
    repo.head.files["model.safetensors"] = (weights, True)  # served the LFS way, as the Hub does
    encoder = packaged_models.minilm_dir()
    minilm = hub.add_repo(MINILM_HUB_ID, "model", files={p.name: p.read_bytes() for p in encoder.iterdir()
                                                         if p.is_file()})
    minilm.head.files["model.safetensors"] = (minilm.head.files["model.safetensors"][0], True)
    hub.hf_home = tmp_path_factory.mktemp("worker-hf-home")  # type: ignore[attr-defined]
    yield hub
    hub.stop()


@pytest.fixture
def settings(tmp_path: Path, model_hub: HubStandIn, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # The worker processes read these from their environment (huggingface_hub reads them when imported).
    monkeypatch.setenv("HF_HOME", str(model_hub.hf_home))  # type: ignore[attr-defined]
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)
    # One thread per run (the machine is shared: threads beyond the free cores spin); a stop has a minute to
    # finish its step and save; a killed worker is noticed within seconds (a lease longer than the engine tests':
    # a training worker runs at a lower priority and the machine is shared, so renewals can be late).
    return make_settings(tmp_path / "data", hf_endpoint=model_hub.url, training_cpu_threads=1,
                         task_cancel_grace_seconds=60.0, task_lease_seconds=10.0, max_tasks_per_client=10)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_client(settings) as c:
        yield c


async def wait_for_task(client: httpx.AsyncClient, task_id: str, headers: dict[str, str],
                        states: tuple[str, ...] = FINAL, until: Any = None, timeout: float = 900.0) -> dict[str, Any]:
    """Poll GET /tasks/{id} until its state is one of `states` (and `until(task)` holds). The timeout only guards
    against a hung test; it is no performance limit."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        r = await client.get(f"/tasks/{task_id}", headers=headers)
        assert r.status_code == 200, r.text
        task: dict[str, Any] = r.json()
        if task["state"] in states and (until is None or until(task)):
            return task
        if task["state"] in FINAL and task["state"] not in states:
            raise AssertionError(f"task {task_id} ended {task['state']}: {task['error']}")
        assert loop.time() < deadline, f"task {task_id} is still {task['state']}: {task['detailed_status']}"
        await asyncio.sleep(0.2)


def unzip(data: bytes, target: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        archive.extractall(target)
        roots = {name.split("/")[0] for name in archive.namelist()}
    assert len(roots) == 1, roots
    return target / roots.pop()


def sse_events(text: str) -> list[dict[str, Any]]:
    events, current = [], {}
    for line in text.splitlines():
        if not line:
            if current:
                events.append(current)
            current = {}
        elif line.startswith("event:"):
            current["event"] = line[6:].strip()
        elif line.startswith("data:"):
            current["data"] = json.loads(line[5:].strip())
    return events


def jsonl_bytes(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


# A small labelled set: a review and its sentiment, as chat turns (the reply is the label).
REVIEWS = [
    ("The battery lasts for days and the screen is gorgeous.", "positive"),
    ("Stopped working after a week; support never answered.", "negative"),
    ("Exactly as described, arrived early, works perfectly.", "positive"),
    ("Cheap plastic, it cracked the first time I used it.", "negative"),
    ("I love it: quiet, fast, and easy to clean.", "positive"),
    ("Terrible sound and the app keeps crashing.", "negative"),
    ("Great value, I bought a second one for my parents.", "positive"),
    ("Refund took a month and the box was damaged.", "negative"),
    ("Comfortable, light and the colour is lovely.", "positive"),
    ("It smells of chemicals and gave me a headache.", "negative"),
    ("Setup took two minutes and it just works.", "positive"),
    ("The zipper broke and the seams are coming apart.", "negative"),
    ("Brilliant little gadget, the kids adore it.", "positive"),
    ("Does not fit, the sizes are all wrong.", "negative"),
    ("Five stars, would happily recommend to anyone.", "positive"),
    ("Worst purchase this year, a complete waste.", "negative"),
]


def review_rows() -> list[dict[str, Any]]:
    return [{"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": label}]}
            for text, label in REVIEWS]
