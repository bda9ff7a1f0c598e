"""What the person asks for: the task, where the model will run, and their constraints.

The task and target tables are the recommender's stated assumptions; change them here, with the why.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, TypeVar

from backend.core.catalog import ModelEntry
from backend.core.errors import InvalidInputError

Precision = Literal["16bit", "4bit"]
E = TypeVar("E", bound=StrEnum)


class TaskType(StrEnum):
    INSTRUCTION_FOLLOWING = "instruction_following"
    CONVERSATION = "conversation"
    QA = "qa"
    CLASSIFICATION = "classification"
    EXTRACTION = "extraction"
    GENERATION = "generation"
    SUMMARIZATION = "summarization"
    TOOL_CALLING = "tool_calling"


class DeploymentTarget(StrEnum):
    CLOUD = "cloud"
    SERVER = "server"
    DESKTOP = "desktop"
    EDGE = "edge"
    MOBILE = "mobile"
    BROWSER = "browser"


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """The model sizes (billions of parameters) that suit a task once fine-tuned: below the band quality
    suffers; within it, larger is a little better; above it, the extra cost buys little."""

    min_params_b: float
    max_params_b: float
    why: str


# How a task is named in sentences a person reads ("Small for tool calling", not "tool_calling").
TASK_LABELS: dict[TaskType, str] = {
    TaskType.INSTRUCTION_FOLLOWING: "instruction following",
    TaskType.CONVERSATION: "conversation",
    TaskType.QA: "question answering",
    TaskType.CLASSIFICATION: "classification",
    TaskType.EXTRACTION: "information extraction",
    TaskType.GENERATION: "text generation",
    TaskType.SUMMARIZATION: "summarization",
    TaskType.TOOL_CALLING: "tool calling",
}


TASKS: dict[TaskType, TaskSpec] = {
    TaskType.CLASSIFICATION: TaskSpec(
        0.1, 1.5, "short label outputs: small models learn them well from examples"
    ),
    TaskType.EXTRACTION: TaskSpec(
        0.5, 4.0, "copying fields into a fixed shape needs reliable format-following"
    ),
    TaskType.INSTRUCTION_FOLLOWING: TaskSpec(1.0, 4.0, "following varied instructions needs a capable base"),
    TaskType.QA: TaskSpec(1.0, 8.0, "answers draw on the model's own knowledge, which grows with size"),
    TaskType.CONVERSATION: TaskSpec(1.0, 8.0, "multi-turn coherence improves with size"),
    TaskType.SUMMARIZATION: TaskSpec(1.5, 8.0, "condensing long inputs faithfully needs a larger model"),
    TaskType.GENERATION: TaskSpec(1.5, 8.0, "open-ended writing quality grows with size"),
    TaskType.TOOL_CALLING: TaskSpec(
        1.5, 8.0, "choosing tools and writing valid arguments needs a larger model"
    ),
}


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """Memory a deployment can give the model, the precision it usually runs at, and the largest size that
    still runs comfortably there (speed, battery, download size): beyond it a model works but scores lower."""

    budget_gb: float
    precision: Precision
    comfortable_params_b: float
    description: str


TARGETS: dict[DeploymentTarget, TargetSpec] = {
    DeploymentTarget.CLOUD: TargetSpec(80.0, "16bit", 70.0, "a data-centre GPU (A100/H100, 80 GB)"),
    DeploymentTarget.SERVER: TargetSpec(24.0, "16bit", 14.0, "one 24 GB GPU (L4, A10G, RTX 4090)"),
    DeploymentTarget.DESKTOP: TargetSpec(8.0, "4bit", 4.0, "a laptop or desktop running a 4-bit GGUF (8 GB)"),
    DeploymentTarget.EDGE: TargetSpec(
        4.0, "4bit", 1.5, "an edge board such as a Raspberry Pi 5 or Jetson (4 GB)"
    ),
    DeploymentTarget.MOBILE: TargetSpec(2.0, "4bit", 1.0, "a phone app, 4-bit, about 2 GB of RAM to spare"),
    DeploymentTarget.BROWSER: TargetSpec(1.5, "4bit", 0.5, "a web page via WebGPU/WASM, about 1.5 GB"),
}

# Q4_K_M stores ~4.85 bits per weight; +20% covers the KV cache at modest context and runtime buffers.
GB_PER_B_PARAMS_4BIT = 4.85 / 8 * 1.2

FREE_COLAB_T4_GB = 16.0


def estimate_inference_gb(entry: ModelEntry, precision: Precision) -> float:
    """Memory to serve the model at a precision, from the catalogue (16-bit) or the Q4_K_M rule (4-bit)."""
    if precision == "16bit":
        return entry.vram_gb_inference_16bit
    return round(entry.params_b * GB_PER_B_PARAMS_4BIT, 1)


@dataclass(frozen=True, slots=True)
class RecommendRequest:
    """The person's choices. Build with `RecommendRequest.create(...)` to accept plain strings."""

    task: TaskType
    deployment_target: DeploymentTarget
    commercial_only: bool = False
    no_gated: bool = False
    max_params_b: float | None = None
    training_gpu_gb: float = FREE_COLAB_T4_GB

    def __post_init__(self) -> None:
        if self.max_params_b is not None and self.max_params_b <= 0:
            raise InvalidInputError(
                f"max_params_b must be a positive number of billions of parameters, got {self.max_params_b}.",
                field="max_params_b",
            )
        if self.training_gpu_gb <= 0:
            raise InvalidInputError(
                "training_gpu_gb must be the GPU's memory in GB (16 for a free Colab T4), "
                f"got {self.training_gpu_gb}.",
                field="training_gpu_gb",
            )

    @classmethod
    def create(
        cls,
        task: str,
        deployment_target: str,
        *,
        commercial_only: bool = False,
        no_gated: bool = False,
        max_params_b: float | None = None,
        training_gpu_gb: float = FREE_COLAB_T4_GB,
    ) -> RecommendRequest:
        return cls(
            task=parse_choice(TaskType, task, "task_type"),
            deployment_target=parse_choice(DeploymentTarget, deployment_target, "deployment_target"),
            commercial_only=commercial_only,
            no_gated=no_gated,
            max_params_b=max_params_b,
            training_gpu_gb=training_gpu_gb,
        )

    @property
    def task_spec(self) -> TaskSpec:
        return TASKS[self.task]

    @property
    def task_label(self) -> str:
        return TASK_LABELS[self.task]

    @property
    def target_spec(self) -> TargetSpec:
        return TARGETS[self.deployment_target]


def parse_choice(enum: type[E], value: str, field: str) -> E:
    try:
        return enum(value.strip().lower())
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidInputError(
            f"Unknown {field} {value!r}; choose one of: {allowed}.", field=field
        ) from None
