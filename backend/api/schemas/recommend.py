"""POST /recommend and GET /models bodies. The CLI prints these same models, so API and CLI agree."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from backend.core.recommend import (
    DeploymentTarget,
    Exclusion,
    Recommendation,
    RecommendationResult,
    RecommendRequest,
    TaskType,
)
from backend.core.recommend.options import FREE_COLAB_T4_GB


class RecommendCreate(BaseModel):
    """The seed's request (session_id, task_type, deployment_target) plus the person's constraints."""

    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(min_length=1, max_length=200)
    task_type: TaskType
    deployment_target: DeploymentTarget
    commercial_only: bool = Field(False, description="only models whose licence allows commercial use")
    no_gated: bool = Field(False, description="only models whose Hub repo has no access gate")
    max_params_b: float | None = Field(None, gt=0, le=1000, description="largest size, in billions")
    training_gpu_gb: float = Field(
        FREE_COLAB_T4_GB, gt=0, le=1024, description="memory of the training GPU (free Colab T4: 16)"
    )

    def to_core(self) -> RecommendRequest:
        return RecommendRequest(
            task=self.task_type,
            deployment_target=self.deployment_target,
            commercial_only=self.commercial_only,
            no_gated=self.no_gated,
            max_params_b=self.max_params_b,
            training_gpu_gb=self.training_gpu_gb,
        )


class RequestEcho(BaseModel):
    """The choices the ranking was made for (no session id, so CLI and API output can be compared)."""

    task_type: TaskType
    deployment_target: DeploymentTarget
    commercial_only: bool
    no_gated: bool
    max_params_b: float | None
    training_gpu_gb: float


class ScoreComponentRead(BaseModel):
    component: str
    weight: float
    value: float = Field(description="0..1")
    points: float = Field(description="weight × value; the points add up to the score")
    reason: str


class RecommendationRead(BaseModel):
    rank: int
    model_id: str
    model_name: str
    size: str
    score: float = Field(description="0..1, the sum of score_breakdown points")
    reasons: list[str]
    warnings: list[str]
    is_gated: bool
    params_b: float
    context_length: int
    license: str
    commercial_use: bool
    hf_id: str
    unsloth_id: str | None
    chat_template: str
    inference_memory_gb: float = Field(description="estimated memory to serve it on the deployment target")
    training_memory_gb: float = Field(description="estimated memory to fine-tune it with 4-bit QLoRA")
    suggested_max_seq_length: int
    score_breakdown: list[ScoreComponentRead]
    model_card: str

    @classmethod
    def from_core(cls, rec: Recommendation) -> RecommendationRead:
        entry = rec.entry
        return cls(
            rank=rec.rank,
            model_id=entry.model_id,
            model_name=entry.name,
            size=entry.size_label,
            score=rec.score,
            reasons=list(rec.reasons),
            warnings=list(rec.warnings),
            is_gated=entry.gated,
            params_b=entry.params_b,
            context_length=entry.context_length,
            license=entry.license,
            commercial_use=entry.commercial_use,
            hf_id=entry.hf_id,
            unsloth_id=entry.unsloth_id,
            chat_template=entry.chat_template,
            inference_memory_gb=rec.inference_gb,
            training_memory_gb=entry.vram_gb_qlora_train,
            suggested_max_seq_length=rec.suggested_max_seq_length,
            score_breakdown=[
                ScoreComponentRead(
                    component=c.name, weight=c.weight, value=c.value, points=c.points, reason=c.reason
                )
                for c in rec.components
            ],
            model_card=entry.card_url,
        )


class ExclusionRead(BaseModel):
    model_id: str
    model_name: str
    size: str
    is_gated: bool
    rules: list[str] = Field(description="the checks that excluded it")
    reasons: list[str] = Field(description="why not, one sentence per failed check")

    @classmethod
    def from_core(cls, exclusion: Exclusion) -> ExclusionRead:
        entry = exclusion.entry
        return cls(
            model_id=entry.model_id,
            model_name=entry.name,
            size=entry.size_label,
            is_gated=entry.gated,
            rules=list(exclusion.rules),
            reasons=list(exclusion.reasons),
        )


class RecommendRead(BaseModel):
    recommendations: list[RecommendationRead]
    excluded: list[ExclusionRead]
    warnings: list[str] = Field(description="about the dataset as a whole, true for every model")
    request: RequestEcho
    scoring: str
    tie_break: str

    @classmethod
    def from_result(cls, result: RecommendationResult) -> RecommendRead:
        req = result.request
        return cls(
            recommendations=[RecommendationRead.from_core(r) for r in result.recommendations],
            excluded=[ExclusionRead.from_core(x) for x in result.excluded],
            warnings=list(result.warnings),
            request=RequestEcho(
                task_type=req.task,
                deployment_target=req.deployment_target,
                commercial_only=req.commercial_only,
                no_gated=req.no_gated,
                max_params_b=req.max_params_b,
                training_gpu_gb=req.training_gpu_gb,
            ),
            scoring=result.scoring,
            tie_break=result.tie_break,
        )
