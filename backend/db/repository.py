"""Every query the product runs. Functions flush, never commit: the caller commits once per request.

Ownership is part of the job queries themselves (`owner_id` in the WHERE clause), so someone else's job
is simply not found.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from backend.core.errors import NotFoundError
from backend.db.models import Base, Dataset, HubToken, Job, Notebook
from backend.db.types import utc_now

# Columns a caller may change after creation (identity, ownership and creation time are fixed).
_FIXED_COLUMNS = frozenset({"id", "owner_id", "created_at"})


def _check_updatable(model: type[Base], values: dict[str, Any]) -> None:
    allowed = {c.key for c in model.__table__.columns} - _FIXED_COLUMNS
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise TypeError(f"{model.__name__} has no updatable column(s) {', '.join(unknown)}")


# --- datasets ---


async def add_dataset(session: AsyncSession, dataset: Dataset) -> Dataset:
    session.add(dataset)
    await session.flush()
    return dataset


async def get_dataset(session: AsyncSession, dataset_id: str) -> Dataset | None:
    return await session.get(Dataset, dataset_id)


async def update_dataset(session: AsyncSession, dataset_id: str, **values: Any) -> None:
    """Set columns of one dataset in a single UPDATE; raises NotFoundError if it no longer exists."""
    _check_updatable(Dataset, values)
    values.setdefault("updated_at", utc_now())
    result = await session.execute(
        update(Dataset).where(Dataset.id == dataset_id).values(**values),
        execution_options={"synchronize_session": "fetch"},
    )
    if _rowcount(result) == 0:
        raise NotFoundError(f"Dataset {dataset_id} does not exist (it may have expired or been deleted).")


async def switch_analysis(session: AsyncSession, dataset_id: str, expected_task_id: str | None, task_id: str,
                          **values: Any) -> bool:
    """Make `task_id` the dataset's current analysis, if its current one is still `expected_task_id`."""
    current = Dataset.analysis_task_id.is_(None) if expected_task_id is None else (
        Dataset.analysis_task_id == expected_task_id)
    result = await session.execute(
        update(Dataset).where(Dataset.id == dataset_id, current)
        .values(analysis_task_id=task_id, updated_at=utc_now(), **values),
        execution_options={"synchronize_session": False})
    return _rowcount(result) == 1


async def list_expired_datasets(session: AsyncSession, now: datetime) -> list[Dataset]:
    """Datasets whose expiry time has passed; owned datasets (no expiry) never appear."""
    rows = await session.scalars(
        select(Dataset)
        .where(Dataset.expires_at.is_not(None), Dataset.expires_at <= now)
        .order_by(Dataset.expires_at, Dataset.id)
    )
    return list(rows)


async def delete_dataset(session: AsyncSession, dataset_id: str) -> None:
    """Delete the row (its notebooks keep existing with dataset_id set to NULL). Missing rows are ignored."""
    await session.execute(
        delete(Dataset).where(Dataset.id == dataset_id), execution_options={"synchronize_session": "fetch"}
    )


# --- notebooks ---


async def add_notebook(session: AsyncSession, notebook: Notebook) -> Notebook:
    session.add(notebook)
    await session.flush()
    return notebook


async def get_notebook(session: AsyncSession, notebook_id: str) -> Notebook | None:
    return await session.get(Notebook, notebook_id)


async def get_notebook_by_token(session: AsyncSession, download_token: str) -> Notebook | None:
    result = await session.scalars(select(Notebook).where(Notebook.download_token == download_token))
    return result.one_or_none()


async def list_notebooks_for_dataset(session: AsyncSession, owner_id: str, dataset_id: str) -> list[Notebook]:
    """The owner's notebooks generated from this dataset (one per generation), oldest first."""
    rows = await session.scalars(
        select(Notebook)
        .where(Notebook.owner_id == owner_id, Notebook.dataset_id == dataset_id)
        .order_by(Notebook.created_at, Notebook.id)
    )
    return list(rows)


async def delete_notebook(session: AsyncSession, notebook_id: str) -> None:
    """Delete the row (jobs that pointed at it keep existing with notebook_id set to NULL)."""
    await session.execute(
        delete(Notebook).where(Notebook.id == notebook_id), execution_options={"synchronize_session": "fetch"}
    )


async def count_jobs_using_dataset(
    session: AsyncSession, dataset_id: str, *, exclude_job_id: str | None = None
) -> int:
    """How many jobs (of any owner) refer to this dataset through their session id."""
    query = select(func.count()).select_from(Job).where(Job.session_id == dataset_id)
    if exclude_job_id is not None:
        query = query.where(Job.id != exclude_job_id)
    return int(await session.scalar(query) or 0)


# --- jobs ---


def new_job_id() -> str:
    return uuid.uuid4().hex


