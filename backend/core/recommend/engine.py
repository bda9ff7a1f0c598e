"""recommend_models: every catalogue model through the checks, the survivors scored, hinted and ranked."""

from __future__ import annotations

from dataclasses import dataclass

from backend.core.catalog import Catalog, ModelEntry, load_catalog
from backend.core.conversation import DatasetProfile
from backend.core.errors import InvalidInputError
from backend.core.recommend.options import RecommendRequest
from backend.core.recommend.rules import (
    CHECKS,
    HINTS,
    TINY_DATASET,
    RuleContext,
    known_languages,
    suggest_max_seq_length,
)
from backend.core.recommend.scoring import SCORERS, WEIGHTS, ScoreComponent, total_score

TIE_BREAK = (
    "Models are ranked by score (rounded to 3 decimals), highest first; equal scores go to the smaller model "
    "(cheaper to train and serve), then to the model_id in alphabetical order."
)
SCORING = " + ".join(f"{weight:.2f} × {name}" for name, weight in WEIGHTS.items())
MIN_EXAMPLES = 10  # OpenAI's minimum for a fine-tuning job; below it a run learns next to nothing


@dataclass(frozen=True, slots=True)
class Recommendation:
    rank: int
    entry: ModelEntry
    score: float
    components: tuple[ScoreComponent, ...]
    reasons: tuple[str, ...]
    warnings: tuple[str, ...]
    inference_gb: float
    suggested_max_seq_length: int


@dataclass(frozen=True, slots=True)
class Exclusion:
    entry: ModelEntry
    rules: tuple[str, ...]  # names of the checks that failed
    reasons: tuple[str, ...]  # one sentence per failed check, same order


@dataclass(frozen=True, slots=True)
class RecommendationResult:
    request: RecommendRequest
    recommendations: tuple[Recommendation, ...]
    excluded: tuple[Exclusion, ...]
    warnings: tuple[str, ...]  # about the dataset as a whole
    tie_break: str = TIE_BREAK
    scoring: str = SCORING


def recommend_models(
    profile: DatasetProfile, request: RecommendRequest, catalog: Catalog | None = None
) -> RecommendationResult:
    """Rank the catalogue for this dataset and request. Pure and deterministic: equal inputs, equal output."""
    if profile.num_examples <= 0:
        raise InvalidInputError(
            "The dataset has no usable examples, so there is nothing to fit a model to; fix the issues the "
            "analysis lists and upload it again.",
            code="empty_dataset",
        )
    catalog = catalog if catalog is not None else load_catalog()
    scored: list[tuple[float, ModelEntry, RuleContext, tuple[ScoreComponent, ...]]] = []
    excluded: list[Exclusion] = []
    for entry in catalog:
        ctx = RuleContext(profile=profile, request=request, entry=entry)
        failures = [(check.__name__, message) for check in CHECKS if (message := check(ctx)) is not None]
        if failures:
            excluded.append(Exclusion(entry, tuple(n for n, _ in failures), tuple(m for _, m in failures)))
            continue
        components = tuple(scorer(ctx) for scorer in SCORERS)
        scored.append((total_score(components), entry, ctx, components))

    scored.sort(key=lambda item: (-item[0], item[1].params_b, item[1].model_id))
    recommendations = tuple(
        _build_recommendation(rank, score, ctx, components)
        for rank, (score, _, ctx, components) in enumerate(scored, start=1)
    )
    excluded.sort(key=lambda x: (x.entry.params_b, x.entry.model_id))
    return RecommendationResult(
        request=request,
        recommendations=recommendations,
        excluded=tuple(excluded),
        warnings=dataset_warnings(profile),
    )


def _build_recommendation(
    rank: int, score: float, ctx: RuleContext, components: tuple[ScoreComponent, ...]
) -> Recommendation:
    notes = [note for hint in HINTS for note in hint(ctx)]
    return Recommendation(
        rank=rank,
        entry=ctx.entry,
        score=score,
        components=components,
        reasons=tuple(n.text for n in notes if n.kind == "reason"),
        warnings=tuple(n.text for n in notes if n.kind == "warning"),
        inference_gb=ctx.inference_gb,
        suggested_max_seq_length=suggest_max_seq_length(ctx.profile, ctx.entry),
    )


def dataset_warnings(profile: DatasetProfile) -> tuple[str, ...]:
    """What holds for every model: the dataset's own limits."""
    out: list[str] = []
    n = profile.num_examples
    if n < MIN_EXAMPLES:
        out.append(
            f"Only {n} examples: too few to fine-tune reliably. OpenAI requires at least {MIN_EXAMPLES} and "
            "suggests starting with 50–100; add examples before training."
        )
    elif n < TINY_DATASET:
        out.append(
            f"Only {n} examples: fine-tuning will mostly teach format and tone. Larger instruct models score "
            "higher here; evaluate on held-out examples."
        )
    if not profile.tokens_exact:
        out.append(
            f"Token figures are estimates ({profile.tokenizer}); context checks near a limit are approximate."
        )
    languages = known_languages(profile)
    non_english = {code: share for code, share in languages.items() if code != "en"}
    if non_english:
        largest_first = sorted(non_english.items(), key=lambda item: (-item[1], item[0]))
        listed = ", ".join(f"{code} {share_text(share)}" for code, share in largest_first)
        out.append(
            f"Non-English data ({listed}): models whose model cards do not list these languages score lower."
        )
    if profile.p95_tokens > 8192:
        out.append(
            f"Long examples: 5% are {profile.p95_tokens:,} tokens or more, so models with an 8K context are "
            "excluded and training needs a long max_seq_length (more GPU memory, smaller batches)."
        )
    return tuple(out)


def share_text(share: float) -> str:
    """A share as a percentage that never reads 0% for a language that is there.

    >>> share_text(0.3), share_text(0.0067), share_text(0.0002)
    ('30%', '0.7%', 'under 0.1%')
    """
    percent = share * 100
    if percent >= 1:
        return f"{percent:.0f}%"
    return f"{percent:.1f}%" if percent >= 0.05 else "under 0.1%"
