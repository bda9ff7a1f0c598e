"""Each generation mode end to end through its task body, against the local OpenAI-compatible server:
rows, provenance, quotas, chunk provenance, the judge, seeds from a dataset, the estimate, providers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from backend.core.errors import InvalidInputError, UnauthorizedError, UnavailableError
from backend.core.generation.prompts import PROMPT_VERSION
from backend.core.generation.rows import read_rows
from backend.services.generation.bodies import (
    run_generate_examples,
    run_generate_inputs,
    run_generate_questions,
    run_generate_view,
)
from backend.services.generation.estimate import estimate_generation
from backend.services.generation.providers import list_providers, resolve_provider
from backend.services.tasks.context import LocalContext
from backend.settings import Settings
from tests.conftest import shared_file
from tests.generation.conftest import SECRET, fake_settings, inputs_payload
from tests.generation.fake_llm import FakeLLM


def test_seed_004_inputs_with_provenance_usage_and_a_dataset_file(fake: FakeLLM, tmp_path: Path) -> None:
    ctx = LocalContext(tmp_path / "task" / "1")
    result = run_generate_inputs(ctx, inputs_payload(12, exploration_mode="CREATIVE", random_seed=7),
                                 settings=fake_settings(fake, tmp_path))
    rows = read_rows(ctx.work_dir / "rows.jsonl")
    assert len(rows) == result["rows"] == 12
    assert rows[0]["provenance"] == {"provider": "fake", "model": "fake-model", "prompt_version": PROMPT_VERSION,
                                     "mode": "inputs", "exploration_mode": "CREATIVE", "attempt": 1, "batch": 0,
                                     "seeds": [0, 1]}
    assert fake.requests[0]["body"]["temperature"] == 0.95
    # usage is the server's own `usage`, summed; cost from the price table (1 and 2 USD per 1M tokens)
    usage = ctx.usage_totals
    assert usage["requests"] == len(fake.requests) == result["batches"]["sent"]
    assert usage["prompt_tokens"] == 100 * len(fake.requests)
    assert usage["cost_usd"] == pytest.approx((usage["prompt_tokens"] * 1 + usage["completion_tokens"] * 2) / 1e6)
    assert ctx.detailed_status[0] == "Checking the provider" and ctx.detailed_status[-1] == "Done: 12 of 12 rows"
    assert ctx.artifacts["rows"] == {"path": "rows.jsonl", "mode": "inputs"}
    dataset = [orjson.loads(line) for line in (ctx.work_dir / "dataset.jsonl").read_bytes().splitlines()]
    assert dataset == [{"text": row["input"]} for row in rows]
    assert orjson.loads((ctx.work_dir / "seeds.json").read_bytes()) == ["Where is my order?",
                                                                        "How do I return a damaged item?"]


def test_seed_000_classification_balances_labels_the_model_proposed(fake: FakeLLM, tmp_path: Path) -> None:
    ctx = LocalContext(tmp_path / "task" / "1")
    payload = {"prompt": "Sentiment of product reviews", "num_samples": 10, "task": "text_classification",
               "num_labels": 3, "valid_data": [{"text": "Love it, works great", "label": "positive"}],
               "invalid_data": [{"text": "asdf", "label": "positive"}]}
    result = run_generate_view(ctx, payload, settings=fake_settings(fake, tmp_path))
    rows = read_rows(ctx.work_dir / "rows.jsonl")
    assert Counter(r["label"] for r in rows) == {"positive": 4, "negative": 3, "neutral": 3}
    assert result["mode"] == "classification" and result["complete"]
    assert "Choosing labels" in ctx.detailed_status
    assert ctx.usage_totals["requests"] == 1 + result["batches"]["sent"]  # the labels request counts too
    prompt = fake.requests[1]["body"]["messages"][1]["content"]
    assert "Love it, works great" in prompt and "never write rows like these" in prompt
    dataset = (ctx.work_dir / "dataset.jsonl").read_bytes().splitlines()
    assert orjson.loads(dataset[0])["messages"][1] == {"role": "assistant", "content": rows[0]["label"]}


def test_seed_000_seq2seq_rows(fake: FakeLLM, tmp_path: Path) -> None:
    ctx = LocalContext(tmp_path / "task" / "1")
    result = run_generate_view(ctx, {"prompt": "English to French", "num_samples": 6, "task": "seq2seq"},
                               settings=fake_settings(fake, tmp_path))
    rows = read_rows(ctx.work_dir / "rows.jsonl")
    assert result["mode"] == "seq2seq" and len(rows) == 6
    assert all(set(r) == {"n", "input", "output", "provenance"} and r["input"] and r["output"] for r in rows)


def test_seed_000_questions_keep_their_chunks_and_the_judge_keeps_the_good_ones(
        fake: FakeLLM, tmp_path: Path) -> None:
    content = shared_file("llamafactory_wiki_demo.txt").read_text()[:8000]
    ctx = LocalContext(tmp_path / "task" / "1")
    payload = {"content": content, "index": 7, "multiple_chunks": True, "num_samples": 6, "chunk_tokens": 300,
               "judge": True, "judge_threshold": 4, "concurrency": 1}
    result = run_generate_questions(ctx, payload, settings=fake_settings(fake, tmp_path))
    rows = read_rows(ctx.work_dir / "rows.jsonl")
    chunks = ctx.artifacts["chunks"]
    assert len(chunks) >= 3 and all(c["tokens"] <= 300 for c in chunks)
    assert len(rows) == 6
    for row in rows:
        assert row["chunks"] == [row["chunk"], row["chunk"] + 1] and row["source_index"] == 7
        assert row["score"] >= 4
    assert result["dropped"]["judge_below_threshold"] > 0  # the stand-in judge scores every second pair 2
    assert result["batches"]["judge_requests"] == result["batches"]["succeeded"]
    # the fake answers with words from the chunks: grounded; a made-up answer would not be
    assert result["dropped"].get("not_grounded", 0) == 0


def test_grow_a_dataset_samples_seeds_from_it_and_never_repeats_it(fake: FakeLLM, tmp_path: Path) -> None:
    fake.echo_first_shot = True  # the model copies an example it was shown: the gates must catch it
    dataset = shared_file("llamafactory_pr5606_openai_training_data_blank_lines.jsonl")
    ctx = LocalContext(tmp_path / "task" / "1")
    payload = {"task_description": "An encouraging fitness guide", "num_examples": 8, "dataset_path": str(dataset),
               "num_seed_examples": 4, "num_shots": 2, "random_seed": 3, "system_prompt": "You are a fitness guide."}
    settings = fake_settings(fake, tmp_path)
    with pytest.raises(InvalidInputError) as err:  # a request cannot make the server read a file it names
        run_generate_examples(ctx, payload, settings=settings)
    assert err.value.code == "invalid_dataset_path" and fake.requests == []
    stored = settings.data_dir / "uploads" / dataset.name  # a dataset the server holds is fine
    stored.parent.mkdir(parents=True)
    stored.write_bytes(dataset.read_bytes())
    result = run_generate_examples(ctx, {**payload, "dataset_path": str(stored)}, settings=settings)
    rows = read_rows(ctx.work_dir / "rows.jsonl")
    assert len(rows) == 8 and result["dropped"]["exact_duplicate"] == result["batches"]["succeeded"]
    seeds = orjson.loads((ctx.work_dir / "seeds.json").read_bytes())
    assert len(seeds) == 4 and all(row["provenance"]["seeds"] for row in rows)
    assert all(row["messages"][0] == {"role": "system", "content": "You are a fitness guide."} for row in rows)
    assert "4 seeds sampled from 10 usable examples of 10 records" in ctx.logs


def test_the_estimate_counts_the_real_first_prompt_and_prices_it(fake: FakeLLM, tmp_path: Path) -> None:
    settings = fake_settings(fake, tmp_path)
    estimate = estimate_generation(settings, "inputs", inputs_payload(100))
    assert estimate["batches"] == 27 and estimate["tokenizer"] == "cl100k_base"
    assert estimate["prompt_tokens"] > 27 * 50
    assert estimate["cost_usd"] == pytest.approx((estimate["prompt_tokens"] + 2 * estimate["completion_tokens"]) / 1e6)
    assert estimate["provider"]["name"] == "fake" and "base_url" not in estimate["provider"]
    assert fake.requests == []  # nothing was sent
    local = estimate_generation(settings, "view", {"prompt": "p", "num_samples": 10, "task": "text_classification",
                                                   "provider": "local"})
    assert local["cost_usd"] is None and local["provider"]["tiny"]
    with pytest.raises(InvalidInputError) as err:
        estimate_generation(settings, "inputs", inputs_payload(5, provider="elsewhere"))
    assert err.value.code == "unknown_provider"


def test_providers_the_defaults_keys_and_what_clients_see(tmp_path: Path) -> None:
    openai_default = Settings(_env_file=None, data_dir=tmp_path, openai_api_key=None)  # type: ignore[call-arg]
    providers = list_providers(openai_default)
    assert [p["name"] for p in providers] == ["default", "local"]
    assert providers[0]["needs_request_key"] and providers[0]["label"] == "gpt-4o-mini (OpenAI)"
    assert providers[1]["tiny"] and "not for data you will train on" in providers[1]["note"]
    with pytest.raises(UnauthorizedError) as err:  # OpenAI without any key: refused before anything is sent
        run_generate_inputs(LocalContext(tmp_path / "t" / "1"), inputs_payload(5), settings=openai_default)
    assert err.value.code == "provider_key_missing"
    keyed = Settings(_env_file=None, data_dir=tmp_path, openai_api_key=SECRET)  # type: ignore[call-arg]
    assert not list_providers(keyed)[0]["needs_request_key"]
    assert SECRET not in str(list_providers(keyed))
    broken = Settings(_env_file=None, data_dir=tmp_path, llm_providers=[{"name": "x"}])  # type: ignore[call-arg]
    with pytest.raises(UnavailableError) as bad:
        resolve_provider(broken, None)
    assert bad.value.code == "provider_settings_invalid" and "base_url" in bad.value.detail


def test_a_resumed_classification_keeps_its_labels_and_quotas(fake: FakeLLM, tmp_path: Path) -> None:
    fake.script.extend(["ok", "ok"])  # the labels request and one batch, then the provider fails
    fake.default = "500"
    payload = {"prompt": "Sentiment of reviews", "num_samples": 9, "task": "text_classification", "num_labels": 3,
               "concurrency": 1, "batch_size": 3}
    settings = fake_settings(fake, tmp_path, llm_max_retries=0)
    with pytest.raises(UnavailableError):
        run_generate_view(LocalContext(tmp_path / "task" / "1"), payload, settings=settings)
    assert Counter(r["label"] for r in read_rows(tmp_path / "task" / "1" / "rows.jsonl")) == {"positive": 3}
    fake.default = "ok"
    ctx = LocalContext(tmp_path / "task" / "2")
    result = run_generate_view(ctx, payload, settings=settings)
    assert "Choosing labels" not in ctx.detailed_status  # the labels of attempt 1, not new ones
    assert result["resumed_rows"] == 3
    assert Counter(r["label"] for r in read_rows(ctx.work_dir / "rows.jsonl")) == {
        "positive": 3, "negative": 3, "neutral": 3}
