"""Uploads, their analyses and what is read from them: the dataset half of the product."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from backend.auth import User
from backend.core.analysis import AnalysisOptions, Report
from backend.core.errors import (
    ConflictError,
    CoreError,
    ExpiredError,
    InvalidInputError,
    NotADatasetError,
    NotFoundError,
    NotReadyError,
    PayloadTooLargeError,
    UnavailableError,
    UnsupportedEncodingError,
)
from backend.core.ingest import IngestOptions
from backend.core.ingest.mapping import check_mapping
from backend.core.tokens import check_tokenizer_name
from backend.db import repository as repo
from backend.db import tasks as task_repo
from backend.db.models import ACTIVE_TASK_STATES, Dataset, Task
from backend.services import storage, versions
from backend.services.analysis_task import analysis_job
from backend.services.multipart import ReceivedFile, receive_file_part
from backend.services.state import AppState
from backend.services.tasks import engine

log = logging.getLogger("slmgen.datasets")

# Failures that were our trouble (503); any other failure code came from the analysed file (4xx).
SERVER_SIDE_FAILURES = {"worker_lost", "worker_stopped", "internal_error", "storage_unavailable",
                        "input_interrupted", "secret_unreadable", "analysis_failed"}
USER_FAILURE_CLASSES: dict[str, type[CoreError]] = {
    "not_a_dataset": NotADatasetError,
    "unsupported_encoding": UnsupportedEncodingError,
    "decompressed_too_large": PayloadTooLargeError,
}


def new_session_id() -> str:
    # 192 bits from the OS: the id alone grants access to an anonymous upload, so it must be unguessable.
    return secrets.token_urlsafe(24)


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # SQLite hands back naive datetimes; we only ever store UTC
    return moment


@dataclass(frozen=True)
class UploadResult:
    session_id: str
    filename: str
    size: int
    message: str
    task_id: str


def options_to_json(options: AnalysisOptions) -> dict[str, Any]:
    return {"max_seq_length": options.max_seq_length, "tokenizer": options.tokenizer,
            # trust: the user's field and role mapping, kept for re-analysis and resume
            "field_mapping": options.ingest.column_mapping, "role_mapping": options.ingest.role_mapping}


def analysis_options(state: AppState, max_seq_length: int | None = None,
                     tokenizer: str | None = None, stored: dict[str, Any] | None = None,
                     field_mapping: dict[str, str] | None = None,
                     role_mapping: dict[str, str] | None = None) -> AnalysisOptions:
    stored = stored or {}
    chosen_tokenizer = tokenizer or stored.get("tokenizer") or state.settings.default_tokenizer
    chosen_length = max_seq_length or stored.get("max_seq_length") or state.settings.default_max_seq_length
    if not 16 <= int(chosen_length) <= 1_048_576:
        raise InvalidInputError("max_seq_length must be between 16 and 1,048,576 tokens.", field="max_seq_length")
    # An unknown tokenizer is the caller's mistake: refuse it now. Loading it is the workers' job, not the server's.
    check_tokenizer_name(str(chosen_tokenizer))
    fields, roles = check_mapping(field_mapping or stored.get("field_mapping"),  # trust: user mapping
                                  role_mapping or stored.get("role_mapping"))
    ingest = IngestOptions(max_line_bytes=state.settings.max_line_bytes, max_records=state.settings.max_records,
                           column_mapping=fields, role_mapping=roles)
    return AnalysisOptions(max_seq_length=int(chosen_length), tokenizer=str(chosen_tokenizer), ingest=ingest,
                           allow_tokenizer_download=state.settings.allow_tokenizer_download)


def client_key(user: User | None, peer: str | None) -> str:
    """Whom limits are counted against: the signed-in user, else the peer address."""
    return f"user:{user.id}" if user else f"addr:{peer or 'unknown'}"


async def upload_dataset(state: AppState, user: User | None, client: str, content_type: str | None,
                         body: AsyncIterator[bytes], options: AnalysisOptions) -> UploadResult:
    """Stream the upload to disk, record it, and hand its analysis to the workers.

    The analysis task is admitted before the first byte is read: the capacity it takes is reserved for the
    whole upload (and given back if the upload fails), so a long upload is never refused at its end.
    """
    state.upload_limiter.hit(client)
    session_id = new_session_id()
    task = await engine.admit(state, "analysis", user, client, {"awaiting_input": True, "dataset_id": session_id},
                              status="Receiving the upload")
    try:
        received = await _receive(state, task, session_id, content_type, body)
        stored_name = storage.stored_upload_name(received.filename)
        (storage.dataset_dir(state.settings, session_id) / RECEIVING).rename(
            storage.upload_path(state.settings, session_id, stored_name))
        filename = storage.display_filename(received.filename)
        expires = None if user else utcnow() + timedelta(hours=state.settings.anonymous_ttl_hours)
        payload = analysis_job(state.settings, session_id, stored_name, options, received.size)
        async with state.session() as session:
            await repo.add_dataset(session, Dataset(
                id=session_id, owner_id=user.id if user else None, filename=filename, stored_name=stored_name,
                size_bytes=received.size, sha256=received.sha256, options=options_to_json(options),
                expires_at=expires, analysis_task_id=task.id, origin="upload"))
            await session.run_sync(lambda s: task_repo.prepare_queued(
                s, task.id, payload=payload, dataset_id=session_id, status="Queued for analysis"))
            if user:
                await repo.record_job_progress(session, user.id, session_id, dataset_filename=filename,
                                               status="created")
    except BaseException:
        storage.delete_dataset_files(state.settings, session_id)  # no half-written state
        await engine.release(state, task.id)
        raise
    await engine.hand_over(state, task)
    return UploadResult(session_id, filename, received.size, "Upload successful; analysis started.", task.id)


RECEIVING = "receiving.part"


async def _receive(state: AppState, task: Task, session_id: str, content_type: str | None,
                   body: AsyncIterator[bytes]) -> ReceivedFile:
    """Receive the file part while keeping the task's reservation alive."""
    target = storage.dataset_dir(state.settings, session_id) / RECEIVING
    received = asyncio.Event()
    keeper = asyncio.create_task(engine.keep_reserved(state, task, received))
    try:
        return await receive_file_part(content_type, body, target, state.settings.max_upload_bytes)
    finally:
        received.set()
        await keeper


