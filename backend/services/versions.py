"""Dataset versions that tasks make (a fixed version, a Hub import): the row, its analysis, and what is said
about a version while it is being made.

The route that starts such a task chooses the new version's session id and gives the task the SAME id, so
`GET /analyze/{session_id}` can answer for a version whose row does not exist yet: its making task's progress
(202, status "fixing" or "importing"), or that task's error once it failed. The body writes only the new
version's folder (DATA_DIR/uploads/<id>/), so a lost attempt can simply run again; it reports the file it
wrote and the analysis payload for it (`made_version`). The kind's `on_done` calls `record_version`, which
inserts the Dataset row and queues its analysis in the transaction that ends the task DONE: the row exists
exactly when the task has finished, and it is analysed like any upload.
"""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from backend.auth import User
from backend.core.analysis import AnalysisOptions
from backend.core.errors import (
    ConflictError,
    CoreError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    UnauthorizedError,
    UnavailableError,
)
from backend.core.ingest import IngestOptions
from backend.db import repository
from backend.db import tasks as task_repo
from backend.db.models import Dataset, Task
from backend.db.types import utc_now
from backend.services.analysis_task import analysis_job
from backend.services.state import AppState
from backend.services.tasks import engine
from backend.services.tasks.followup import add_followup
from backend.settings import Settings

# The kinds that make a version, and the status GET /analyze gives while one runs.
MAKING_STATUS = {"fix": "fixing", "hub_import": "importing"}

# A failed making task's error code -> the error class (and so the HTTP status) GET /analyze answers with.
FAILURE_CLASSES: dict[str, type[CoreError]] = {
    "hub_token_required": UnauthorizedError, "hub_token_invalid": UnauthorizedError,
    "hub_token_missing": UnauthorizedError, "hub_forbidden": ForbiddenError, "hub_gated": ForbiddenError,
    "hub_repo_not_found": NotFoundError, "hub_revision_not_found": NotFoundError,
    "store_not_found": NotFoundError, "hub_dataset_too_large": PayloadTooLargeError,
    "payload_too_large": PayloadTooLargeError, "hub_rate_limited": RateLimitedError,
    "hub_unreachable": UnavailableError, "hub_unavailable": UnavailableError,
    "internal_error": UnavailableError, "worker_lost": UnavailableError, "worker_stopped": UnavailableError,
    "secret_unreadable": UnavailableError,
}


def new_version_id() -> str:
    """A new version's session id, which is also the id of the task that makes it: 192 random bits (it alone
    grants access to an anonymous dataset), 32 characters (what a task id holds)."""
    return secrets.token_urlsafe(24)


class MadeVersion(BaseModel):
    """What a making body returns about the file it wrote (the kind's on_done turns it into a Dataset row)."""

    dataset_id: str
    filename: str  # for display
    stored_name: str
    size_bytes: int
    sha256: str
    analysis: dict[str, Any]  # the analysis task's payload for the file (backend.services.analysis_task)
    analysis_options: dict[str, Any]  # {max_seq_length, tokenizer}: recorded on the row as an upload's are


def version_options(settings: Settings, chosen: dict[str, Any] | None = None) -> AnalysisOptions:
    """The options a new version is analysed with: the ones given (its parent's), else the server's defaults."""
    chosen = chosen or {}
    ingest = IngestOptions(max_line_bytes=settings.max_line_bytes, max_records=settings.max_records)
    return AnalysisOptions(max_seq_length=int(chosen.get("max_seq_length") or settings.default_max_seq_length),
                           tokenizer=str(chosen.get("tokenizer") or settings.default_tokenizer), ingest=ingest)


def made_version(settings: Settings, *, dataset_id: str, filename: str, stored_name: str, size_bytes: int,
                 sha256: str, options: AnalysisOptions) -> MadeVersion:
    """Blocking side (the body, which has the worker's settings): the file written and how to analyse it."""
    return MadeVersion(dataset_id=dataset_id, filename=filename, stored_name=stored_name, size_bytes=size_bytes,
                       sha256=sha256, analysis=analysis_job(settings, dataset_id, stored_name, options, size_bytes),
                       analysis_options={"max_seq_length": options.max_seq_length, "tokenizer": options.tokenizer})


def record_version(session: Session, task: Task, made: MadeVersion, *, origin: str, parent_id: str | None,
                   origin_detail: dict[str, Any]) -> Dataset:
    """Inside the making task's finishing transaction: the Dataset row, owned as the task is, and its analysis.

    (queue_analysis needs the worker's settings, which a hook is not given: the body computed the analysis
    payload instead, and it is queued here the same way.)
    """
    dataset = Dataset(id=made.dataset_id, owner_id=task.owner_id, filename=made.filename,
                      stored_name=made.stored_name, size_bytes=made.size_bytes, sha256=made.sha256,
                      options=made.analysis_options, expires_at=task.expires_at, origin=origin,
                      parent_id=parent_id, origin_detail=origin_detail, created_at=utc_now())
    session.add(dataset)
    session.flush()
    analysis = add_followup(session, task, "analysis", made.analysis, dataset_id=dataset.id,
                            status="Queued for analysis")
    dataset.analysis_task_id = analysis.id
    task.dataset_id = dataset.id  # the making task now names what it made
    if task.owner_id:
        repository.record_job_progress_sync(session, task.owner_id, dataset.id, dataset_filename=made.filename,
                                            status="created")
    session.flush()
    return dataset


async def making_task(state: AppState, session_id: str, user: User | None) -> Task | None:
    """The task making the version `session_id` when there is no row for it yet (None: there is no such task)."""
    if not session_id or len(session_id) > 64:
        return None
    async with state.session() as session:
        task = await session.run_sync(task_repo.get_task, session_id)
    if task is None or task.kind not in MAKING_STATUS or not engine.is_visible(task, user):
        return None
    return task


def making_failure(task: Task) -> CoreError:
    """Why a version was not made: its task's error, with the status its code calls for."""
    what = "import from the Hub" if task.kind == "hub_import" else "fixed version"
    if task.state == "CANCELLED":
        return ConflictError(f"The {what} was stopped before it finished; nothing was made. Start it again.",
                             code=f"{task.kind}_cancelled")
    detail = task.error_message or f"The {what} failed."
    code = task.error_code or f"{task.kind}_failed"
    return FAILURE_CLASSES.get(code, InvalidInputError)(detail, code=code, task_id=task.id)
