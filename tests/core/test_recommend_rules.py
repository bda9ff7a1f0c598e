"""Each recommendation rule and score component, table-driven over real catalogue entries."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from backend.core.catalog import load_catalog
from backend.core.conversation import DatasetProfile
from backend.core.errors import InvalidInputError
from backend.core.recommend import CHECKS, HINTS, SCORERS, WEIGHTS, Note, RecommendRequest, RuleContext
from backend.core.recommend import rules as r
from backend.core.recommend import scoring as s

# A plain English dataset with short examples; each case changes only what it tests.
BASE = DatasetProfile(
    num_examples=1000,
    total_tokens=250_000,
    p95_tokens=400,
    max_tokens=900,
    mean_assistant_tokens=80.0,
    system_prompt_share=0.0,
    multi_turn_share=0.0,
    non_alternating_share=0.0,
    tool_call_share=0.0,
    json_output_share=0.0,
    languages={"en": 1.0},
    tokenizer="cl100k_base",
    tokens_exact=True,
)


def ctx(model_id: str, profile: dict[str, Any] | None = None, **request: Any) -> RuleContext:
    task = request.pop("task", "instruction_following")
    target = request.pop("target", "cloud")
    return RuleContext(
        profile=dataclasses.replace(BASE, **(profile or {})),
        request=RecommendRequest.create(task, target, **request),
        entry=load_catalog().get(model_id),
    )


CHECK_CASES: list[tuple[Callable[[RuleContext], str | None], RuleContext, str | None]] = [
    (r.check_commercial_licence, ctx("qwen2.5-3b-instruct", commercial_only=True), "Qwen Research License"),
    (r.check_commercial_licence, ctx("qwen2.5-3b-instruct"), None),
    (r.check_commercial_licence, ctx("llama-3.2-1b-instruct", commercial_only=True), None),
    (r.check_gated, ctx("mistral-7b-instruct-v0.3", no_gated=True), "mistralai/Mistral-7B-Instruct-v0.3"),
    (r.check_gated, ctx("gemma-3-270m-it", no_gated=True), "google/gemma-3-270m-it"),
    (r.check_gated, ctx("phi-4-mini-instruct", no_gated=True), None),
    (r.check_gated, ctx("mistral-7b-instruct-v0.3"), None),
    (r.check_max_params, ctx("qwen3-4b", max_params_b=3.5), "4B parameters, above your limit of 3.5B"),
    (r.check_max_params, ctx("qwen3-4b", max_params_b=4), None),
    (
        r.check_training_memory,
        ctx("qwen3-8b", training_gpu_gb=6),
        "a 6 GB GPU: 4-bit QLoRA needs about 7.1 GB",
    ),
    (r.check_training_memory, ctx("qwen3-8b"), None),
    (
        r.check_deployment_memory,
        ctx("qwen2.5-7b-instruct", target="edge"),
        "about 5.5 GB at 4bit against a 4 GB",
    ),
    (
        r.check_deployment_memory,
        ctx("llama-3.2-3b-instruct", target="mobile"),
        "about 2.3 GB at 4bit against a 2 GB",
    ),
    (
        r.check_deployment_memory,
        ctx("gemma-2-2b-it", target="browser"),
        "about 1.9 GB at 4bit against a 1.5 GB",
    ),
    (r.check_deployment_memory, ctx("llama-3.2-1b-instruct", target="mobile"), None),
    (r.check_deployment_memory, ctx("qwen3-8b", target="server"), None),
    (r.check_deployment_memory, ctx("qwen3-8b", target="desktop"), None),
    (r.check_context_length, ctx("smollm2-1.7b-instruct", {"p95_tokens": 12000}), "12,000 tokens or longer"),
    (r.check_context_length, ctx("gemma-2-2b-it", {"p95_tokens": 8193}), "8,192-token context"),
    (r.check_context_length, ctx("gemma-2-2b-it", {"p95_tokens": 8192}), None),
    (r.check_context_length, ctx("qwen3-4b", {"p95_tokens": 40000}), "32,768-token context"),
    (r.check_context_length, ctx("llama-3.2-3b-instruct", {"p95_tokens": 40000}), None),
    (r.check_tool_template, ctx("gemma-3-4b-it", task="tool_calling"), "the gemma-3 chat template"),
    (r.check_tool_template, ctx("phi-4-mini-instruct", task="tool_calling"), "the phi-4-mini chat template"),
    (r.check_tool_template, ctx("qwen3-1.7b", task="tool_calling"), None),
    (r.check_tool_template, ctx("gemma-3-4b-it", task="qa"), None),
]


@pytest.mark.parametrize(("check", "context", "expected"), CHECK_CASES)
def test_check(
    check: Callable[[RuleContext], str | None], context: RuleContext, expected: str | None
) -> None:
    message = check(context)
    if expected is None:
        assert message is None
    else:
        assert message is not None and expected in message


def test_every_check_is_covered_by_an_excluding_case() -> None:
    excluding = {check for check, _, expected in CHECK_CASES if expected is not None}
    assert excluding == set(CHECKS)


HINT_CASES: list[tuple[Callable[[RuleContext], tuple[Note, ...]], RuleContext, str, str]] = [
    (
        r.hint_task_size,
        ctx("smollm2-135m-instruct", task="tool_calling"),
        "warning",
        "Small for tool calling",
    ),
    (
        r.hint_task_size,
        ctx("qwen3-8b", task="classification"),
        "reason",
        "Larger than classification usually",
    ),
    (r.hint_task_size, ctx("qwen2.5-1.5b-instruct"), "reason", "Its size (1.5B) suits instruction following"),
    (
        r.hint_deployment_fit,
        ctx("llama-3.2-1b-instruct", target="mobile"),
        "reason",
        "about 0.9 GB at 4bit of a 2 GB",
    ),
    (r.hint_deployment_fit, ctx("qwen3-8b", target="server"), "warning", "Tight fit on server"),
    (
        r.hint_training_gpu,
        ctx("qwen3-1.7b"),
        "reason",
        "a free Colab T4 (16 GB) with 4-bit QLoRA (about 2.3 GB)",
    ),
    (r.hint_training_gpu, ctx("qwen3-8b", training_gpu_gb=8), "warning", "most of the GPU's 8 GB"),
    (r.hint_context, ctx("qwen3-4b"), "reason", "95% of your examples (400 tokens or fewer) fit its 32,768"),
    (
        r.hint_context,
        ctx("smollm2-1.7b-instruct", {"p95_tokens": 3000, "max_tokens": 9000}),
        "warning",
        "longest example (9,000 tokens) exceeds",
    ),
    (
        r.hint_context,
        ctx("smollm2-1.7b-instruct", {"p95_tokens": 3000}),
        "warning",
        "Raise max_seq_length to 3,072 (default 2,048)",
    ),
    (
        r.hint_context,
        ctx("qwen3-4b", {"p95_tokens": 20000, "max_tokens": 30000}),
        "warning",
        "Token counts come from cl100k_base",
    ),
    (r.hint_dataset_size, ctx("smollm2-135m-instruct", {"num_examples": 40}), "warning", "only 40 examples"),
    (
        r.hint_system_prompts,
        ctx("gemma-2-2b-it", {"system_prompt_share": 0.6}),
        "warning",
        "60% of your examples have a system prompt, but the gemma2 template has no system role",
    ),
    (
        r.hint_system_prompts,
        ctx("mistral-7b-instruct-v0.3", {"system_prompt_share": 1.0}),
        "warning",
        "merges it into the first user turn",
    ),
    (
        r.hint_system_prompts,
        ctx("qwen2.5-1.5b-instruct", {"system_prompt_share": 0.6}),
        "reason",
        "Keeps your system prompts (60% of examples)",
    ),
    (
        r.hint_alternation,
        ctx("gemma-3-1b-it", {"non_alternating_share": 0.25}),
        "warning",
        "25% of your examples have two turns in a row",
    ),
    (
        r.hint_tool_calls,
        ctx("phi-4-mini-instruct", {"tool_call_share": 0.7}),
        "warning",
        "the phi-4-mini template has no tool-call format",
    ),
    (
        r.hint_tool_calls,
        ctx("llama-3.2-3b-instruct", {"tool_call_share": 0.7}),
        "reason",
        "renders tool calls",
    ),
    (
        r.hint_json_outputs,
        ctx("smollm2-360m-instruct", {"json_output_share": 0.8}),
        "warning",
        "break JSON syntax",
    ),
    (
        r.hint_json_outputs,
        ctx("qwen2.5-1.5b-instruct", {"json_output_share": 0.8}),
        "reason",
        "structured JSON",
    ),
    (
        r.hint_languages,
        ctx("smollm2-1.7b-instruct", {"languages": {"en": 0.5, "de": 0.3, "ja": 0.2}}),
        "warning",
        "does not list de, ja (50% of your examples)",
    ),
    (
        r.hint_languages,
        ctx("qwen2.5-7b-instruct", {"languages": {"en": 0.5, "de": 0.3, "ja": 0.2}}),
        "reason",
        "languages: de, ja",
    ),
    (
        r.hint_languages,
        ctx("llama-3.2-1b-instruct", {"languages": {"de": 0.5, "ja": 0.5}}),
        "warning",
        "does not list ja (50%",
    ),
    (
        r.hint_languages,
        ctx("llama-3.2-1b-instruct", {"languages": {"de": 0.5, "ja": 0.5}}),
        "reason",
        ": de.",
    ),
    (r.hint_licence, ctx("llama-3.2-1b-instruct"), "warning", "700M monthly active users"),
    (r.hint_licence, ctx("qwen2.5-3b-instruct"), "warning", "non-commercial use only"),
    (r.hint_licence, ctx("phi-4-mini-instruct"), "reason", "Permissive licence (mit)"),
    (
        r.hint_gated,
        ctx("mistral-7b-instruct-v0.3"),
        "warning",
        "accept the terms on https://huggingface.co/mistralai/Mistral-7B-Instruct-v0.3",
    ),
]


@pytest.mark.parametrize(("hint", "context", "kind", "text"), HINT_CASES)
def test_hint(
    hint: Callable[[RuleContext], tuple[Note, ...]], context: RuleContext, kind: str, text: str
) -> None:
    notes = hint(context)
    assert any(n.kind == kind and text in n.text for n in notes), notes


def test_every_hint_is_covered() -> None:
    assert {hint for hint, *_ in HINT_CASES} == set(HINTS)


SILENT_CASES: list[tuple[Callable[[RuleContext], tuple[Note, ...]], RuleContext]] = [
    (r.hint_dataset_size, ctx("qwen3-1.7b", {"num_examples": 40})),
    (r.hint_dataset_size, ctx("smollm2-135m-instruct", {"num_examples": 100})),
    (r.hint_system_prompts, ctx("gemma-2-2b-it")),
    (r.hint_alternation, ctx("qwen3-1.7b", {"non_alternating_share": 0.5})),
    (r.hint_alternation, ctx("gemma-3-1b-it")),
    (r.hint_tool_calls, ctx("phi-4-mini-instruct")),
    (r.hint_json_outputs, ctx("smollm2-360m-instruct", {"json_output_share": 0.29})),
    (r.hint_languages, ctx("smollm2-360m-instruct", {"languages": {"en": 0.97, "und": 0.03}})),
    (r.hint_gated, ctx("qwen3-8b")),
]


@pytest.mark.parametrize(("hint", "context"), SILENT_CASES)
def test_hint_stays_silent_when_nothing_applies(
    hint: Callable[[RuleContext], tuple[Note, ...]], context: RuleContext
) -> None:
    assert hint(context) == ()


def test_suggested_max_seq_length_covers_p95_within_the_context() -> None:
    assert (
        r.suggest_max_seq_length(dataclasses.replace(BASE, p95_tokens=45), load_catalog().get("qwen3-4b"))
        == 512
    )
    assert (
        r.suggest_max_seq_length(dataclasses.replace(BASE, p95_tokens=3000), load_catalog().get("qwen3-4b"))
        == 3072
    )
    long = dataclasses.replace(BASE, p95_tokens=20000)
    assert r.suggest_max_seq_length(long, load_catalog().get("gemma-2-2b-it")) == 8192


# Values follow the formulas in backend/core/recommend/scoring.py, worked by hand.
SCORE_CASES: list[tuple[Callable[[RuleContext], s.ScoreComponent], RuleContext, float]] = [
    (s.score_task_fit, ctx("gemma-3-1b-it"), 0.9),  # at the 1B floor of instruction_following
    (s.score_task_fit, ctx("qwen3-4b"), 1.0),  # at the 4B top
    (s.score_task_fit, ctx("qwen3-8b"), 0.896),  # 1 - 0.1 * log2(8.2 / 4)
    (s.score_task_fit, ctx("smollm2-360m-instruct"), 0.411),  # 0.9 - log2(1 / 0.362) / 3
    (s.score_task_fit, ctx("smollm2-135m-instruct", task="tool_calling"), 0.0),  # 11x below the floor
    (s.score_deployment_fit, ctx("qwen3-4b", target="edge"), 0.646),  # 1 - log2(4 / 1.5) / 4
    (s.score_deployment_fit, ctx("qwen3-8b", target="server"), 0.85),  # 19.7 of 24 GB: over 75% used
    (s.score_deployment_fit, ctx("qwen3-8b", target="cloud"), 1.0),
    # Under 100 examples want 1.5B: 1 - log2(1.5 / 0.135) / 4; under 1,000, 0.5B: 1 - log2(0.5 / 0.135) / 4.
    (s.score_data_fit, ctx("smollm2-135m-instruct", {"num_examples": 40}), 0.132),
    (s.score_data_fit, ctx("smollm2-135m-instruct", {"num_examples": 400}), 0.528),
    (s.score_data_fit, ctx("smollm2-1.7b-instruct", {"p95_tokens": 6000}), 0.768),  # 1 - (6000 / 8192 - 0.5)
    (s.score_data_fit, ctx("qwen3-8b", {"num_examples": 40}), 1.0),
    (
        s.score_format_fit,
        ctx("gemma-2-2b-it", {"system_prompt_share": 1.0, "non_alternating_share": 0.2}),
        0.4,
    ),
    (s.score_format_fit, ctx("qwen3-4b", {"system_prompt_share": 1.0, "non_alternating_share": 0.2}), 1.0),
    (s.score_format_fit, ctx("gemma-3-4b-it", {"tool_call_share": 0.5}), 0.65),
    (s.score_format_fit, ctx("qwen3-0.6b", {"json_output_share": 1.0}), 0.7),
    (
        s.score_language_fit,
        ctx("smollm2-1.7b-instruct", {"languages": {"en": 0.5, "de": 0.3, "ja": 0.2}}),
        0.5,
    ),
    (s.score_language_fit, ctx("qwen3-1.7b", {"languages": {"en": 0.5, "de": 0.3, "ja": 0.2}}), 1.0),
    (
        s.score_language_fit,
        ctx("llama-3.2-1b-instruct", {"languages": {"de": 0.6, "ja": 0.3, "und": 0.1}}),
        0.667,
    ),
    (s.score_language_fit, ctx("smollm2-1.7b-instruct", {"languages": {}}), 1.0),
]


@pytest.mark.parametrize(("scorer", "context", "value"), SCORE_CASES)
def test_score_component(
    scorer: Callable[[RuleContext], s.ScoreComponent], context: RuleContext, value: float
) -> None:
    component = scorer(context)
    assert component.value == pytest.approx(value, abs=0.001)
    assert component.weight == WEIGHTS[component.name]
    assert component.reason


def test_every_scorer_is_covered_and_weights_sum_to_one() -> None:
    assert {scorer for scorer, *_ in SCORE_CASES} == set(SCORERS)
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("task", "target", "field"),
    [("chat", "cloud", "task_type"), ("qa", "phone", "deployment_target"), ("", "edge", "task_type")],
)
def test_unknown_task_or_target_names_the_field(task: str, target: str, field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        RecommendRequest.create(task, target)
    assert info.value.fields["field"] == field
    assert "choose one of" in info.value.detail


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"max_params_b": 0}, "max_params_b"), ({"training_gpu_gb": -1}, "training_gpu_gb")]
)
def test_impossible_constraints_are_refused(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        RecommendRequest.create("qa", "cloud", **kwargs)
    assert info.value.fields["field"] == field


def test_names_are_accepted_in_any_case() -> None:
    request = RecommendRequest.create(" Tool_Calling ", "EDGE")
    assert (request.task.value, request.deployment_target.value) == ("tool_calling", "edge")