async def start_analysis(state: AppState, dataset: Dataset, options: AnalysisOptions, user: User | None,
                         client: str) -> Task:
    """A new analysis task for this dataset, which becomes its current one (409 if one is already running)."""
    payload = analysis_job(state.settings, dataset.id, dataset.stored_name, options, dataset.size_bytes)
    task = await engine.admit(state, "analysis", user, client, payload, dataset_id=dataset.id,
                              status="Queued for analysis")
    async with state.session() as session:
        switched = await repo.switch_analysis(session, dataset.id, dataset.analysis_task_id, task.id,
                                              options=options_to_json(options))
    if not switched:  # another request started one in between: that one stands
        await engine.release(state, task.id)
        raise ConflictError("This dataset is being analysed right now; poll GET /analyze/{session_id}.",
                            code="analysis_running")
    await engine.hand_over(state, task)
    return task


async def current_analysis(state: AppState, dataset: Dataset) -> Task | None:
    if dataset.analysis_task_id is None:
        return None
    async with state.session() as session:
        return await session.run_sync(task_repo.get_task, dataset.analysis_task_id)


async def is_analysing(state: AppState, dataset: Dataset) -> bool:
    task = await current_analysis(state, dataset)
    return task is not None and task.state in ACTIVE_TASK_STATES


async def get_dataset_for(state: AppState, session_id: str, user: User | None) -> Dataset:
    """The dataset if this caller may see it; someone else's is 'not found', never 'forbidden'."""
    if not session_id or len(session_id) > 64:
        raise _unknown_session(session_id)
    async with state.session() as session:
        dataset = await repo.get_dataset(session, session_id)
    if dataset is None:
        raise _unknown_session(session_id)
    if dataset.owner_id is not None and (user is None or user.id != dataset.owner_id):
        raise _unknown_session(session_id)
    expires = as_aware(dataset.expires_at)
    if expires is not None and expires <= utcnow():
        raise ExpiredError("This upload has expired (anonymous uploads are kept for "
                           f"{state.settings.anonymous_ttl_hours:g} hours). Upload the file again, or sign in "
                           "to keep your datasets.", session_id=session_id)
    return dataset


def _unknown_session(session_id: str) -> NotFoundError:
    return NotFoundError("No upload with this session id. Upload the file again with POST /upload.",
                         code="session_not_found")


async def reanalyze(state: AppState, session_id: str, user: User | None, client: str,
                    max_seq_length: int | None = None, tokenizer: str | None = None,
                    field_mapping: dict[str, str] | None = None,
                    role_mapping: dict[str, str] | None = None) -> Task:
    """Run the analysis again; options not given keep the ones of the last run."""
    dataset = await get_dataset_for(state, session_id, user)
    options = analysis_options(state, max_seq_length, tokenizer, stored=dataset.options,
                               field_mapping=field_mapping, role_mapping=role_mapping)
    if await is_analysing(state, dataset):
        raise ConflictError("This dataset is being analysed right now; poll GET /analyze/{session_id}.",
                            code="analysis_running")
    return await start_analysis(state, dataset, options, user, client)


