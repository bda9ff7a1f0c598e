"""Training in the product: the model registry, seed 001's training sessions, Colab runs that report back.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"),
                                   ondelete="SET NULL")


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("model_type", sa.String(length=20), nullable=False),
        sa.Column("num_classes", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_detail", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("task", sa.String(length=40), nullable=True),
        sa.Column("base_model", sa.String(length=300), nullable=True),
        sa.Column("dataset_id", sa.String(length=64), nullable=True),
        sa.Column("analysis_task_id", sa.String(length=32), nullable=True),
        sa.Column("training_task_id", sa.String(length=32), nullable=True),
        sa.Column("config", sa.JSON(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("hub_repo", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _fk("models", "dataset_id", "datasets"),
        _fk("models", "analysis_task_id", "tasks"),
        _fk("models", "training_task_id", "tasks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_models")),
    )
    for column in ("owner_id", "status", "dataset_id", "training_task_id"):
        op.create_index(op.f(f"ix_models_{column}"), "models", [column], unique=False)

    op.create_table(
        "training_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("phase", sa.String(length=20), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("train_dataset_id", sa.String(length=64), nullable=True),
        sa.Column("test_dataset_id", sa.String(length=64), nullable=True),
        sa.Column("training_task_id", sa.String(length=32), nullable=True),
        sa.Column("import_task_id", sa.String(length=32), nullable=True),
        sa.Column("model_id", sa.String(length=32), nullable=True),
        sa.Column("imported_model_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _fk("training_sessions", "train_dataset_id", "datasets"),
        _fk("training_sessions", "test_dataset_id", "datasets"),
        _fk("training_sessions", "training_task_id", "tasks"),
        _fk("training_sessions", "import_task_id", "tasks"),
        _fk("training_sessions", "model_id", "models"),
        _fk("training_sessions", "imported_model_id", "models"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_sessions")),
        sa.UniqueConstraint("owner_id", name=op.f("uq_training_sessions_owner_id")),
    )

    op.create_table(
        "colab_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("notebook_id", sa.String(length=64), nullable=True),
        sa.Column("dataset_id", sa.String(length=64), nullable=True),
        sa.Column("model_id", sa.String(length=100), nullable=False),
        sa.Column("task_id", sa.String(length=32), nullable=True),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_report_at", sa.DateTime(timezone=True), nullable=True),
        _fk("colab_runs", "notebook_id", "notebooks"),
        _fk("colab_runs", "dataset_id", "datasets"),
        _fk("colab_runs", "task_id", "tasks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_colab_runs")),
    )
    op.create_index(op.f("ix_colab_runs_owner_id"), "colab_runs", ["owner_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_colab_runs_owner_id"), table_name="colab_runs")
    op.drop_table("colab_runs")
    op.drop_table("training_sessions")
    for column in ("training_task_id", "dataset_id", "status", "owner_id"):
        op.drop_index(op.f(f"ix_models_{column}"), table_name="models")
    op.drop_table("models")
