"""The signed-in user's job history: find-or-create for an upload, ownership, delete with its files.

Every query is scoped to the caller, so someone else's job is a 404 exactly like a job that never existed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import User
from backend.core.errors import ConflictError, NotFoundError
from backend.db import repository as repo
from backend.db.models import Dataset, Job, Notebook
from backend.services import datasets, storage
from backend.services.analysis_task import job_stats
from backend.services.state import AppState


def not_found(job_id: str) -> NotFoundError:
    return NotFoundError(f"No job {job_id} in your history.", code="job_not_found")


async def owned_job(session: AsyncSession, user: User, job_id: str) -> Job:
    job = await repo.get_job(session, user.id, job_id) if len(job_id) <= 64 else None
    if job is None:
        raise not_found(job_id)
    return job


def is_visible_to(owner_id: str | None, user: User) -> bool:
    """Anonymous rows (no owner) are reachable by whoever holds their id; owned rows only by the owner."""
    return owner_id is None or owner_id == user.id


async def find_or_create_job(
    state: AppState, session: AsyncSession, user: User, session_id: str, dataset_filename: str | None
) -> tuple[Job, bool]:
    """The caller's job for this upload (created if needed, filled from the dataset) and whether it is new."""
    dataset = await datasets.get_dataset_for(state, session_id, user)  # 404 / 410 like the other routes
    existing = await repo.find_job_for_session(session, user.id, session_id)
    if existing is not None:
        if dataset_filename:
            existing = await repo.update_job(
                session, user.id, existing.id, dataset_filename=dataset_filename
            )
            await session.commit()  # before the answer: see update_owned_job
        return existing, False
    values: dict[str, Any] = {
        "dataset_filename": dataset_filename or dataset.filename,
        "status": "created",
    }
    if dataset.report is not None:
        values.update(status="analyzed", dataset_stats=job_stats(dataset.report))
    job = await repo.record_job_progress(session, user.id, session_id, **values)
    await session.commit()  # before the answer: see update_owned_job
    return job, True


async def update_owned_job(session: AsyncSession, user: User, job_id: str, changes: dict[str, Any]) -> Job:
    """Apply a client's changes to their job and commit them.

    Committed here, not by the session dependency: FastAPI closes that only after the response has been
    sent, so a failed commit there would leave the client holding a 200 for a change that was never saved.
    """
    job = await owned_job(session, user, job_id)
    if changes:
        job = await repo.update_job(session, user.id, job.id, **changes)
        await session.commit()
    return job


async def delete_job_and_files(state: AppState, session: AsyncSession, user: User, job_id: str) -> None:
    job = await owned_job(session, user, job_id)
    notebooks = await _notebooks_to_delete(session, user, job)
    dataset = await _dataset_to_delete(session, user, job)
    if dataset is not None and await datasets.is_analysing(state, dataset):
        raise ConflictError(
            "This job's dataset is being analysed right now; delete the job once it finishes.",
            code="analysis_running",
        )
    await repo.delete_job(session, user.id, job.id)
    for notebook in notebooks:
        await repo.delete_notebook(session, notebook.id)
    if dataset is not None:
        await repo.delete_dataset(session, dataset.id)
    # Rows first, files after the commit: a failed commit must not leave rows that point at nothing.
    await session.commit()
    for notebook in notebooks:
        storage.delete_notebook_file(state.settings, notebook)
    if dataset is not None:
        storage.delete_dataset_files(state.settings, dataset.id)


async def _notebooks_to_delete(session: AsyncSession, user: User, job: Job) -> list[Notebook]:
    """The job's notebook and every earlier one the user generated from the same upload (regenerations)."""
    found: dict[str, Notebook] = {}
    if job.session_id is not None:
        found.update(
            (n.id, n) for n in await repo.list_notebooks_for_dataset(session, user.id, job.session_id)
        )
    if job.notebook_id is not None and job.notebook_id not in found:
        notebook = await repo.get_notebook(session, job.notebook_id)
        if notebook is not None and is_visible_to(notebook.owner_id, user):
            found[notebook.id] = notebook
    return list(found.values())


async def _dataset_to_delete(session: AsyncSession, user: User, job: Job) -> Dataset | None:
    if job.session_id is None:
        return None
    if await repo.count_jobs_using_dataset(session, job.session_id, exclude_job_id=job.id) > 0:
        return None  # another job (of this or another user) still refers to it
    dataset = await repo.get_dataset(session, job.session_id)
    return dataset if dataset is not None and is_visible_to(dataset.owner_id, user) else None


async def notebook_facts(session: AsyncSession, jobs: list[Job]) -> dict[str, dict[str, Any]]:
    """job id -> its notebook's download link, link expiry and how many examples went into it."""
    notebooks = await repo.notebooks_by_id(session, [j.notebook_id for j in jobs if j.notebook_id])
    facts: dict[str, dict[str, Any]] = {}
    for job in jobs:
        notebook = notebooks.get(job.notebook_id or "")
        if notebook is not None:
            facts[job.id] = {"download_url": f"/download/{notebook.download_token}",
                             "notebook_expires_at": datasets.as_aware(notebook.expires_at),
                             "notebook_examples": notebook.examples_included,
                             "notebook_examples_left_out": notebook.examples_left_out,
                             "notebook_records_unusable": notebook.records_unusable}
    return facts