async def list_jobs(
    session: AsyncSession, owner_id: str, *, limit: int, offset: int
) -> tuple[list[Job], int]:
    """One page of the owner's jobs, newest first, and how many jobs they have in all."""
    total = await session.scalar(select(func.count()).select_from(Job).where(Job.owner_id == owner_id))
    rows = await session.scalars(
        select(Job)
        .where(Job.owner_id == owner_id)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)


async def get_job(session: AsyncSession, owner_id: str, job_id: str) -> Job | None:
    """The job, or None when it does not exist or belongs to someone else."""
    result = await session.scalars(select(Job).where(Job.id == job_id, Job.owner_id == owner_id))
    return result.one_or_none()


async def add_job(session: AsyncSession, job: Job) -> Job:
    session.add(job)
    await session.flush()
    return job


async def update_job(session: AsyncSession, owner_id: str, job_id: str, **values: Any) -> Job:
    """Set columns of the owner's job; raises NotFoundError for a missing or foreign job."""
    _check_updatable(Job, values)
    job = await get_job(session, owner_id, job_id)
    if job is None:
        raise NotFoundError(f"Job {job_id} was not found.")
    _apply(job, values)
    await session.flush()
    return job


async def delete_job(session: AsyncSession, owner_id: str, job_id: str) -> None:
    await session.execute(
        delete(Job).where(Job.id == job_id, Job.owner_id == owner_id),
        execution_options={"synchronize_session": "fetch"},
    )


def find_job_for_session_sync(session: Session, owner_id: str, session_id: str) -> Job | None:
    result = session.scalars(select(Job).where(Job.owner_id == owner_id, Job.session_id == session_id))
    return result.one_or_none()


async def find_job_for_session(session: AsyncSession, owner_id: str, session_id: str) -> Job | None:
    return await session.run_sync(find_job_for_session_sync, owner_id, session_id)


def record_job_progress_sync(session: Session, owner_id: str, session_id: str, **values: Any) -> Job:
    """Find the owner's job for this upload session (creating it if needed) and set `values` on it.

    Two requests of the same user may race to create the job; the unique (owner_id, session_id)
    constraint lets exactly one insert win and the other then updates the winner's row. Blocking, so that
    task workers use it as it is; the server calls `record_job_progress`.
    """
    _check_updatable(Job, values)
    job = find_job_for_session_sync(session, owner_id, session_id)
    if job is None:
        candidate = Job(id=new_job_id(), owner_id=owner_id, session_id=session_id, **values)
        try:
            with session.begin_nested():
                session.add(candidate)
            return candidate
        except IntegrityError:
            job = find_job_for_session_sync(session, owner_id, session_id)
            if job is None:
                raise
    _apply(job, values)
    session.flush()
    return job


async def record_job_progress(session: AsyncSession, owner_id: str, session_id: str, **values: Any) -> Job:
    return await session.run_sync(lambda sync: record_job_progress_sync(sync, owner_id, session_id, **values))


def _apply(job: Job, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(job, key, value)
    # Set explicitly so the new time is loaded on the object (async sessions cannot lazy-load it).
    job.updated_at = utc_now()


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def list_expired_anonymous_notebooks(session: AsyncSession, now: datetime) -> list[Notebook]:
    """Notebooks nobody can download any more: no owner, and the link has expired."""
    rows = await session.scalars(
        select(Notebook)
        .where(Notebook.owner_id.is_(None), Notebook.expires_at <= now)
        .order_by(Notebook.expires_at, Notebook.id)
    )
    return list(rows)


async def notebooks_by_id(session: AsyncSession, notebook_ids: Sequence[str]) -> dict[str, Notebook]:
    """notebook id -> its row, for the given ids that still exist (the history's notebook facts)."""
    if not notebook_ids:
        return {}
    rows = await session.scalars(select(Notebook).where(Notebook.id.in_(list(notebook_ids))))
    return {notebook.id: notebook for notebook in rows}


# --- datasets out (Hub): saved Hub tokens (the value is encrypted by the caller; never plain text here) ---


async def get_hub_token(session: AsyncSession, owner_id: str) -> HubToken | None:
    return await session.get(HubToken, owner_id)


async def put_hub_token(session: AsyncSession, owner_id: str, token_encrypted: str, hub_username: str | None) -> None:
    """Save (or replace) a user's encrypted Hub token."""
    row = await session.get(HubToken, owner_id)
    if row is None:
        session.add(HubToken(owner_id=owner_id, token_encrypted=token_encrypted, hub_username=hub_username))
    else:
        row.token_encrypted, row.hub_username, row.updated_at = token_encrypted, hub_username, utc_now()
    await session.flush()


async def delete_hub_token(session: AsyncSession, owner_id: str) -> bool:
    result = await session.execute(delete(HubToken).where(HubToken.owner_id == owner_id))
    return _rowcount(result) > 0

