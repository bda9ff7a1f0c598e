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

JOB_STATUSES = ("created", "analyzed", "recommended", "generated", "failed")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Dataset(Base):
    """A dataset (uploaded, generated, fixed or imported) and, once analysed, its report.

    The id is the upload's session id. Where its analysis stands is the task `analysis_task_id` names (the
    tasks table is the one truth about running work); `report` and `store_name` belong to the last analysis
    that finished, so readers keep reading a complete store while a new analysis runs.
    """

    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(300))  # the client's name, for display only
    stored_name: Mapped[str] = mapped_column(String(200))  # chosen by the server, never by the client
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The analysis store the report was made with (uploads/<id>/store/<store_name>/); None: the legacy store/.
    store_name: Mapped[str | None] = mapped_column(String(80))
    analysis_task_id: Mapped[str | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="SET NULL", use_alter=True), index=True)
    # Lineage: where the data came from (upload | generation | fix | hub_import) and what it was made from.
    origin: Mapped[str] = mapped_column(String(20), default="upload")
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"), index=True)
    origin_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
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


# --- the task engine ---

TASK_STATES = ("QUEUED", "RUNNING", "CANCELLING", "DONE", "ERROR", "CANCELLED")
ACTIVE_TASK_STATES = ("QUEUED", "RUNNING", "CANCELLING")
FINAL_TASK_STATES = ("DONE", "ERROR", "CANCELLED")


class Task(Base):
    """One long operation (analysis, generation, Hub push, training, ...): the truth about it.

    Workers change a row only by compare-and-set on (id, attempt), so a worker that lost its lease (and
    whose attempt was retried) can no longer write. `lease_until` is held by whoever drives the row right
    now (the receiving server, the worker running it); once it lapses, recovery re-drives the row.
    """

    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    queue: Mapped[str] = mapped_column(String(40))  # the worker pool it was sent to (a kind may route by payload)
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(200), index=True)  # whom capacity is counted against
    state: Mapped[str] = mapped_column(String(20), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secrets: Mapped[str | None] = mapped_column(Text)  # encrypted with the server key; wiped when it ends
    dataset_id: Mapped[str | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"), index=True)
    progress_done: Mapped[float] = mapped_column(Float, default=0.0)
    progress_total: Mapped[float | None] = mapped_column(Float)
    detailed_status: Mapped[list[str]] = mapped_column(JSON, default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    usage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    artifacts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(200))  # host:pid of the worker running it
    lease_until: Mapped[datetime | None]
    enqueued_at: Mapped[datetime | None]
    cancel_requested_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime | None]  # anonymous tasks are purged with their uploads


class TaskPart(Base):
    """One unit of a task fanned out over workers (an analysis chunk; part -1 is the join)."""

    __tablename__ = "task_parts"

    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(20))
    worker: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    finished_at: Mapped[datetime | None]


class TaskEvent(Base):
    """What happened to a task, in order: the Server-Sent Events stream and the metrics history."""

    __tablename__ = "task_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # state | status | progress | partial | metrics | log | ...
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Worker(Base):
    """A running `slmgen worker`: which queues it takes, and when it was last seen (it renews every few seconds).

    Lets the server say "no worker takes this kind of task" instead of queueing work nobody will run.
    """

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid
    queues: Mapped[list[str]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(default=utc_now)
    seen_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)


# --- datasets out (Hub): a signed-in user's saved Hugging Face token, only ever stored encrypted ---
class HubToken(Base):
    """The Hub token a user saved, encrypted with the server key (backend.services.crypto); never in plain text."""

    __tablename__ = "hub_tokens"

    owner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_encrypted: Mapped[str] = mapped_column(Text)
    hub_username: Mapped[str | None] = mapped_column(String(100))  # whose token it is, as the Hub said
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


# --- training (issue 13): the model registry, seed 001's training sessions, Colab runs reporting back ---
MODEL_TYPES = ("generator", "classifier")
MODEL_STATUSES = ("Created", "Training", "Ready", "Failed")  # seed 002's lifecycle: Created → Training → Ready|Failed


class RegisteredModel(Base):
    """A model in the registry (seed 002): created empty, trained by a run, or imported from the Hub.

    Lineage is kept as foreign keys (the dataset version, its analysis, the run's task) plus the base model and the
    resolved training config, so any model can say what it was trained on. `files` names its folders and files
    relative to DATA_DIR (adapter, merged, model, checkpoint, results); deleting the model removes them.
    """

    __tablename__ = "models"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # seed 002's `model_name`
    owner_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))  # seed 002's `user_name`: what its owner called it
    model_type: Mapped[str] = mapped_column(String(20))  # generator | classifier
    num_classes: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)
    status_detail: Mapped[str | None] = mapped_column(Text)  # why it failed, or how a run was stopped
    source: Mapped[str] = mapped_column(String(20))  # created | training | hub_import
    task: Mapped[str | None] = mapped_column(String(40))  # chat_sft | text_classification | seq2seq | dpo
    base_model: Mapped[str | None] = mapped_column(String(300))
    dataset_id: Mapped[str | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"), index=True)
    analysis_task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    training_task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"), index=True)
    config: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    files: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    hub_repo: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class TrainingSession(Base):
    """Seed 001's training session: one per signed-in user, walked through setup → preprocess → train.

    `phase` is what the user last asked for; where it stands (preprocessing, ready, training, trained, stopped,
    failed) is read from the tasks it started, which are the one truth about running work.
    """

    __tablename__ = "training_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the session key
    owner_id: Mapped[str] = mapped_column(String(64), unique=True)
    phase: Mapped[str] = mapped_column(String(20))  # setup | preprocess | train
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    train_dataset_id: Mapped[str | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    test_dataset_id: Mapped[str | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    training_task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    import_task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    model_id: Mapped[str | None] = mapped_column(ForeignKey("models.id", ondelete="SET NULL"))
    imported_model_id: Mapped[str | None] = mapped_column(ForeignKey("models.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class ColabRun(Base):
    """A notebook that may report its training back (opt-in at /generate): only the hash of its per-run token is
    kept. Its first report starts a task of kind colab_training, so it shows in the same monitor as in-app runs."""

    __tablename__ = "colab_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(64), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64))
    notebook_id: Mapped[str | None] = mapped_column(ForeignKey("notebooks.id", ondelete="SET NULL"))
    dataset_id: Mapped[str | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    model_id: Mapped[str] = mapped_column(String(100))  # the catalogue model the notebook trains
    task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    reports: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_report_at: Mapped[datetime | None]
