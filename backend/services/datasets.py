"""Uploads, their analyses and what is read from them: the dataset half of the product."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
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
from backend.db.models import Dataset
from backend.services import storage
from backend.services.analysis_runner import AnalysisOutcome
from backend.services.multipart import receive_file_part
from backend.services.state import AppState

log = logging.getLogger("slmgen.datasets")

# Failures that were our trouble (503); any other failure code came from the analysed file (4xx).
SERVER_SIDE_FAILURES = {"analysis_crashed", "analysis_failed", "storage_unavailable", "upload_missing"}
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
    """Stream the upload to disk, record it, and start its analysis right away."""
    state.upload_limiter.hit(client)
    state.runner.check_capacity(client)
    session_id = new_session_id()
    tmp_target = storage.dataset_dir(state.settings, session_id) / "receiving.part"
    try:
        received = await receive_file_part(content_type, body, tmp_target, state.settings.max_upload_bytes)
    except BaseException:
        storage.delete_dataset_files(state.settings, session_id)
        raise
    stored_name = storage.stored_upload_name(received.filename)
    tmp_target.rename(storage.upload_path(state.settings, session_id, stored_name))
    filename = storage.display_filename(received.filename)
    expires = None if user else utcnow() + timedelta(hours=state.settings.anonymous_ttl_hours)
    try:
        async with state.session() as session:
            await repo.add_dataset(session, Dataset(
                id=session_id, owner_id=user.id if user else None, filename=filename, stored_name=stored_name,
                size_bytes=received.size, sha256=received.sha256, status="queued", progress=0.0,
                options=options_to_json(options), expires_at=expires))
            if user:
                await repo.record_job_progress(session, user.id, session_id, dataset_filename=filename,
                                               status="created")
    except BaseException:
        storage.delete_dataset_files(state.settings, session_id)  # no half-written state
        raise
    start_analysis(state, session_id, stored_name, options, client)
    return UploadResult(session_id, filename, received.size, "Upload successful; analysis started.")


def decompression_limit(state: AppState, compressed_size: int) -> int:
    """How far a gzip upload may expand: proportional to its size, so analysis time stays bounded per MB."""
    settings = state.settings
    return min(settings.max_decompressed_bytes,
               max(64 * 1024 * 1024, settings.max_decompression_ratio * compressed_size))


def start_analysis(state: AppState, dataset_id: str, stored_name: str, options: AnalysisOptions,
                   client: str = "") -> None:
    if state.runner.is_running(dataset_id):
        # Two requests may both have seen it idle before either started it: the second must not empty
        # the store the first one's analysis is writing (the runner would ignore its submit anyway).
        return
    path = storage.upload_path(state.settings, dataset_id, stored_name)
    store = storage.reset_store(state.settings, dataset_id)
    if path.exists():
        limit = decompression_limit(state, path.stat().st_size)
        options = replace(options, ingest=replace(options.ingest, max_decompressed_bytes=limit))

    async def on_started(_: str) -> None:
        async with state.session() as session:
            await repo.update_dataset(session, dataset_id, status="analyzing", progress=0.0,
                                      error_code=None, error_detail=None, updated_at=utcnow())

    async def on_finished(_: str, outcome: AnalysisOutcome) -> None:
        await _save_outcome(state, dataset_id, outcome)

    state.runner.submit(dataset_id, path, store, options, on_started, on_finished, client)


async def _save_outcome(state: AppState, dataset_id: str, outcome: AnalysisOutcome) -> None:
    async with state.session() as session:
        dataset = await repo.get_dataset(session, dataset_id)
        if dataset is None:  # deleted while it was being analysed
            return
        if outcome.report is not None:
            report_json = outcome.report.model_dump(mode="json")
            await repo.update_dataset(session, dataset_id, status="ready", progress=1.0, report=report_json,
                                      analyzed_at=utcnow(), updated_at=utcnow(), attempts=dataset.attempts + 1)
            if dataset.owner_id:
                await repo.record_job_progress(session, dataset.owner_id, dataset_id, status="analyzed",
                                               dataset_stats=job_stats(outcome.report))
        else:
            await repo.update_dataset(session, dataset_id, status="failed", error_code=outcome.error_code,
                                      error_detail=outcome.error_detail, updated_at=utcnow(),
                                      attempts=dataset.attempts + 1)
            if dataset.owner_id:
                await repo.record_job_progress(session, dataset.owner_id, dataset_id, status="failed")


def job_stats(report: Report) -> dict[str, Any]:
    return {"total_examples": report.total_examples, "total_tokens": report.total_tokens,
            "quality_score": report.quality_score, "format_valid": report.format_valid}


async def resume_unfinished(state: AppState) -> int:
    """After a restart: analyses that were queued or running start again from their stored upload."""
    async with state.session() as session:
        pending = await repo.list_datasets_with_status(session, ["uploaded", "queued", "analyzing"])
    for dataset in pending:
        path = storage.upload_path(state.settings, dataset.id, dataset.stored_name)
        if not path.exists():
            async with state.session() as session:
                await repo.update_dataset(session, dataset.id, status="failed", error_code="upload_missing",
                                          error_detail="The uploaded file is no longer on disk; upload it again.")
            continue
        options = analysis_options(state, stored=dataset.options)
        start_analysis(state, dataset.id, dataset.stored_name, options)
    return len(pending)


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
                    role_mapping: dict[str, str] | None = None) -> Dataset:
    """Run the analysis again; options not given keep the ones of the last run."""
    dataset = await get_dataset_for(state, session_id, user)
    options = analysis_options(state, max_seq_length, tokenizer, stored=dataset.options,
                               field_mapping=field_mapping, role_mapping=role_mapping)
    if state.runner.is_running(session_id):
        raise ConflictError("This dataset is being analysed right now; poll GET /analyze/{session_id}.",
                            code="analysis_running")
    state.runner.check_capacity(client)
    async with state.session() as session:
        await repo.update_dataset(session, session_id, status="queued", progress=0.0, report=None,
                                  options=options_to_json(options), updated_at=utcnow())
    start_analysis(state, session_id, dataset.stored_name, options, client)
    return dataset


@dataclass(frozen=True)
class AnalysisStatus:
    """Either still running (report is None) or finished with its report."""

    status: str
    progress: float
    report: Report | None = None


async def analysis_status(state: AppState, session_id: str, user: User | None) -> AnalysisStatus:
    """Where the analysis stands; a failed one raises its error. Heals an analysis the runner lost."""
    # Asked before the row is read: a run that ends while the read is in flight leaves a stale
    # 'analyzing' row behind it, which must not start the whole analysis (and wipe its store) again.
    was_idle = not state.runner.is_running(session_id)
    dataset = await get_dataset_for(state, session_id, user)
    progress = state.runner.progress(session_id)
    if progress is not None:
        return AnalysisStatus(progress.status, progress.fraction)
    if dataset.status in ("uploaded", "queued", "analyzing"):
        # Recorded as unfinished but nobody is working on it (its result could not be saved, or the
        # server restarted before resuming it): start it again from the stored upload.
        if was_idle and not state.runner.is_running(session_id):
            options = analysis_options(state, stored=dataset.options)
            start_analysis(state, session_id, dataset.stored_name, options, client_key(user, None))
        return AnalysisStatus("queued", 0.0)
    if dataset.status == "failed":
        raise failure_error(dataset)
    return AnalysisStatus("ready", 1.0, report_of(dataset))


def report_of(dataset: Dataset) -> Report:
    if dataset.report is None:
        raise NotReadyError("The analysis has not finished yet; poll GET /analyze/{session_id}.",
                            code="analysis_not_ready")
    return Report.model_validate(dataset.report)


async def load_report(state: AppState, session_id: str, user: User | None) -> Report:
    """The finished report, or a clear error saying why there is none (used by recommend and generate)."""
    return finished_report(await get_dataset_for(state, session_id, user))


def finished_report(dataset: Dataset) -> Report:
    """The report of a finished analysis, or the error that says why there is none."""
    if dataset.status == "failed":
        raise failure_error(dataset)
    return report_of(dataset)


def failure_error(dataset: Dataset) -> CoreError:
    """The error a failed analysis answers with: the user's input (4xx) unless it was our trouble (503)."""
    detail = dataset.error_detail or "The analysis failed."
    code = dataset.error_code or "analysis_failed"
    if code in SERVER_SIDE_FAILURES:
        return UnavailableError(detail, code=code)
    return USER_FAILURE_CLASSES.get(code, InvalidInputError)(detail, code=code)
