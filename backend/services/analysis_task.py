"""The analysis as a task: plan (sniff, split into chunks) → one part per chunk, on any worker → merge → report.

An attempt's store is the attempt's own directory (tasks/<task id>/<attempt>/: the plan, each chunk's canonical
examples and result, then the index). The dataset row names the store of its last finished analysis
(`store_name`), written in the same transaction that ends the task DONE, so a re-analysis or a retried attempt
never touches a store that a reader (preview, notebook) is reading. Stores nothing names are removed later by the
cleanup sweep (`unused_stores`).
"""

from __future__ import annotations

import pickle
import shutil
import time
from dataclasses import asdict, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.analysis import AnalysisOptions, AnalysisPlan, analyze_chunk, merge_result_files, plan_analysis
from backend.core.analysis.chunk import sum_summaries
from backend.core.ingest import IngestOptions
from backend.db import repository
from backend.db.models import FINAL_TASK_STATES, Dataset, Task
from backend.db.types import utc_now
from backend.services.tasks.context import TaskContext
from backend.services.tasks.followup import add_followup
from backend.services.tasks.kinds import Parts
from backend.settings import Settings

PLAN_FILE = "plan.pickle"
RESULT_FILE = "chunk-result-{:06d}.pickle"


class AnalysisJob(BaseModel):
    """The payload of an analysis task. `upload` is relative to the shared storage (DATA_DIR); `options` is the
    AnalysisOptions dataclass as JSON (its ingest options nested), so every option travels, mappings included."""

    dataset_id: str
    upload: str
    options: dict[str, Any]

    def analysis_options(self) -> AnalysisOptions:
        values = dict(self.options)
        return AnalysisOptions(**{**values, "ingest": IngestOptions(**values.get("ingest", {}))})


def decompression_limit(settings: Settings, compressed_size: int) -> int:
    """How far a gzip upload may expand: proportional to its size, so analysis time stays bounded per MB."""
    return min(settings.max_decompressed_bytes,
               max(64 * 1024 * 1024, settings.max_decompression_ratio * compressed_size))


def analysis_job(settings: Settings, dataset_id: str, stored_name: str, options: AnalysisOptions,
                 size_bytes: int) -> dict[str, Any]:
    """The analysis task's payload for a dataset's upload file."""
    upload = (settings.uploads_dir / dataset_id / stored_name).relative_to(settings.data_dir)
    ingest = replace(options.ingest, max_records=options.ingest.max_records or settings.max_records,
                     max_decompressed_bytes=decompression_limit(settings, size_bytes))
    return AnalysisJob(dataset_id=dataset_id, upload=upload.as_posix(),
                       options=asdict(replace(options, ingest=ingest))).model_dump()


def default_options(settings: Settings) -> AnalysisOptions:
    ingest = IngestOptions(max_line_bytes=settings.max_line_bytes, max_records=settings.max_records)
    return AnalysisOptions(max_seq_length=settings.default_max_seq_length, tokenizer=settings.default_tokenizer,
                           ingest=ingest)


def queue_analysis(session: Session, settings: Settings, dataset: Dataset, parent: Task) -> Task:
    """Inside a finishing task's transaction: analyse `dataset` (a row just made from the task's output) next,
    with the server's default options; it becomes the dataset's current analysis."""
    options = default_options(settings)
    task = add_followup(session, parent, "analysis",
                        analysis_job(settings, dataset.id, dataset.stored_name, options, dataset.size_bytes),
                        dataset_id=dataset.id, status="Queued for analysis")
    dataset.analysis_task_id = task.id
    dataset.options = {"max_seq_length": options.max_seq_length, "tokenizer": options.tokenizer}
    session.flush()
    return task


def store_name(task_id: str, attempt: int) -> str:
    """Where an attempt's store lives, relative to DATA_DIR (the attempt's work directory)."""
    return f"tasks/{task_id}/{attempt}"


def plan(ctx: TaskContext, payload: dict[str, Any]) -> Parts:
    job = AnalysisJob.model_validate(payload)
    started = time.perf_counter()
    ctx.status("Reading the file")
    analysis_plan = plan_analysis(ctx.path(job.upload), job.analysis_options())
    seconds = time.perf_counter() - started
    _write(ctx.work_dir / PLAN_FILE, {"plan": analysis_plan, "plan_seconds": seconds, "planned_at": time.time()})
    chunks = len(analysis_plan.chunks)
    return Parts(chunks, status=f"Analysing the examples ({chunks} chunk{'' if chunks == 1 else 's'})")


