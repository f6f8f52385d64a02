"""bulletin: the time spans each ingestion run covered (ingest_coverage)

Revision ID: 0006_bulletin
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import firewatch.store.models

revision = "0006_bulletin"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_coverage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=32), nullable=True),
        sa.Column("start_utc", firewatch.store.models.UTCDateTime(), nullable=False),
        sa.Column("end_utc", firewatch.store.models.UTCDateTime(), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["ingest_runs.id"],
            name=op.f("fk_ingest_coverage_run_id_ingest_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_coverage")),
    )
    with op.batch_alter_table("ingest_coverage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_coverage_run_id"), ["run_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ingest_coverage_start_utc"), ["start_utc"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ingest_coverage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_coverage_start_utc"))
        batch_op.drop_index(batch_op.f("ix_ingest_coverage_run_id"))
    op.drop_table("ingest_coverage")
