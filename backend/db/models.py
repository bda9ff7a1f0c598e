"""The SQL schema as typed SQLAlchemy 2 models.

Ids are strings chosen by the caller (uuid4 hex or URL-safe tokens). Timestamps are aware UTC datetimes.
The Alembic migrations in `migrations/versions` must describe exactly these tables: a test compares them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backend.db.types import UTCDateTime, utc_now

# Stable constraint names, so that migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

DATASET_STATUSES = ("uploaded", "queued", "analyzing", "ready", "failed")
JOB_STATUSES = ("created", "analyzed", "recommended", "generated", "failed")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Dataset(Base):
    """An uploaded file and, once analysed, its report. The id is the upload's session id."""

    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(300))  # the client's name, for display only
    stored_name: Mapped[str] = mapped_column(String(200))  # chosen by the server, never by the client
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="uploaded")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_detail: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    expires_at: Mapped[datetime | None]  # None: kept until its owner deletes it
    analyzed_at: Mapped[datetime | None]


class Notebook(Base):
    """A generated notebook file and the token that downloads it."""

    __tablename__ = "notebooks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dataset_id: Mapped[str | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    model_id: Mapped[str] = mapped_column(String(100))
    training_config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stored_name: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    download_token: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    expires_at: Mapped[datetime]
    colab_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # --- web page (issue 14): what went into the notebook, shown in the history (migration 0006) ---
    examples_included: Mapped[int | None] = mapped_column(Integer)
    examples_left_out: Mapped[int | None] = mapped_column(Integer)  # usable, but nothing to train on
    records_unusable: Mapped[int | None] = mapped_column(Integer)  # records of the file the analysis refused
    left_out_examples: Mapped[list[Any] | None] = mapped_column(JSON)  # [[record number, reason]], first 20


class Job(Base):
    """One signed-in user's trip from a dataset to a notebook: their history is a list of these."""

    __tablename__ = "jobs"
    # One job per user and upload session: the flow finds the job again by its session.
    __table_args__ = (UniqueConstraint("owner_id", "session_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(64), index=True)
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)
    dataset_filename: Mapped[str | None] = mapped_column(String(300))
    dataset_stats: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    task_type: Mapped[str | None] = mapped_column(String(40))
    deployment_target: Mapped[str | None] = mapped_column(String(40))
    model_id: Mapped[str | None] = mapped_column(String(100))
    model_score: Mapped[float | None] = mapped_column(Float)
    training_config: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    notebook_id: Mapped[str | None] = mapped_column(ForeignKey("notebooks.id", ondelete="SET NULL"))
    colab_url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="created")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
