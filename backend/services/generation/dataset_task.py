"""Generation on the task engine: the kinds' bodies, and the hook that makes a finished generation a dataset.

    kind                  body                 payload (GenerationJob)                 what the rows become
    generation_inputs     run_inputs_task      request: InputsRequest (seed 004)       {"text"} records
    generation_examples   run_examples_task    request: ExamplesRequest                OpenAI messages
    generation_view       run_view_task        request: ViewRequest (seed 000)         OpenAI messages
    generation_questions  run_questions_task   request: QuestionsRequest (seed 000)    OpenAI messages

A body runs the generation body of its mode (bodies.py: rows.jsonl, resume, usage...) and then writes the chat
dataset as the new dataset's upload file, `DATA_DIR/uploads/<dataset_id>/upload.jsonl`, into the folder the
route named; `on_generated` (the kinds' on_done) only inserts rows: the Dataset (origin "generation", its
lineage in origin_detail), the owner's job, and the analysis that follows, so the result is analysed like any
upload and recommend, notebooks and the history work on it unchanged. A retried attempt resumes from the rows
already written and rewrites the same upload file (atomically), so a lost worker costs nothing twice.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from backend.core.errors import InvalidInputError, UnavailableError
from backend.core.generation.rows import ROWS_FILE, iter_rows, row_data
from backend.db import repository
from backend.db.models import Dataset, Task
from backend.services.analysis_task import queue_analysis
from backend.services.generation.bodies import DATASET_FILE, GENERATION_BODIES, SEEDS_FILE
from backend.services.generation.flushing import FlushingContext
from backend.services.tasks.context import TaskContext
from backend.settings import Settings

UPLOAD_NAME = "upload.jsonl"
INLINE_ROWS = 1000  # rows kept in the task's result (GET /track/{id}); all of them stream from the rows routes
ORIGIN_SEEDS = 50  # seeds quoted in a dataset's origin_detail (each cut to SEED_CHARS)
SEED_CHARS = 300
KIND_OF_MODE = {"inputs": "generation_inputs", "examples": "generation_examples", "view": "generation_view",
                "questions": "generation_questions"}
MODE_OF_KIND = {kind: mode for mode, kind in KIND_OF_MODE.items()}
DatasetId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")]  # a storage id (backend.services.storage)


class GenerationJob(BaseModel):
    """The payload of a generation task, as the route queues it (paths relative to DATA_DIR)."""

    model_config = ConfigDict(extra="forbid")

    request: dict[str, Any]  # the mode's own request (core.generation.payloads.REQUESTS), checked by its body
    dataset_id: DatasetId  # the dataset the rows become
    upload: str  # where its file goes: uploads/<dataset_id>/upload.jsonl
    filename: str  # the name the product shows for it
    seed_store: str | None = None  # examples: the analysis store of the caller's dataset to sample seeds from
    parent_id: str | None = None  # that dataset (lineage)


def parse_job(payload: dict[str, Any]) -> GenerationJob:
    try:
        return GenerationJob.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in exc.errors(include_url=False, include_input=False))
        raise InvalidInputError(f"Invalid generation task payload: {problems}.", code="invalid_payload") from None


def run_inputs_task(ctx: TaskContext, payload: dict[str, Any], *, settings: Settings | None = None) -> dict[str, Any]:
    return run_generation_job(ctx, "inputs", parse_job(payload), settings or Settings())


def run_examples_task(ctx: TaskContext, payload: dict[str, Any], *, settings: Settings | None = None
                      ) -> dict[str, Any]:
    return run_generation_job(ctx, "examples", parse_job(payload), settings or Settings())


def run_view_task(ctx: TaskContext, payload: dict[str, Any], *, settings: Settings | None = None) -> dict[str, Any]:
    return run_generation_job(ctx, "view", parse_job(payload), settings or Settings())


def run_questions_task(ctx: TaskContext, payload: dict[str, Any], *, settings: Settings | None = None
                       ) -> dict[str, Any]:
    return run_generation_job(ctx, "questions", parse_job(payload), settings or Settings())


def run_generation_job(ctx: TaskContext, mode: str, job: GenerationJob, settings: Settings) -> dict[str, Any]:
    """Generate, then write the new dataset's file. The output is what on_generated needs (and keeps)."""
    request = dict(job.request)
    if job.seed_store is not None:  # named by the server from the caller's own dataset, never by the request
        request["dataset_path"] = str(ctx.path(job.seed_store))
    result = GENERATION_BODIES[mode](FlushingContext(ctx), request, settings=settings)
    if result["dataset_records"] == 0:
        dropped = ", ".join(f"{reason} {count}" for reason, count in sorted(result["dropped"].items())) or "none"
        failed = ", ".join(f"{reason} {count}" for reason, count in sorted(result["batches"]["failed_by_reason"]
                                                                            .items())) or "none"
        raise UnavailableError(
            f"No generated row passed the quality gates after {result['batches']['sent']} requests (rows dropped: "
            f"{dropped}; failed requests: {failed}), so no dataset was made: describe the task more precisely, "
            "give better seeds, or pick a larger model.", code="generation_empty")
    ctx.status("Saving the generated dataset")
    size, sha256 = _publish(ctx.work_dir / DATASET_FILE, ctx.path(job.upload))
    rows = list(iter_rows(ctx.work_dir / ROWS_FILE))
    ctx.status(f"Done: {len(rows)} of {result['requested']} rows, saved as a dataset (its analysis follows)")
    return {
        "mode": result["mode"],
        "generation": result,
        "dataset": {"id": job.dataset_id, "stored_name": Path(job.upload).name, "filename": job.filename,
                    "size_bytes": size, "sha256": sha256, "records": result["dataset_records"],
                    "parent_id": job.parent_id},
        "origin_detail": origin_detail(ctx, result, len(rows)),
        "data": [row_data(row, result["mode"]) for row in rows[:INLINE_ROWS]],
    }


