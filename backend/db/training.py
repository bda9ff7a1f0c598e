"""Every query on the model registry, seed 001's training sessions and Colab runs. Synchronous, so that the
training kind's hooks (which run in a worker's finishing transaction) and the server (through
`AsyncSession.run_sync`) share one implementation. Functions flush, never commit."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from backend.db.models import ColabRun, RegisteredModel, TrainingSession
from backend.db.types import utc_now


def new_model_id() -> str:
    return secrets.token_hex(16)  # seed 002's model_name: 32 hex characters


# --- the model registry -----------------------------------------------------------------------------------------


def add_model(session: Session, model: RegisteredModel) -> RegisteredModel:
    session.add(model)
    session.flush()
    return model


def get_model(session: Session, model_id: str) -> RegisteredModel | None:
    return session.get(RegisteredModel, model_id, populate_existing=True)


def model_for_task(session: Session, task_id: str) -> RegisteredModel | None:
    return session.scalars(select(RegisteredModel).where(RegisteredModel.training_task_id == task_id)).first()


def list_models(session: Session, owner_id: str | None, *, limit: int, offset: int
                ) -> tuple[list[RegisteredModel], int]:
    """One owner's models, newest first (every owner's for None: the operator's view)."""
    query = select(RegisteredModel)
    if owner_id is not None:
        query = query.where(RegisteredModel.owner_id == owner_id)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = session.scalars(query.order_by(RegisteredModel.updated_at.desc(), RegisteredModel.id).limit(limit)
                           .offset(offset))
    return list(rows), total


def update_model(session: Session, model_id: str, **values: Any) -> RegisteredModel | None:
    model = get_model(session, model_id)
    if model is None:
        return None
    for key, value in values.items():
        if not hasattr(RegisteredModel, key):
            raise AttributeError(f"models has no column {key}")
        setattr(model, key, value)
    model.updated_at = utc_now()
    session.flush()
    return model


def delete_model(session: Session, model_id: str) -> None:
    session.execute(delete(RegisteredModel).where(RegisteredModel.id == model_id))


# --- training sessions (seed 001) ---------------------------------------------------------------------------------


def session_of(session: Session, owner_id: str) -> TrainingSession | None:
    return session.scalars(select(TrainingSession).where(TrainingSession.owner_id == owner_id)).first()


def add_training_session(session: Session, row: TrainingSession) -> TrainingSession:
    session.add(row)
    session.flush()
    return row


def update_training_session(session: Session, key: str, **values: Any) -> TrainingSession:
    row = session.get(TrainingSession, key, populate_existing=True)
    assert row is not None, "the caller read the session in this transaction"
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = utc_now()
    session.flush()
    return row


def delete_training_session(session: Session, key: str) -> None:
    session.execute(delete(TrainingSession).where(TrainingSession.id == key))


# --- Colab runs ---------------------------------------------------------------------------------------------------


def add_colab_run(session: Session, run: ColabRun) -> ColabRun:
    session.add(run)
    session.flush()
    return run


def get_colab_run(session: Session, run_id: str) -> ColabRun | None:
    return session.get(ColabRun, run_id, populate_existing=True)


def colab_run_for_task(session: Session, task_id: str) -> ColabRun | None:
    return session.scalars(select(ColabRun).where(ColabRun.task_id == task_id)).first()


def note_colab_report(session: Session, run_id: str, task_id: str, at: datetime) -> None:
    run = get_colab_run(session, run_id)
    assert run is not None
    run.task_id = task_id
    run.reports += 1
    run.last_report_at = at
    session.flush()
