"""The recommender's rules, one small named function each.

`check_*(ctx) -> str | None` excludes the model when it returns a sentence saying why.
`hint_*(ctx) -> tuple[Note, ...]` adds reasons (why this model suits) and warnings (what to watch for).
Rules are pure functions of (dataset profile, request, catalogue entry); `CHECKS` and `HINTS` fix their order,
which is the order their sentences appear in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from backend.core.catalog import ModelEntry
from backend.core.conversation import DatasetProfile
from backend.core.recommend.options import FREE_COLAB_T4_GB, RecommendRequest, estimate_inference_gb

TINY_DATASET = 100  # below this many examples, fine-tuning mostly teaches format and tone
SMALL_MODEL_B = 1.0  # below this size, models struggle to generalise from few examples or emit strict JSON
TIGHT_FRACTION = 0.8  # using more than this share of a memory budget leaves little headroom


@dataclass(frozen=True, slots=True)
class RuleContext:
    profile: DatasetProfile
    request: RecommendRequest
    entry: ModelEntry

    @property
    def inference_gb(self) -> float:
        return estimate_inference_gb(self.entry, self.request.target_spec.precision)


@dataclass(frozen=True, slots=True)
class Note:
    kind: Literal["reason", "warning"]
    text: str


def _reason(text: str) -> tuple[Note]:
    return (Note("reason", text),)


def _warning(text: str) -> tuple[Note]:
    return (Note("warning", text),)


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def _tokens(n: int) -> str:
    return f"{n:,}"


def _gpu_name(gb: float) -> str:
    return "a free Colab T4 (16 GB)" if gb == FREE_COLAB_T4_GB else f"a {gb:g} GB GPU"


def suggest_max_seq_length(profile: DatasetProfile, entry: ModelEntry) -> int:
    """A training max_seq_length covering 95% of examples: p95 rounded up to 256, at least 512, capped by
    the context length."""
    wanted = max(512, math.ceil(profile.p95_tokens / 256) * 256)
    return min(entry.context_length, wanted)


# ----------------------------------------------------------------------------------------------- checks


def check_commercial_licence(ctx: RuleContext) -> str | None:
    if ctx.request.commercial_only and not ctx.entry.commercial_use:
        note = ctx.entry.license_note or f"its licence ({ctx.entry.license}) does not allow commercial use"
        return f"Not for commercial use: {note}"
    return None


def check_gated(ctx: RuleContext) -> str | None:
    if ctx.request.no_gated and ctx.entry.gated:
        return (
            f"Gated: the Hub repo {ctx.entry.hf_id} asks you to accept its terms and use an access token, "
            "and you asked for models without a gate."
        )
    return None


def check_max_params(ctx: RuleContext) -> str | None:
    limit = ctx.request.max_params_b
    if limit is not None and ctx.entry.params_b > limit:
        return f"Too large: {ctx.entry.params_b:g}B parameters, above your limit of {limit:g}B."
    return None


def check_training_memory(ctx: RuleContext) -> str | None:
    need, have = ctx.entry.vram_gb_qlora_train, ctx.request.training_gpu_gb
    if need > have:
        return f"Does not train on {_gpu_name(have)}: 4-bit QLoRA needs about {need:g} GB."
    return None


def check_deployment_memory(ctx: RuleContext) -> str | None:
    target, spec = ctx.request.deployment_target, ctx.request.target_spec
    if ctx.inference_gb > spec.budget_gb:
        return (
            f"Too big for {target.value} deployment: about {ctx.inference_gb:g} GB at {spec.precision} "
            f"against a {spec.budget_gb:g} GB budget ({spec.description})."
        )
    return None


def check_context_length(ctx: RuleContext) -> str | None:
    p95, limit = ctx.profile.p95_tokens, ctx.entry.context_length
    if p95 > limit:
        return (
            f"Context too short: 5% of your examples are {_tokens(p95)} tokens or longer, beyond its "
            f"{_tokens(limit)}-token context, so they would be cut."
        )
    return None


def check_tool_template(ctx: RuleContext) -> str | None:
    if ctx.request.task.value == "tool_calling" and not ctx.entry.supports_tool_calls:
        return (
            f"No tool-calling format: the {ctx.entry.chat_template} chat template does not render tools, "
            "tool calls and tool results, which a tool-calling model must learn."
        )
    return None


CHECKS: tuple[Callable[[RuleContext], str | None], ...] = (
    check_commercial_licence,
    check_gated,
    check_max_params,
    check_training_memory,
    check_deployment_memory,
    check_context_length,
    check_tool_template,
)


# ------------------------------------------------------------------------------------------------ hints


def hint_task_size(ctx: RuleContext) -> tuple[Note, ...]:
    spec, p, task = ctx.request.task_spec, ctx.entry.params_b, ctx.request.task_label
    if p < spec.min_params_b:
        return _warning(f"Small for {task}: {spec.why}; {spec.min_params_b:g}B+ is safer.")
    if p > spec.max_params_b:
        return _reason(
            f"Larger than {task} usually needs ({spec.min_params_b:g}–{spec.max_params_b:g}B): "
            "headroom for quality at a higher cost."
        )
    return _reason(f"Its size ({ctx.entry.size_label}) suits {task}: {spec.why}.")


def hint_deployment_fit(ctx: RuleContext) -> tuple[Note, ...]:
    spec, target = ctx.request.target_spec, ctx.request.deployment_target.value
    gb, budget = ctx.inference_gb, spec.budget_gb
    text = f"Runs on {target}: about {gb:g} GB at {spec.precision} of a {budget:g} GB budget."
    notes = list(_reason(text))
    if ctx.inference_gb > TIGHT_FRACTION * spec.budget_gb:
        notes += _warning(f"Tight fit on {target}: little memory left for long prompts or other apps.")
    return tuple(notes)


def hint_training_gpu(ctx: RuleContext) -> tuple[Note, ...]:
    need, have = ctx.entry.vram_gb_qlora_train, ctx.request.training_gpu_gb
    notes = [Note("reason", f"Fine-tunes on {_gpu_name(have)} with 4-bit QLoRA (about {need:g} GB).")]
    if need > TIGHT_FRACTION * have:
        notes += _warning(
            f"Training uses most of the GPU's {have:g} GB: keep batch size 1–2 and sequences short."
        )
    return tuple(notes)


def hint_context(ctx: RuleContext) -> tuple[Note, ...]:
    p, entry = ctx.profile, ctx.entry
    notes = [
        Note(
            "reason",
            f"95% of your examples ({_tokens(p.p95_tokens)} tokens or fewer) fit its "
            f"{_tokens(entry.context_length)}-token context.",
        )
    ]
    if p.max_tokens > entry.context_length:
        notes += _warning(
            f"Your longest example ({_tokens(p.max_tokens)} tokens) exceeds its context and will be "
            "truncated."
        )
    counted_elsewhere = p.tokenizer != entry.tokenizer or not p.tokens_exact
    if counted_elsewhere and p.max_tokens > TIGHT_FRACTION * entry.context_length:
        notes += _warning(
            f"Token counts come from {p.tokenizer}, not this model's tokenizer; near the context "
            "limit the real count may differ."
        )
    suggested = suggest_max_seq_length(p, entry)
    if suggested > entry.defaults.max_seq_length:
        notes += _warning(
            f"Raise max_seq_length to {_tokens(suggested)} (default {_tokens(entry.defaults.max_seq_length)})"
            " so long examples are not cut; longer sequences need more GPU memory, so lower the "
            "batch size if training runs out."
        )
    return tuple(notes)


def hint_dataset_size(ctx: RuleContext) -> tuple[Note, ...]:
    n = ctx.profile.num_examples
    if n < TINY_DATASET and ctx.entry.params_b < SMALL_MODEL_B:
        return _warning(
            f"With only {n} examples, a model under {SMALL_MODEL_B:g}B parameters learns little beyond "
            "the format; a larger instruct model starts from more."
        )
    return ()


def hint_system_prompts(ctx: RuleContext) -> tuple[Note, ...]:
    share = ctx.profile.system_prompt_share
    if share <= 0:
        return ()
    if ctx.entry.supports_system_role:
        return _reason(f"Keeps your system prompts ({_pct(share)} of examples) as a native system turn.")
    return _warning(
        f"{_pct(share)} of your examples have a system prompt, but the {ctx.entry.chat_template} "
        "template has no system role: the notebook merges it into the first user turn."
    )


def hint_alternation(ctx: RuleContext) -> tuple[Note, ...]:
    share = ctx.profile.non_alternating_share
    if share > 0 and ctx.entry.strict_alternation:
        return _warning(
            f"{_pct(share)} of your examples have two turns in a row from the same role; the "
            f"{ctx.entry.chat_template} template requires strict user/assistant alternation, so the "
            "notebook merges those turns."
        )
    return ()


def hint_tool_calls(ctx: RuleContext) -> tuple[Note, ...]:
    share = ctx.profile.tool_call_share
    if share <= 0:
        return ()
    if ctx.entry.supports_tool_calls:
        return _reason(
            f"Its chat template renders tool calls and results ({_pct(share)} of your examples use tools)."
        )
    return _warning(
        f"{_pct(share)} of your examples use tools, but the {ctx.entry.chat_template} template has no "
        "tool-call format: tool turns would be trained as plain text."
    )


def hint_json_outputs(ctx: RuleContext) -> tuple[Note, ...]:
    share = ctx.profile.json_output_share
    if share < 0.3:
        return ()
    if ctx.entry.params_b < SMALL_MODEL_B:
        return _warning(
            f"{_pct(share)} of replies are JSON; models under {SMALL_MODEL_B:g}B often break JSON syntax: "
            "validate outputs or use constrained decoding."
        )
    return _reason(f"Large enough to learn your structured JSON replies ({_pct(share)} of examples).")


def hint_languages(ctx: RuleContext) -> tuple[Note, ...]:
    languages = known_languages(ctx.profile)
    non_english = {code: share for code, share in languages.items() if code != "en"}
    if not non_english:
        return ()
    unsupported = sorted(code for code in non_english if not ctx.entry.supports_language(code))
    supported = sorted(code for code in non_english if code not in unsupported)
    notes: list[Note] = []
    if supported:
        notes += _reason(f"Its model card lists your non-English data's languages: {', '.join(supported)}.")
    if unsupported:
        share = sum(non_english[code] for code in unsupported)
        notes += _warning(
            f"Its model card does not list {', '.join(unsupported)} ({_pct(share)} of your examples)."
        )
    return tuple(notes)


def hint_licence(ctx: RuleContext) -> tuple[Note, ...]:
    entry = ctx.entry
    if not entry.commercial_use:
        return _warning(entry.license_note or f"Licence {entry.license}: not for commercial use.")
    if entry.license_note:
        return _warning(entry.license_note)
    return _reason(f"Permissive licence ({entry.license}), commercial use allowed.")


def hint_gated(ctx: RuleContext) -> tuple[Note, ...]:
    if not ctx.entry.gated:
        return ()
    return _warning(
        f"Gated on the Hub: accept the terms on {ctx.entry.card_url} and use a Hugging Face token to "
        "download the official weights."
    )


HINTS: tuple[Callable[[RuleContext], tuple[Note, ...]], ...] = (
    hint_task_size,
    hint_deployment_fit,
    hint_training_gpu,
    hint_context,
    hint_dataset_size,
    hint_system_prompts,
    hint_alternation,
    hint_tool_calls,
    hint_json_outputs,
    hint_languages,
    hint_licence,
    hint_gated,
)


def known_languages(profile: DatasetProfile) -> dict[str, float]:
    """Detected languages with a real code ("und"/"unknown" and empty codes say nothing about support)."""
    return {
        code.lower(): share
        for code, share in sorted(profile.languages.items())
        if code and code.lower() not in {"und", "unknown", "zxx", "?"} and share > 0
    }