def _publish(source: Path, target: Path) -> tuple[int, str]:
    """Copy the chat dataset to the upload path (write, fsync, rename: a reader never sees half a file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as src, partial.open("wb") as out:
        while block := src.read(1 << 20):
            digest.update(block)
            size += len(block)
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, target)
    return size, digest.hexdigest()


def origin_detail(ctx: TaskContext, result: dict[str, Any], rows: int) -> dict[str, Any]:
    """The lineage a generated dataset keeps: who wrote it, how, from which seeds, with what losses."""
    try:
        seeds = orjson.loads((ctx.work_dir / SEEDS_FILE).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        seeds = []
    provider = result["provider"]
    return {
        "task_id": ctx.task_id,
        "provider": provider["name"], "model": provider["model"], "provider_label": provider["label"],
        "tiny_model": provider["tiny"], "warning": result["warning"],
        "mode": result["mode"], "prompt_version": result["prompt_version"],
        "exploration_mode": _exploration(ctx),
        "seeds": {"count": len(seeds), "shown": [_short(seed) for seed in seeds[:ORIGIN_SEEDS]]},
        "counts": {"rows": rows, "requested": result["requested"], "complete": result["complete"],
                   "dropped": result["dropped"], "batches": result["batches"], "resumed_rows": result["resumed_rows"]},
        "usage": result["usage"],
    }


def _exploration(ctx: TaskContext) -> str | None:
    for row in iter_rows(ctx.work_dir / ROWS_FILE):
        value = row.get("provenance", {}).get("exploration_mode")
        return str(value) if value else None
    return None


def _short(seed: Any) -> Any:
    text = seed if isinstance(seed, str) else orjson.dumps(seed).decode()
    return text if len(text) <= SEED_CHARS else text[: SEED_CHARS - 1] + "…"


def on_generated(session: Session, task: Task, output: dict[str, Any]) -> dict[str, Any]:
    """In the transaction that ends the task DONE: the dataset row, the owner's job, the analysis after it."""
    info = output["dataset"]
    parent = session.get(Dataset, info["parent_id"]) if info.get("parent_id") else None
    dataset = Dataset(id=info["id"], owner_id=task.owner_id, filename=info["filename"],
                      stored_name=info["stored_name"], size_bytes=info["size_bytes"], sha256=info["sha256"],
                      options={}, origin="generation", parent_id=parent.id if parent else None,
                      origin_detail=output["origin_detail"], expires_at=task.expires_at)
    session.add(dataset)
    session.flush()
    # The worker's settings are its environment (an embedded worker gets the server's; `slmgen worker` reads
    # the same variables): on_done hooks are not handed a Settings object.
    analysis = queue_analysis(session, Settings(), dataset, task)
    task.dataset_id = dataset.id  # GET /tasks/{id} names the dataset the task made
    if task.owner_id:
        repository.record_job_progress_sync(session, task.owner_id, dataset.id, dataset_filename=dataset.filename,
                                            status="created")
    extra = {"hub": output["hub"]} if "hub" in output else {}
    return {**output["generation"], **extra, "data": output["data"], "dataset_id": dataset.id,
            "session_id": dataset.id, "analysis_task_id": analysis.id,
            "data_complete": len(output["data"]) >= info["records"],
            "links": {"analysis": f"/analyze/{dataset.id}", "rows": f"/data/rows/{task.id}"}}
