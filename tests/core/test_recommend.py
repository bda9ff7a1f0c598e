"""Realistic recommendation scenarios on profiles the real analysis computes from real and generated files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from backend.core.analysis import AnalysisOptions, analyze_file
from backend.core.catalog import Catalog, load_catalog
from backend.core.conversation import DatasetProfile
from backend.core.errors import InvalidInputError
from backend.core.recommend import RecommendationResult, RecommendRequest, recommend_models
from tests.conftest import shared_file

CATALOG = load_catalog()


def profile_of(path: Path, store: Path) -> DatasetProfile:
    return analyze_file(path, AnalysisOptions(), store).profile()


@pytest.fixture(scope="module")
def profiles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DatasetProfile]:
    root = tmp_path_factory.mktemp("recommend")
    long_file = root / "long.jsonl"
    # 20 conversations whose replies run to ~12,000 cl100k tokens ("Eat a banana!" is 4 tokens).
    with long_file.open("w", encoding="utf-8") as out:
        for i in range(20):
            reply = f"Answer {i}: " + "Eat a banana! " * 3000
            messages = [
                {"role": "user", "content": f"Question {i}: what should I eat?"},
                {"role": "assistant", "content": reply},
            ]
            out.write(json.dumps({"messages": messages}) + "\n")
    files = {
        "toy": shared_file("openai_cookbook_toy_chat_fine_tuning.jsonl"),
        "axolotl": shared_file("axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"),
        "glaive": shared_file("llamafactory_glaive_toolcall_en_demo.json"),
        "alpaca": shared_file("llamafactory_alpaca_en_demo.json"),
        "long": long_file,
    }
    out_profiles = {}
    for name, path in files.items():
        store = root / f"store-{name}"
        store.mkdir()
        out_profiles[name] = profile_of(path, store)
    return out_profiles


def ranked_ids(result: RecommendationResult) -> list[str]:
    return [r.entry.model_id for r in result.recommendations]


def excluded_by(result: RecommendationResult, rule: str) -> set[str]:
    return {x.entry.model_id for x in result.excluded if rule in x.rules}


def test_tiny_dataset(profiles: dict[str, DatasetProfile]) -> None:
    toy = profiles["toy"]
    assert toy.num_examples == 5
    result = recommend_models(toy, RecommendRequest.create("conversation", "cloud"))
    assert any("Only 5 examples" in w and "at least 10" in w for w in result.warnings)
    top = result.recommendations[0]
    assert top.entry.params_b >= 1.0
    # Every sub-1B model is told it will learn little, and none of them ranks in the top five.
    small = [r for r in result.recommendations if r.entry.params_b < 1.0]
    assert small and all(any("only 5 examples" in w for w in r.warnings) for r in small)
    assert all(r.rank > 5 for r in small)
    # Its longest reply (8,032 tokens) still fits every model, 8K ones included.
    assert toy.max_tokens == 8032 and not result.excluded


def test_long_examples_beyond_8k(profiles: dict[str, DatasetProfile]) -> None:
    long = profiles["long"]
    assert 11_000 < long.p95_tokens < 13_000
    result = recommend_models(long, RecommendRequest.create("generation", "cloud"))
    assert excluded_by(result, "check_context_length") == {
        "smollm2-135m-instruct",
        "smollm2-360m-instruct",
        "smollm2-1.7b-instruct",
        "gemma-2-2b-it",
    }
    assert all(r.entry.context_length >= 32768 for r in result.recommendations)
    for rec in result.recommendations:
        assert rec.suggested_max_seq_length >= long.p95_tokens
        assert any("Raise max_seq_length" in w for w in rec.warnings)
    assert any("Long examples" in w for w in result.warnings)


def test_system_prompts_with_templates_without_a_system_role(profiles: dict[str, DatasetProfile]) -> None:
    axolotl = profiles["axolotl"]
    assert axolotl.system_prompt_share == 1.0
    result = recommend_models(axolotl, RecommendRequest.create("instruction_following", "server"))
    by_id = {r.entry.model_id: r for r in result.recommendations}
    for model_id in ("gemma-2-2b-it", "mistral-7b-instruct-v0.3", "gemma-3-1b-it"):
        rec = by_id[model_id]
        assert any("has no system role" in w for w in rec.warnings)
        assert next(c for c in rec.components if c.name == "format_fit").value == 0.5
    for model_id in ("qwen3-4b", "phi-4-mini-instruct", "llama-3.2-3b-instruct"):
        assert any("Keeps your system prompts (100%" in reason for reason in by_id[model_id].reasons)
    # Same size band, same deployment: the template that keeps the system prompt ranks higher.
    assert by_id["llama-3.2-1b-instruct"].rank < by_id["gemma-3-1b-it"].rank


def test_multilingual_data(profiles: dict[str, DatasetProfile]) -> None:
    # The real axolotl file is English golf-strategy text, and is detected as such; the multilingual
    # scenario gives the same profile a 30% Spanish share.
    assert profiles["axolotl"].languages == {"en": 1.0}
    axolotl = dataclasses.replace(profiles["axolotl"], languages={"en": 0.7, "es": 0.3})
    spanish = axolotl.languages["es"]
    result = recommend_models(axolotl, RecommendRequest.create("qa", "cloud"))
    by_id = {r.entry.model_id: r for r in result.recommendations}
    assert any("Non-English data (es" in w for w in result.warnings)
    for english_only in ("smollm2-1.7b-instruct", "mistral-7b-instruct-v0.3", "gemma-2-2b-it"):
        rec = by_id[english_only]
        assert any("does not list es" in w for w in rec.warnings)
        language_fit = next(c for c in rec.components if c.name == "language_fit").value
        assert language_fit == pytest.approx(1 - spanish / sum(axolotl.languages.values()), abs=0.002)
    assert any("languages: es" in reason for reason in by_id["qwen2.5-7b-instruct"].reasons)


def test_mostly_foreign_language_data_ranks_models_that_list_it() -> None:
    profile = DatasetProfile(
        num_examples=2000,
        total_tokens=600_000,
        p95_tokens=700,
        max_tokens=1500,
        mean_assistant_tokens=120.0,
        system_prompt_share=0.0,
        multi_turn_share=0.1,
        non_alternating_share=0.0,
        tool_call_share=0.0,
        json_output_share=0.0,
        languages={"de": 0.5, "ja": 0.4, "en": 0.1},
    )
    result = recommend_models(profile, RecommendRequest.create("conversation", "desktop"))
    for rec in result.recommendations[:5]:
        assert rec.entry.supports_language("de") and rec.entry.supports_language("ja")
    smol = next(r for r in result.recommendations if r.entry.model_id == "smollm2-1.7b-instruct")
    assert any("does not list de, ja (90%" in w for w in smol.warnings)


def test_edge_deployment_of_a_tool_calling_model(profiles: dict[str, DatasetProfile]) -> None:
    glaive = profiles["glaive"]
    assert glaive.tool_call_share == 1.0
    result = recommend_models(glaive, RecommendRequest.create("tool_calling", "edge"))
    assert all(r.inference_gb <= 4.0 for r in result.recommendations)
    assert excluded_by(result, "check_deployment_memory") == {
        "qwen2.5-7b-instruct",
        "qwen3-8b",
        "mistral-7b-instruct-v0.3",
    }
    assert all(r.entry.supports_tool_calls for r in result.recommendations)
    assert "phi-4-mini-instruct" in excluded_by(result, "check_tool_template")
    assert {r.entry.family for r in result.recommendations} <= {"qwen2.5", "qwen3", "llama-3.2"}
    assert all(any("renders tool calls" in reason for reason in r.reasons) for r in result.recommendations)


def test_tool_data_on_a_template_without_tools_is_warned(profiles: dict[str, DatasetProfile]) -> None:
    result = recommend_models(profiles["glaive"], RecommendRequest.create("conversation", "cloud"))
    phi = next(r for r in result.recommendations if r.entry.model_id == "phi-4-mini-instruct")
    assert any("no tool-call format" in w for w in phi.warnings)


def test_commercial_only_and_no_gated(profiles: dict[str, DatasetProfile]) -> None:
    alpaca = profiles["alpaca"]
    plain = recommend_models(alpaca, RecommendRequest.create("instruction_following", "desktop"))
    assert "qwen2.5-3b-instruct" in ranked_ids(plain)
    commercial = recommend_models(
        alpaca, RecommendRequest.create("instruction_following", "desktop", commercial_only=True)
    )
    assert excluded_by(commercial, "check_commercial_licence") == {"qwen2.5-3b-instruct"}
    reason = next(x for x in commercial.excluded if x.entry.model_id == "qwen2.5-3b-instruct").reasons[0]
    assert "Qwen Research License" in reason
    # Removing one model leaves the others' order as it was.
    assert ranked_ids(commercial) == [m for m in ranked_ids(plain) if m != "qwen2.5-3b-instruct"]
    open_only = recommend_models(
        alpaca,
        RecommendRequest.create("instruction_following", "desktop", commercial_only=True, no_gated=True),
    )
    assert excluded_by(open_only, "check_gated") == {e.model_id for e in CATALOG if e.gated}
    assert all(not r.entry.gated and r.entry.commercial_use for r in open_only.recommendations)


def test_smaller_training_gpu_and_size_cap(profiles: dict[str, DatasetProfile]) -> None:
    result = recommend_models(
        profiles["alpaca"], RecommendRequest.create("qa", "cloud", training_gpu_gb=6, max_params_b=7.5)
    )
    assert excluded_by(result, "check_training_memory") == {
        "qwen2.5-7b-instruct",
        "qwen3-8b",
        "mistral-7b-instruct-v0.3",
    }
    assert excluded_by(result, "check_max_params") == {"qwen2.5-7b-instruct", "qwen3-8b"}
    assert all(r.entry.vram_gb_qlora_train <= 6 for r in result.recommendations)


def test_when_every_model_is_excluded_each_says_why(profiles: dict[str, DatasetProfile]) -> None:
    result = recommend_models(profiles["alpaca"], RecommendRequest.create("qa", "browser", max_params_b=0.1))
    assert result.recommendations == ()
    assert len(result.excluded) == len(CATALOG)
    assert all("check_max_params" in x.rules and len(x.rules) == len(x.reasons) for x in result.excluded)


def test_score_is_the_sum_of_its_breakdown(profiles: dict[str, DatasetProfile]) -> None:
    result = recommend_models(profiles["axolotl"], RecommendRequest.create("extraction", "mobile"))
    for rec in result.recommendations:
        assert rec.score == pytest.approx(sum(c.points for c in rec.components), abs=0.001)
        assert 0 <= rec.score <= 1
    scores = [r.score for r in result.recommendations]
    assert scores == sorted(scores, reverse=True)
    assert [r.rank for r in result.recommendations] == list(range(1, len(scores) + 1))


def test_deterministic_and_independent_of_catalogue_order(profiles: dict[str, DatasetProfile]) -> None:
    request = RecommendRequest.create("classification", "edge")
    first = recommend_models(profiles["alpaca"], request)
    assert recommend_models(profiles["alpaca"], request) == first
    reversed_catalog = Catalog(tuple(reversed(CATALOG.entries)), verified_on=CATALOG.verified_on)
    again = recommend_models(profiles["alpaca"], request, reversed_catalog)
    assert ranked_ids(again) == ranked_ids(first)
    assert [x.entry.model_id for x in again.excluded] == [x.entry.model_id for x in first.excluded]


def test_ties_go_to_the_smaller_model_then_the_id(profiles: dict[str, DatasetProfile]) -> None:
    base = CATALOG.get("qwen3-1.7b")
    twins = (
        base.model_copy(update={"model_id": "zz-twin"}),
        base.model_copy(update={"model_id": "aa-twin"}),
        base.model_copy(update={"model_id": "mm-smaller-twin", "params_b": 1.6999}),
        base,
    )
    result = recommend_models(
        profiles["alpaca"], RecommendRequest.create("qa", "cloud"), Catalog(twins, verified_on="x")
    )
    assert len({r.score for r in result.recommendations}) == 1  # a genuine tie
    assert ranked_ids(result) == ["mm-smaller-twin", "aa-twin", "qwen3-1.7b", "zz-twin"]
    assert "smaller model" in result.tie_break and "alphabetical" in result.tie_break


def test_a_dataset_without_usable_examples_is_refused(profiles: dict[str, DatasetProfile]) -> None:
    empty = dataclasses.replace(profiles["toy"], num_examples=0)
    with pytest.raises(InvalidInputError) as info:
        recommend_models(empty, RecommendRequest.create("qa", "cloud"))
    assert info.value.code == "empty_dataset"
