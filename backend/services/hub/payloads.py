"""The payloads of the Hub task bodies (validated first thing in each body), and what they share."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend.core.errors import InvalidInputError, UnauthorizedError
from backend.services.hub.client import TOKEN_HINT
from backend.services.hub.facts import CardFacts
from backend.services.tasks.context import TaskContext

SplitName = Literal["train", "validation", "test"]
HF_TOKEN_SECRET = "hf_token"  # the name under which a task carries the Hub token (ctx.secret)
M = TypeVar("M", bound=BaseModel)
DatasetId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")]  # a storage id (backend.services.storage)
# Where the examples are read: a path under DATA_DIR (the worker resolves it with ctx.path, which refuses
# anything outside the storage). The CLI, running the bodies in its own process, passes an absolute path.
StorePath = Annotated[str, Field(min_length=1, max_length=500)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PushRequest(_Payload):
    """What to push; push_store takes it with the store to read (PushPayload, the task body's, names it)."""

    dataset_id: DatasetId  # the dataset version to push
    repo: str  # owner/name, or a bare name for the token's own namespace
    split: list[int] | SplitName = Field(default_factory=lambda: [80, 10, 10])  # percentages, or one split
    private: bool = True
    seed: int = 42
    stratify: bool = False  # classification data: every split gets each label (the last reply) in proportion
    license: str = "unknown"
    task_category: str = "text-generation"
    card: CardFacts
    commit_message: str | None = None


class PushPayload(PushRequest):
    store: StorePath  # its current analysis store (backend.services.datasets.store_dir), relative to DATA_DIR


class AppendRequest(_Payload):
    """What to append; append_store takes it with the store (AppendPayload, the task body's, names it)."""

    dataset_id: DatasetId  # the dataset version whose examples are added
    repo: str
    split: SplitName = "train"
    note: str | None = None  # said in the card's update line (e.g. "generated with gpt-4o-mini")
    commit_message: str | None = None


class AppendPayload(AppendRequest):
    store: StorePath  # its current analysis store, relative to DATA_DIR


class ImportPayload(_Payload):
    repo: str
    config: str | None = None
    split: str = "train"
    revision: str | None = None  # branch, tag or commit; default the main branch
    dataset_id: DatasetId  # the new dataset version the rows are written for (its upload file)


def validate(model: type[M], payload: dict[str, Any]) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        fields = [{"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]} for err in exc.errors()]
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
        raise InvalidInputError(f"Invalid task payload: {summary}", code="invalid_payload", fields=fields) from None


def require_token(ctx: TaskContext, action: str) -> str:
    token = ctx.secret(HF_TOKEN_SECRET)
    if not token:
        raise UnauthorizedError(f"A Hugging Face token with write access is needed to {action}. {TOKEN_HINT}.",
                                code="hub_token_missing")
    return token
