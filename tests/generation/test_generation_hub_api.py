"""Seed 000's Hub variants through the API with real workers: generate with the stand-in OpenAI-compatible
server, push to (or append to) the stand-in Hub, read the repo back with `datasets.load_dataset` as a user
would; and no key, OpenAI's or the Hub's, in the database, the data directory, the logs or an error body."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import huggingface_hub.constants
import pytest
from sqlalchemy import func, select

from backend.db.models import Task
from backend.settings import Settings
from tests.generation.fake_llm import FakeLLM
from tests.generation.test_generation_api import api_settings
from tests.reliability.conftest import running_client
from tests.support.hub_fixtures import read_back  # noqa: F401 - fixture
from tests.support.hub_standin import HubStandIn
from tests.tasks.conftest import app_state, wait_for

OPENAI_KEY = "sk-gen2-NEVER-STORED-7f3a9c"
HUB_TOKEN = "hf_gen2NeverStoredWriteToken4e1b"
OTHER_TOKEN = "hf_bobsOwnTokenNotAlices88c2"
LABELS = [{"name": "positive", "description": "the customer is happy"}, {"name": "negative"}]


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubStandIn]:
    # The stand-in speaks the classic LFS protocol, not Xet: this process and the workers (its environment).
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    standin = HubStandIn(tokens={HUB_TOKEN: ("alice", "write"), OTHER_TOKEN: ("bob", "write")}).start()
    yield standin
    standin.stop()


@pytest.fixture
def settings(fake: FakeLLM, hub: HubStandIn, tmp_path: Path) -> Settings:
    return api_settings(fake, tmp_path, hf_endpoint=hub.url)


def keys(hub_token: str = HUB_TOKEN) -> dict[str, str]:
    return {"X-OpenAI-Key": OPENAI_KEY, "X-HuggingFace-Key": hub_token}


async def test_data_is_generated_pushed_appended_and_no_key_is_kept_anywhere(
        settings: Settings, fake: FakeLLM, read_back: Callable[..., dict[str, Any]],  # noqa: F811
        caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    body = {"num_samples": 10, "repo": "alice/generated-sentiment", "labels": LABELS,
            "valid_data": [{"text": "Arrived early and works great", "label": "positive"}],
            "invalid_data": [{"text": "??", "label": "positive"}]}
    async with running_client(settings) as client:
        missing = await client.post("/data", json=body, headers={"X-OpenAI-Key": OPENAI_KEY})
        assert missing.status_code == 401 and missing.json()["error"] == "hub_token_missing"
        async with app_state(client).session() as session:
            assert await session.scalar(select(func.count()).select_from(Task)) == 0
        pushed = await client.post("/data", json=body, headers=keys())
        assert pushed.status_code == 200 and pushed.json()["status"] == "Accepted", pushed.text
        task = await wait_for(client, pushed.json()["task_id"])
        assert task["state"] == "DONE" and task["kind"] == "generation_hub", task
        hub_result = task["result"]["hub"]
        assert hub_result["repo_id"] == "alice/generated-sentiment" and sum(hub_result["splits"].values()) == 10
        repo = read_back("alice/generated-sentiment", HUB_TOKEN)
        assert sum(len(rows) for rows in repo["splits"].values()) == 10
        assert {name: len(rows) for name, rows in repo["splits"].items()} == hub_result["splits"]
        first = repo["splits"]["train"][0]["messages"]
        assert first[0]["role"] == "user" and first[1]["content"] in ("positive", "negative")
        assert "fake-model" in repo["text"] and repo["card"]["task_categories"] == ["text-classification"]
        # PUT /data: more rows into one split of the same repo
        more = {**body, "num_samples": 4, "split": "train"}
        appended = await client.put("/data", json=more, headers=keys())
        assert appended.status_code == 200, appended.text
        task = await wait_for(client, appended.json()["task_id"])
        assert task["state"] == "DONE" and task["result"]["hub"]["added"] == 4, task
        after = read_back("alice/generated-sentiment", HUB_TOKEN)
        assert len(after["splits"]["train"]) == len(repo["splits"]["train"]) + 4
        # someone else's token cannot write there: the task says so, without the token
        refused = await client.put("/data", json=more, headers=keys(OTHER_TOKEN))
        task = await wait_for(client, refused.json()["task_id"])
        assert task["state"] == "ERROR" and task["error"]["code"].startswith("hub_"), task
        assert OTHER_TOKEN not in str(task)
        # the provider got the request's key: it was used, and only sent there
        assert all(r["headers"]["authorization"] == f"Bearer {OPENAI_KEY}" for r in fake.requests)
        async with app_state(client).session() as session:
            secrets = await session.scalars(select(Task.secrets))
            assert all(value is None for value in secrets)  # wiped when each task ended
    logs = capfd.readouterr()
    for secret in (OPENAI_KEY, HUB_TOKEN, OTHER_TOKEN):
        assert secret not in logs.out and secret not in logs.err and secret not in caplog.text
        for path in settings.data_dir.rglob("*"):  # the databases, the queue, every task's and dataset's files
            assert not path.is_file() or secret.encode() not in path.read_bytes(), path


async def test_questions_are_pushed_then_appended(settings: Settings, fake: FakeLLM,
                                                  read_back: Callable[..., dict[str, Any]]) -> None:  # noqa: F811
    content = "The lighthouse keeper trims the lamp wick every evening before sunset. " * 40
    body = {"content": content, "index": 2, "multiple_chunks": False, "num_samples": 5, "chunk_tokens": 120,
            "repo": "alice/lighthouse-qa", "split": [60, 20, 20]}
    async with running_client(settings) as client:
        pushed = await client.post("/question", json=body, headers=keys())
        assert pushed.status_code == 200, pushed.text
        task = await wait_for(client, pushed.json()["task_id"])
        assert task["state"] == "DONE", task
        assert {r["source_index"] for r in task["result"]["data"]} == {2}
        appended = await client.put("/question", json={**body, "num_samples": 3, "split": "test",
                                                       "bulk_process": True}, headers=keys())
        task = await wait_for(client, appended.json()["task_id"])
        assert task["state"] == "DONE" and task["result"]["hub"]["split"] == "test", task
    repo = read_back("alice/lighthouse-qa", HUB_TOKEN)
    assert sum(len(rows) for rows in repo["splits"].values()) == 5 + task["result"]["hub"]["added"]
    assert repo["card"]["task_categories"] == ["question-answering"]