def analyze_part(ctx: TaskContext, payload: dict[str, Any], part: int) -> dict[str, Any]:
    ctx.checkpoint()
    analysis_plan = _plan(ctx, payload)["plan"]
    result = analyze_chunk(analysis_plan, part, ctx.work_dir)
    _write(ctx.work_dir / RESULT_FILE.format(part), result)
    return result.summary()


def merge(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    ctx.status("Merging the chunks: duplicates across the file, the score")
    saved = _plan(ctx, payload)
    analysis_plan: AnalysisPlan = saved["plan"]
    files = [ctx.work_dir / RESULT_FILE.format(n) for n in range(len(analysis_plan.chunks))]
    started = time.perf_counter()
    report = merge_result_files(analysis_plan, files, ctx.work_dir)
    finished = time.perf_counter()
    chunks_wall = max(0.0, time.time() - saved["planned_at"] - (finished - started))
    timings = {**report.timings, "plan": round(saved["plan_seconds"], 4), "chunks": round(chunks_wall, 4),
               "merge": round(finished - started, 4),
               "total": round(saved["plan_seconds"] + chunks_wall + finished - started, 4)}
    report = report.model_copy(update={"timings": timings})
    ctx.status("Done")
    return {"report": report.model_dump(mode="json"), "store": store_name(ctx.task_id, ctx.attempt)}


def summarize(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """The running figures of a partly analysed file: labelled partial, they grow as chunks finish."""
    return {"partial": True, **sum_summaries(summaries)}


def on_done(session: Session, task: Task, output: dict[str, Any]) -> dict[str, Any]:
    """The report goes onto its dataset (if this analysis is still the dataset's current one)."""
    report = output["report"]
    summary = {key: report.get(key) for key in ("records_total", "total_examples", "total_tokens", "quality_score",
                                                 "format_valid")}
    dataset = session.get(Dataset, task.dataset_id) if task.dataset_id else None
    if dataset is None or dataset.analysis_task_id != task.id:
        return {**summary, "superseded": True}
    now = utc_now()
    dataset.report = report
    dataset.store_name = output["store"]
    dataset.analyzed_at = now
    dataset.updated_at = now
    if dataset.owner_id:
        repository.record_job_progress_sync(session, dataset.owner_id, dataset.id, status="analyzed",
                                            dataset_stats=job_stats(report))
    session.flush()
    return summary


def on_end(session: Session, task: Task) -> None:
    """A failed analysis marks the owner's job failed (a cancelled one leaves the job as it was)."""
    dataset = session.get(Dataset, task.dataset_id) if task.dataset_id else None
    if task.state == "ERROR" and dataset is not None and dataset.owner_id and dataset.analysis_task_id == task.id:
        repository.record_job_progress_sync(session, dataset.owner_id, dataset.id, status="failed")


def job_stats(report: dict[str, Any]) -> dict[str, Any]:
    return {key: report.get(key) for key in ("total_examples", "total_tokens", "quality_score", "format_valid")}


def unused_stores(session: Session, settings: Settings, older_than: timedelta) -> list[Path]:
    """Work directories of finished analyses that no dataset reads any more (superseded, failed, cancelled)."""
    cutoff = utc_now() - older_than
    rows = session.execute(select(Task.id, Task.dataset_id, Dataset.store_name)
                           .outerjoin(Dataset, Dataset.id == Task.dataset_id)
                           .where(Task.kind == "analysis", Task.state.in_(FINAL_TASK_STATES),
                                  Task.finished_at < cutoff))
    unused: list[Path] = []
    for task_id, _dataset_id, current in rows:
        base = settings.data_dir / "tasks" / task_id
        if not base.is_dir():
            continue
        for attempt_dir in base.iterdir():
            if current != f"tasks/{task_id}/{attempt_dir.name}":
                unused.append(attempt_dir)
    return unused


def remove_dirs(paths: list[Path]) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def _plan(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    """The attempt's saved plan, with the upload's path as this machine sees the shared storage."""
    job = AnalysisJob.model_validate(payload)
    with open(ctx.work_dir / PLAN_FILE, "rb") as f:
        saved: dict[str, Any] = pickle.load(f)  # our own file, written by this attempt's first step
    saved["plan"] = replace(saved["plan"], path=ctx.path(job.upload))
    return saved


def _write(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
