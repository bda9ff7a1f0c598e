"""Applying fix-it actions as a task (kind "fix"): the fixed examples become a new dataset version.

    POST /datasets/{id}/fixes  ->  run_fix (a worker)  ->  on_done: the Dataset row (origin "fix") + its analysis

The body reads the source's analysis store (the path the payload names, relative to DATA_DIR) and writes only
the new version's folder (uploads/<new id>/: the fixed canonical JSONL and fixes.json), atomically, so an
attempt lost with its worker is simply run again. The original is never touched.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from backend.core.analysis import Report
from backend.core.errors import InvalidInputError
from backend.core.fix import FixAction
from backend.db.models import Dataset, Task
from backend.services.fixes import FIX_RECORD, write_fixed_version
from backend.services.tasks.context import TaskContext
from backend.services.versions import MadeVersion, made_version, record_version, version_options
from backend.settings import Settings

DatasetId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")]


class FixJob(BaseModel):
    """The fix task's payload (built by backend.services.fixes.start_fix)."""

    model_config = ConfigDict(extra="forbid")

    source_id: DatasetId
    source_store: str = Field(min_length=1, max_length=500)  # the source's current analysis store, under DATA_DIR
    source_filename: str
    report: dict[str, Any]  # the source's report: the decisions count against it
    actions: list[FixAction] = Field(min_length=1)
    max_seq_length: int | None = Field(None, ge=1)  # for the over-length actions; default the report's
    dataset_id: DatasetId  # the new version's id (also this task's id)
    analysis_options: dict[str, Any] = Field(default_factory=dict)  # {max_seq_length, tokenizer} for its analysis


class _Passes:
    """Progress over apply_fixes' two passes (deciding, then writing), with a checkpoint at each report."""

    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx
        self.passes = 0
        self.seen = False

    def __call__(self, position: int, total: int) -> None:
        if position == 0 and self.seen:
            self.passes = 1
            self.ctx.status("Writing the new version")
        self.seen = True
        self.ctx.checkpoint()
        self.ctx.progress(self.passes * total + position, 2 * total)


def run_fix(ctx: TaskContext, payload: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    """Task body. Result: the version written (for on_done) and what each action did."""
    try:
        job = FixJob.model_validate(payload)
    except ValidationError as exc:
        raise InvalidInputError(f"Invalid fix payload: {exc.errors()[0]['msg']}", code="invalid_payload") from None
    settings = settings or Settings()
    ctx.status(f"Applying {len(job.actions)} fix action{'s' if len(job.actions) != 1 else ''} to "
               f"{job.source_filename}")
    version = write_fixed_version(settings, job.source_id, ctx.path(job.source_store), job.source_filename,
                                  Report.model_validate(job.report), job.actions, job.dataset_id,
                                  job.max_seq_length, on_progress=_Passes(ctx))
    plan = version.result.plan
    ctx.progress(1, 1)
    ctx.status(f"Wrote {version.result.examples_written:,} of {plan.examples_before:,} examples; "
               "the new version is analysed next")
    options = version_options(settings, {**job.analysis_options,
                                         **({"max_seq_length": job.max_seq_length} if job.max_seq_length else {})})
    made = made_version(settings, dataset_id=job.dataset_id, filename=version.filename,
                        stored_name=version.stored_name, size_bytes=version.size_bytes, sha256=version.sha256,
                        options=options)
    return {"version": made.model_dump(), "source_id": job.source_id, "fixes": version.lineage["fixes"],
            "max_seq_length": plan.max_seq_length, "examples_before": plan.examples_before,
            "examples_after": version.result.examples_written}


def on_done(session: Session, task: Task, output: dict[str, Any]) -> dict[str, Any]:
    """The new version's row (lineage: its parent, the fixes and what each removed or changed) and its analysis."""
    made = MadeVersion.model_validate(output["version"])
    parent = session.get(Dataset, output["source_id"])  # deleted meanwhile: the version stands on its own
    detail = {"fixes": output["fixes"], "fix_record": FIX_RECORD, "max_seq_length": output["max_seq_length"],
              "examples_before": output["examples_before"], "examples_after": output["examples_after"],
              "parent_filename": parent.filename if parent else None}
    dataset = record_version(session, task, made, origin="fix", parent_id=parent.id if parent else None,
                             origin_detail=detail)
    return {"session_id": dataset.id, "analysis_task_id": dataset.analysis_task_id, "filename": dataset.filename,
            "parent_id": dataset.parent_id, **{k: detail[k] for k in ("fixes", "examples_before", "examples_after")}}
