"""Notebooks: how many examples went into each one, and which were left out (the web page's history).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notebooks") as batch:
        batch.add_column(sa.Column("examples_included", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("examples_left_out", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("records_unusable", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("left_out_examples", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notebooks") as batch:
        batch.drop_column("left_out_examples")
        batch.drop_column("records_unusable")
        batch.drop_column("examples_left_out")
        batch.drop_column("examples_included")
