"""Rule-based model recommendation: checks exclude, hints explain, five components score, a stated rule ranks.

>>> from backend.core.conversation import DatasetProfile
>>> profile = DatasetProfile(num_examples=500, total_tokens=60_000, p95_tokens=300, max_tokens=900,
...     mean_assistant_tokens=60.0, system_prompt_share=1.0, multi_turn_share=0.0, non_alternating_share=0.0,
...     tool_call_share=0.0, json_output_share=0.0, languages={"en": 1.0})
>>> result = recommend_models(profile, RecommendRequest.create("classification", "mobile"))
>>> all(r.inference_gb <= 2.0 for r in result.recommendations)
True
"""

from __future__ import annotations

from backend.core.recommend.engine import (
    SCORING,
    TIE_BREAK,
    Exclusion,
    Recommendation,
    RecommendationResult,
    dataset_warnings,
    recommend_models,
)
from backend.core.recommend.options import (
    TARGETS,
    TASKS,
    DeploymentTarget,
    RecommendRequest,
    TargetSpec,
    TaskSpec,
    TaskType,
    estimate_inference_gb,
)
from backend.core.recommend.rules import CHECKS, HINTS, Note, RuleContext, suggest_max_seq_length
from backend.core.recommend.scoring import SCORERS, WEIGHTS, ScoreComponent

__all__ = [
    "CHECKS",
    "HINTS",
    "SCORERS",
    "SCORING",
    "TARGETS",
    "TASKS",
    "TIE_BREAK",
    "WEIGHTS",
    "DeploymentTarget",
    "Exclusion",
    "Note",
    "RecommendRequest",
    "Recommendation",
    "RecommendationResult",
    "RuleContext",
    "ScoreComponent",
    "TargetSpec",
    "TaskSpec",
    "TaskType",
    "dataset_warnings",
    "estimate_inference_gb",
    "recommend_models",
    "suggest_max_seq_length",
]
