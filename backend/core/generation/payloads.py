"""What each generation task body accepts: one pydantic model per body, checked at the start of the body
(and by the route before it queues anything, through `parse_request`).

Payloads are plain JSON. They never carry a key (keys come from `ctx.secret("openai_api_key")`) nor a URL
(a request names a server-configured provider; it cannot make the server call an address it chose).
`dataset_path` is filled in by the server from a dataset the caller owns, never taken from the caller.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from backend.core.errors import InvalidInputError
from backend.core.generation.presets import ExplorationMode

MAX_ROWS = 10_000  # per task; a bigger dataset is several tasks (each resumable)
_SECRET_FIELDS = ("api_key", "openai_api_key", "key", "token", "x-openai-key", "base_url")


class GenerationOptions(BaseModel):
    """Options every mode shares (the seed's fields come in each mode's own model)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str | None = Field(None, description="a provider name from the provider list; default: the first")
    concurrency: int = Field(4, ge=1, le=32, description="requests in flight at most (adapted down on 429)")
    max_error_rate: float = Field(0.5, ge=0.0, le=1.0, description="share of failed batches that stops the task")
    min_chars: int = Field(2, ge=1, description="shortest accepted text field, in characters")
    max_chars: int = Field(4000, ge=1, description="longest accepted text field, in characters")
    max_batches: int | None = Field(None, ge=1, description="stop after this many requests (default: 4x needed)")
    random_seed: int | None = Field(None, description="seeds the choice of few-shot examples, for repeatable prompts")
    max_tokens: int | None = Field(None, ge=16, le=32_768, description="cap on tokens written per request")

    @model_validator(mode="after")
    def _check_lengths(self) -> GenerationOptions:
        if self.min_chars > self.max_chars:
            raise ValueError(f"min_chars ({self.min_chars}) is above max_chars ({self.max_chars})")
        return self


class InputsRequest(GenerationOptions):
    """Seed 004 `POST /data/generate`: new LLM inputs for an application, grown from seed inputs."""

    application_description: str = Field(min_length=1)
    num_inputs_to_generate: int = Field(ge=1, le=MAX_ROWS)
    seeds: list[str] = Field(min_length=1)
    batch_size: int = Field(5, ge=1, le=10)
    num_shots: int = Field(5, ge=0, le=10)
    exploration_mode: ExplorationMode = ExplorationMode.BALANCED

    @field_validator("seeds")
    @classmethod
    def _seeds_have_text(cls, seeds: list[str]) -> list[str]:
        kept = [s for s in seeds if s.strip()]
        if not kept:
            raise ValueError("every seed is empty; give at least one example input")
        return kept


