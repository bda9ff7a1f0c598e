"""Fixtures: the misbehaving OpenAI-compatible server (one per module), settings that point at it."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.settings import Settings
from tests.generation.fake_llm import FakeLLM

SECRET = "sk-test-DO-NOT-LEAK-4f9c2a7b1e"


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeLLM]:
    server = FakeLLM().start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server: FakeLLM) -> Iterator[FakeLLM]:
    fake_server.script = deque()
    fake_server.default = "ok"
    fake_server.delay = 0.0
    fake_server.slow_seconds = 2.0
    fake_server.echo_first_shot = False
    fake_server.requests.clear()
    fake_server.counter = itertools.count()
    fake_server.max_in_flight = 0
    fake_server.hold_after = None
    fake_server.release.clear()
    fake_server.answered = 0
    yield fake_server
    fake_server.hold_after = None  # a request still held by this test is let go
    fake_server.release.set()


def fake_settings(fake: FakeLLM, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "llm_providers": [{"name": "fake", "base_url": fake.base_url, "model": "fake-model", "label": "Fake",
                           "prompt_price_per_1m": 1.0, "completion_price_per_1m": 2.0}],
        "llm_max_retries": 3,
        "llm_timeout_seconds": 5.0,
        "openai_api_key": None,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def inputs_payload(rows: int = 10, **extra: Any) -> dict[str, Any]:
    return {"application_description": "A customer support assistant for an online shop",
            "num_inputs_to_generate": rows, "seeds": ["Where is my order?", "How do I return a damaged item?"],
            "batch_size": 5, **extra}
