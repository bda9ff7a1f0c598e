"""`slmgen generate`: the estimate first, rows and a chat dataset written, a failed run continued by the next."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.cli import main
from backend.core.generation.rows import read_rows
from tests.conftest import shared_file
from tests.generation.fake_llm import FakeLLM


@pytest.fixture
def env(fake: FakeLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LLM_MAX_RETRIES", "0")
    monkeypatch.setenv("LLM_PROVIDERS", json.dumps([{"name": "fake", "base_url": fake.base_url, "model": "fake-model",
                                                     "prompt_price_per_1m": 1, "completion_price_per_1m": 2}]))
    return tmp_path


def test_generate_inputs_writes_rows_and_a_dataset(env: Path, fake: FakeLLM,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out, dataset = env / "inputs.jsonl", env / "inputs.dataset.jsonl"
    code = main(["generate", "inputs", "--description", "a support bot", "--seed", "Where is my order?",
                 "--seed", "Can I pay by card?", "-n", "7", "-o", str(out), "--dataset", str(dataset)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "estimate: 2 requests" in captured.err and "$" in captured.err
    assert "7 of 7 rows written" in captured.out
    rows = read_rows(out)
    assert len(rows) == 7 and all(r["provenance"]["provider"] == "fake" for r in rows)
    assert [json.loads(line) for line in dataset.read_text().splitlines()] == [{"text": r["input"]} for r in rows]


def test_estimate_only_sends_nothing(env: Path, fake: FakeLLM, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["generate", "view", "--prompt", "spam or not", "--task", "text_classification", "--labels",
                 "spam,ham", "-n", "40", "-o", str(env / "v.jsonl"), "--estimate"])
    assert code == 0 and "estimate: 11 requests" in capsys.readouterr().err
    assert fake.requests == [] and not (env / "v.jsonl").exists()


def test_a_failed_run_keeps_its_rows_and_the_next_run_continues(env: Path, fake: FakeLLM,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    fake.script.extend(["ok"])
    fake.default = "500"
    out = env / "qa.jsonl"
    content = env / "doc.txt"
    content.write_text("The harbor lantern was lit every evening by the keeper. " * 40)
    args = ["generate", "questions", "--content-file", str(content), "--chunk-tokens", "64", "-n", "8",
            "--concurrency", "1", "-o", str(out)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "requests to the provider 'fake' failed" in err and "5 rows kept" in err
    assert len(read_rows(out)) == 5
    fake.default = "ok"
    assert main(args) == 0
    rows = read_rows(out)
    assert len(rows) == 8 and rows[0]["provenance"]["attempt"] == 1
    assert sorted((env / "qa.jsonl.parts").iterdir()) == [env / "qa.jsonl.parts" / "1", env / "qa.jsonl.parts" / "2"]


def test_a_bad_option_is_an_error_line(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["generate", "inputs", "--description", "x", "--seed", "a", "-n", "5", "--batch-size", "20",
                 "-o", str(env / "x.jsonl")])
    assert code == 1
    assert "batch_size" in capsys.readouterr().err


def test_generate_examples_grows_a_local_dataset_file(env: Path, fake: FakeLLM,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    dataset = shared_file("llamafactory_pr5606_openai_training_data_blank_lines.jsonl")  # the user's own file
    out = env / "grown.jsonl"
    code = main(["generate", "examples", "--task", "a fitness guide", "--from-dataset", str(dataset), "-n", "5",
                 "-o", str(out), "--dataset", str(env / "grown.dataset.jsonl")])
    assert code == 0, capsys.readouterr().err
    assert len(read_rows(out)) == 5
    records = [json.loads(line) for line in (env / "grown.dataset.jsonl").read_text().splitlines()]
    assert all([m["role"] for m in r["messages"]] == ["user", "assistant"] for r in records)
