"""Generate, then push to the Hugging Face Hub: seed 000's `POST|PUT /data` and `POST|PUT /question` with a repo.

    kind: generation_hub   body: run_generate_and_push   payload: HubGenerationJob   secrets: openai_api_key, hf_token

One task, one context: the generation body of the mode (view: classification or seq2seq rows; questions:
grounded question/answer pairs) writes its rows and the new dataset's file exactly as the other generation
kinds do; the rows are then analysed here, in the same attempt (the card tells the analysis' figures), and
the Hub body pushes them (`push_store`: leak-free splits, Parquet, the card, one commit) or appends them to
one split (`append_store`: rows the repo already has are left out). The Hub token is checked before anything
is sent to the provider. A retried attempt resumes the generation from its rows and pushes again: a push
replaces the repo's data files in one commit and an append leaves out rows that are already there, so a
worker lost between the commit and the end writes nothing twice.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from backend.core.analysis import analyze_file
from backend.core.errors import InvalidInputError
from backend.services.analysis_task import default_options
from backend.services.generation.bodies import DATASET_FILE
from backend.services.generation.dataset_task import GenerationJob, run_generation_job
from backend.services.hub import AppendPayload, Origin, PushPayload, append_store, card_facts, push_store
from backend.services.hub.payloads import SplitName, require_token
from backend.services.tasks.context import TaskContext
from backend.settings import Settings

STORE_DIR = "hub-store"
TASK_CATEGORIES = {"classification": "text-classification", "seq2seq": "text-generation",
                   "questions": "question-answering"}


class HubTarget(BaseModel):
    """Where the rows go: a push (new or replaced repo, split by percentages or into one split) or an append."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["push", "append"]
    repo: str = Field(min_length=1, max_length=200)
    split: list[int] | SplitName = Field(default_factory=lambda: [80, 10, 10])
    private: bool = True

    @model_validator(mode="after")
    def _append_names_a_split(self) -> HubTarget:
        if self.action == "append" and not isinstance(self.split, str):
            raise ValueError("an append adds rows to one split: train, validation or test")
        return self


class HubGenerationJob(GenerationJob):
    mode: Literal["view", "questions"]
    hub: HubTarget


def parse_hub_job(payload: dict[str, Any]) -> HubGenerationJob:
    try:
        return HubGenerationJob.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in exc.errors(include_url=False, include_input=False))
        raise InvalidInputError(f"Invalid generation task payload: {problems}.", code="invalid_payload") from None


def run_generate_and_push(ctx: TaskContext, payload: dict[str, Any], *, settings: Settings | None = None
                          ) -> dict[str, Any]:
    job = parse_hub_job(payload)
    settings = settings or Settings()
    token = require_token(ctx, "push the generated rows to the Hub")
    output = run_generation_job(ctx, job.mode, job, settings)
    ctx.checkpoint()
    ctx.status("Analysing the generated rows for the dataset card")
    store = ctx.work_dir / STORE_DIR
    report = analyze_file(ctx.work_dir / DATASET_FILE, default_options(settings), store)
    generation = output["generation"]
    origin = Origin(kind="generated", provider=generation["provider"]["name"], model=generation["provider"]["model"],
                    settings={"mode": generation["mode"], "prompt_version": generation["prompt_version"],
                              "exploration_mode": output["origin_detail"]["exploration_mode"],
                              "rows": generation["rows"], "task": ctx.task_id})
    ctx.checkpoint()
    if job.hub.action == "push":
        push = PushPayload(dataset_id=job.dataset_id, store=str(store), repo=job.hub.repo, split=job.hub.split,
                           private=job.hub.private, stratify=generation["mode"] == "classification",
                           task_category=TASK_CATEGORIES[generation["mode"]], card=card_facts(report, origin))
        hub = push_store(ctx, push, store, token=token, endpoint=settings.hf_endpoint)
    else:
        assert isinstance(job.hub.split, str)  # HubTarget's validator
        append = AppendPayload(dataset_id=job.dataset_id, store=str(store), repo=job.hub.repo, split=job.hub.split,
                               note=f"generated with {generation['provider']['model']} ({generation['mode']})")
        hub = append_store(ctx, append, store, token=token, endpoint=settings.hf_endpoint)
    ctx.status(f"Done: {generation['rows']} rows generated and sent to {hub['repo_id']}")
    return {**output, "hub": hub}