class ChatTurn(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    role: Literal["system", "user", "assistant"]
    content: str


class SeedExample(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    messages: list[ChatTurn] = Field(min_length=1)


class ExamplesRequest(GenerationOptions):
    """Whole training examples (one exchange, or a multi-turn chat) for a task described in words."""

    task_description: str = Field(min_length=1)
    num_examples: int = Field(ge=1, le=MAX_ROWS)
    turns: int = Field(1, ge=1, le=8, description="user turns per example (1: an input and its answer)")
    system_prompt: str | None = Field(None, description="put in every generated example as its system message")
    seed_examples: list[SeedExample] = Field(default_factory=list)
    dataset_path: str | None = Field(None, description="canonical JSONL or analysis store to sample seeds from")
    num_seed_examples: int = Field(20, ge=1, le=1000, description="how many seeds to sample from the dataset")
    batch_size: int = Field(5, ge=1, le=10)
    num_shots: int = Field(3, ge=0, le=10)
    exploration_mode: ExplorationMode = ExplorationMode.BALANCED


class LabelSpec(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    name: str = Field(min_length=1)
    description: str | None = None


class ViewRequest(GenerationOptions):
    """Seed 000 `POST /data/view`: a text classification or seq2seq dataset from a prompt."""

    prompt: str = Field(min_length=1)
    num_samples: int = Field(ge=1, le=MAX_ROWS)
    task: Literal["text_classification", "seq2seq"]
    num_labels: int | None = Field(2, ge=2, le=50)
    labels: list[LabelSpec] | None = None
    valid_data: list[dict[str, Any]] | None = Field(None, description="examples to imitate")
    invalid_data: list[dict[str, Any]] | None = Field(None, description="examples of what not to write")
    batch_size: int = Field(5, ge=1, le=10)
    num_shots: int = Field(5, ge=0, le=10)
    exploration_mode: ExplorationMode = ExplorationMode.BALANCED

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_from_names(cls, value: Any) -> Any:
        """Labels may be plain names, {"name"|"label": ..., "description"?} or {name: description}."""
        if not isinstance(value, list):
            return value
        out: list[Any] = []
        for item in value:
            if isinstance(item, str):
                out.append({"name": item})
            elif isinstance(item, dict) and "name" not in item and "label" in item:
                out.append({"name": str(item["label"]), "description": item.get("description")})
            elif isinstance(item, dict) and len(item) == 1 and "name" not in item:
                ((name, description),) = item.items()
                out.append({"name": str(name), "description": None if description is None else str(description)})
            else:
                out.append(item)
        return out

    @model_validator(mode="after")
    def _check_labels(self) -> ViewRequest:
        if self.labels is not None:
            names = [label.name.strip().lower() for label in self.labels]
            if len(set(names)) != len(names) or len(names) < 2:
                raise ValueError("labels must hold at least two different names")
        return self

    def label_names(self) -> list[str] | None:
        return None if self.labels is None else [label.name.strip() for label in self.labels]


class QuestionsRequest(GenerationOptions):
    """Seed 000 `POST /question`: question/answer pairs grounded in a text, chunked by tokens."""

    content: str = Field(min_length=1)
    index: int = Field(0, ge=0, description="the caller's index of this content (kept in every row)")
    multiple_chunks: bool = Field(False, description="ask questions that need two chunks together")
    num_samples: int = Field(ge=1, le=MAX_ROWS)
    chunk_tokens: int = Field(512, ge=32, le=8192)
    tokenizer: str = Field("cl100k_base", description="the tokenizer chunks are measured with")
    judge: bool = Field(False, description="rate every pair with a second request and keep the good ones")
    judge_threshold: int = Field(4, ge=1, le=5)
    min_grounding: float = Field(0.3, ge=0.0, le=1.0, description="share of the answer's words found in the chunks")
    batch_size: int = Field(5, ge=1, le=10)
    exploration_mode: ExplorationMode = ExplorationMode.CONSERVATIVE


Request = TypeVar("Request", bound=GenerationOptions)


def parse_request(model: type[Request], payload: dict[str, Any]) -> Request:
    """The payload as `model`, or an InvalidInputError that names every wrong field."""
    if not isinstance(payload, dict):
        raise InvalidInputError("The generation request must be a JSON object.", code="invalid_generation_request")
    secret_like = sorted(k for k in payload if k.lower() in _SECRET_FIELDS)
    if secret_like:
        raise InvalidInputError(
            f"A generation request carries no keys or URLs ({', '.join(secret_like)}): send the provider key in "
            "the X-OpenAI-Key header, and pick a server-configured provider by name.",
            code="invalid_generation_request",
            names=secret_like,
        )
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in error["loc"]) or "request"
            problems.append(f"{where}: {error['msg']}")
        raise InvalidInputError(
            "The generation request is not valid: " + "; ".join(problems) + ".",
            code="invalid_generation_request",
            problems=problems,
        ) from None


# The request model of each generation kind (the task bodies and the estimate share these names).
REQUESTS: dict[str, type[GenerationOptions]] = {
    "inputs": InputsRequest,
    "examples": ExamplesRequest,
    "view": ViewRequest,
    "questions": QuestionsRequest,
}


def validate_request(kind: str, payload: dict[str, Any]) -> GenerationOptions:
    """What a route calls before queueing: the payload checked exactly as the task body will check it."""
    model = REQUESTS.get(kind)
    if model is None:
        raise InvalidInputError(f"Unknown generation kind {kind!r}: one of {', '.join(REQUESTS)}.",
                                code="invalid_generation_kind")
    return parse_request(model, payload)