@dataclass(frozen=True)
class AnalysisStatus:
    """Either still running (report is None) or finished with its report."""

    status: str  # queued | analyzing | cancelling | ready; fixing | importing while a task makes the version
    progress: float
    report: Report | None = None
    task: Task | None = None
    partial: dict[str, Any] | None = None
    filename: str | None = None  # the client's name, for display (None while a task still makes the version)


RUNNING_STATUS = {"QUEUED": "queued", "RUNNING": "analyzing", "CANCELLING": "cancelling"}


async def analysis_status(state: AppState, session_id: str, user: User | None, client: str) -> AnalysisStatus:
    """Where the dataset's current analysis stands; a failed or cancelled one raises what happened."""
    try:
        dataset = await get_dataset_for(state, session_id, user)
    except NotFoundError:
        # datasets out: a version a task is still making (a fix, a Hub import) has no row yet
        making = await versions.making_task(state, session_id, user)
        if making is None:
            raise
        if making.state in RUNNING_STATUS:
            fraction = making.progress_done / making.progress_total if making.progress_total else 0.0
            return AnalysisStatus(versions.MAKING_STATUS[making.kind], min(fraction, 0.99), task=making)
        if making.state != "DONE":
            raise versions.making_failure(making) from None
        dataset = await get_dataset_for(state, session_id, user)  # made: its row and analysis exist now
    task = await current_analysis(state, dataset)
    if task is None:
        if dataset.report is not None:
            return AnalysisStatus("ready", 1.0, report_of(dataset), filename=dataset.filename)
        # Recorded before analyses were tasks, and never finished: start it now from the stored upload.
        task = await start_analysis(state, dataset, analysis_options(state, stored=dataset.options), user, client)
    if task.state in RUNNING_STATUS:
        fraction = task.progress_done / task.progress_total if task.progress_total else 0.0
        return AnalysisStatus(RUNNING_STATUS[task.state], min(fraction, 0.99), task=task,
                              partial=await engine.partial_figures(state, task), filename=dataset.filename)
    if task.state == "DONE":
        # The dataset row was read before the task: if the worker committed in between, that row holds no
        # report or the previous analysis's one. The task and the report are committed together, so a row
        # read after a DONE task holds this task's report.
        dataset = await get_dataset_for(state, session_id, user)
        return AnalysisStatus("ready", 1.0, report_of(dataset), task=task, filename=dataset.filename)
    raise failure_error(task)


def report_of(dataset: Dataset) -> Report:
    if dataset.report is None:
        raise NotReadyError("The analysis has not finished yet; poll GET /analyze/{session_id}.",
                            code="analysis_not_ready")
    return Report.model_validate(dataset.report)


async def load_report(state: AppState, session_id: str, user: User | None) -> Report:
    """The finished report, or a clear error saying why there is none (used by recommend and generate)."""
    return await finished_report(state, await get_dataset_for(state, session_id, user))


async def finished_report(state: AppState, dataset: Dataset) -> Report:
    """The report of the dataset's last finished analysis, or the error that says why there is none."""
    if dataset.report is None:
        task = await current_analysis(state, dataset)
        if task is not None and task.state in ("ERROR", "CANCELLED"):
            raise failure_error(task)
    return report_of(dataset)


async def analysed(state: AppState, session_id: str, user: User | None) -> tuple[Report, Path]:
    """The finished report and the store it was made with (access-checked; a store exists only once analysed)."""
    dataset = await get_dataset_for(state, session_id, user)
    return await finished_report(state, dataset), store_dir(state, dataset)


def store_dir(state: AppState, dataset: Dataset) -> Path:
    """The analysis store the dataset's report was made with (what previews and notebooks read)."""
    if dataset.store_name:
        return state.settings.data_dir / dataset.store_name
    return storage.store_dir(state.settings, dataset.id)  # analysed before stores were per attempt


def failure_error(task: Task) -> CoreError:
    """Why the current analysis has no report: the user's input (4xx) unless it was our trouble (503)."""
    if task.state == "CANCELLED":
        return ConflictError("The analysis was cancelled before it finished; start it again with "
                             "POST /analyze/{session_id}.", code="analysis_cancelled")
    detail = task.error_message or "The analysis failed."
    code = task.error_code or "analysis_failed"
    if code in SERVER_SIDE_FAILURES:
        return UnavailableError(f"{detail} Retry with POST /analyze/{{session_id}}.", code=code)
    return USER_FAILURE_CLASSES.get(code, InvalidInputError)(detail, code=code)
