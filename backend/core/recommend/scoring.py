"""The score: five named components in 0..1, weighted and summed, each with the sentence behind its value.

    score = 0.30 task_fit + 0.25 deployment_fit + 0.20 data_fit + 0.15 format_fit + 0.10 language_fit

Sizes are compared on a log scale because "twice as big" matters the same at 0.5B as at 4B.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from backend.core.recommend.rules import SMALL_MODEL_B, TINY_DATASET, RuleContext, known_languages

WEIGHTS: dict[str, float] = {
    "task_fit": 0.30,
    "deployment_fit": 0.25,
    "data_fit": 0.20,
    "format_fit": 0.15,
    "language_fit": 0.10,
}

SCORE_DECIMALS = 3  # scores are rounded before ranking so float noise never decides an order


@dataclass(frozen=True, slots=True)
class ScoreComponent:
    name: str
    weight: float
    value: float  # 0..1
    reason: str

    @property
    def points(self) -> float:
        return round(self.weight * self.value, SCORE_DECIMALS + 1)


def _clamp(x: float) -> float:
    return round(min(1.0, max(0.0, x)), SCORE_DECIMALS)


def _octaves(a: float, b: float) -> float:
    """How many doublings separate a and b."""
    return abs(math.log2(a / b))


def score_task_fit(ctx: RuleContext) -> ScoreComponent:
    spec, p, task = ctx.request.task_spec, ctx.entry.params_b, ctx.request.task_label
    lo, hi = spec.min_params_b, spec.max_params_b
    if p < lo:
        # From 0.9 at the band's floor, a third lost per halving: an eighth of the floor scores nothing.
        value = 0.9 - _octaves(lo, p) / 3
        reason = f"{p:g}B is below the {lo:g}B that {task} usually needs"
    elif p > hi:
        # Bigger than needed still works, it just costs more: a gentle, floored penalty.
        value = max(0.5, 1 - 0.1 * _octaves(p, hi))
        reason = f"{p:g}B is more than {task} usually needs ({hi:g}B)"
    else:
        # Within the band, quality still grows a little with size: 0.9 at the floor, 1.0 at the top.
        value = 0.9 + 0.1 * math.log(p / lo) / math.log(hi / lo)
        reason = f"{p:g}B is within {lo:g}–{hi:g}B, the range that suits {task}"
    return ScoreComponent("task_fit", WEIGHTS["task_fit"], _clamp(value), reason)


def score_deployment_fit(ctx: RuleContext) -> ScoreComponent:
    spec, p, target = ctx.request.target_spec, ctx.entry.params_b, ctx.request.deployment_target.value
    comfortable = spec.comfortable_params_b
    if p <= comfortable:
        value, reason = 1.0, f"{p:g}B runs comfortably on {target} (up to about {comfortable:g}B)"
    else:
        # A quarter lost per doubling beyond what the target runs comfortably (slower replies, more battery).
        value = 1 - _octaves(p, comfortable) / 4
        reason = f"{p:g}B is above the ~{comfortable:g}B that runs comfortably on {target}"
    usage = ctx.inference_gb / spec.budget_gb
    if usage > 0.75:
        value *= 0.85
        reason += f"; it needs {usage * 100:.0f}% of the {spec.budget_gb:g} GB budget"
    return ScoreComponent("deployment_fit", WEIGHTS["deployment_fit"], _clamp(value), reason)


def _params_wanted_for(num_examples: int) -> float:
    """Fewer examples lean harder on what the model already knows, so they call for a larger model."""
    if num_examples < TINY_DATASET:
        return 1.5
    if num_examples < 1000:
        return 0.5
    return 0.1


def score_data_fit(ctx: RuleContext) -> ScoreComponent:
    profile, entry = ctx.profile, ctx.entry
    wanted = _params_wanted_for(profile.num_examples)
    if entry.params_b >= wanted:
        count_value = 1.0
        count_reason = f"{profile.num_examples:,} examples are enough for a {entry.params_b:g}B model"
    else:
        count_value = 1 - _octaves(wanted, entry.params_b) / 4
        count_reason = f"{profile.num_examples:,} examples favour models of {wanted:g}B or more"
    usage = profile.p95_tokens / entry.context_length
    # Full marks while 95% of examples use at most half the context; half marks when they fill it.
    context_value = 1.0 if usage <= 0.5 else 1 - (usage - 0.5)
    context_reason = f"95% of examples use at most {usage * 100:.0f}% of its context"
    if context_value < count_value:
        return ScoreComponent("data_fit", WEIGHTS["data_fit"], _clamp(context_value), context_reason)
    return ScoreComponent(
        "data_fit", WEIGHTS["data_fit"], _clamp(count_value), f"{count_reason}; {context_reason}"
    )


def score_format_fit(ctx: RuleContext) -> ScoreComponent:
    profile, entry = ctx.profile, ctx.entry
    value, problems = 1.0, []
    if not entry.supports_system_role and profile.system_prompt_share > 0:
        value -= 0.5 * profile.system_prompt_share
        problems.append("system prompts must be merged into user turns")
    if entry.strict_alternation and profile.non_alternating_share > 0:
        value -= 0.5 * profile.non_alternating_share
        problems.append("same-role turns must be merged")
    if not entry.supports_tool_calls and profile.tool_call_share > 0:
        value -= 0.7 * profile.tool_call_share
        problems.append("tool calls have no template format")
    if entry.params_b < SMALL_MODEL_B and profile.json_output_share >= 0.3:
        value -= 0.3 * profile.json_output_share
        problems.append("JSON replies are hard for very small models")
    reason = "; ".join(problems) if problems else "its chat template takes your data as it is"
    return ScoreComponent("format_fit", WEIGHTS["format_fit"], _clamp(value), reason)


def score_language_fit(ctx: RuleContext) -> ScoreComponent:
    languages = known_languages(ctx.profile)
    total = sum(languages.values())
    if total <= 0:
        return ScoreComponent("language_fit", WEIGHTS["language_fit"], 1.0, "no language detected to check")
    covered = sum(share for code, share in languages.items() if ctx.entry.supports_language(code))
    value = covered / total
    reason = f"its model card covers the languages of {value * 100:.0f}% of your examples"
    return ScoreComponent("language_fit", WEIGHTS["language_fit"], _clamp(value), reason)


SCORERS: tuple[Callable[[RuleContext], ScoreComponent], ...] = (
    score_task_fit,
    score_deployment_fit,
    score_data_fit,
    score_format_fit,
    score_language_fit,
)


def total_score(components: tuple[ScoreComponent, ...]) -> float:
    return round(sum(c.weight * c.value for c in components), SCORE_DECIMALS)
