"""classify: classifications, labels with provenance, model registry

Revision ID: 0003_classify
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import firewatch.store.models

revision = "0003_classify"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "classifier_models",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("created_at", firewatch.store.models.UTCDateTime(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("feature_names", sa.Text(), nullable=False),
        sa.Column("classes", sa.Text(), nullable=False),
        sa.Column("n_train", sa.Integer(), nullable=False),
        sa.Column("label_counts", sa.Text(), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_classifier_models")),
    )
    op.create_table(
        "classifications",
        sa.Column("detection_id", sa.String(length=32), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("fp_class", sa.String(length=24), nullable=False),
        sa.Column("p_straw", sa.Float(), nullable=False),
        sa.Column("p_other_vegetation", sa.Float(), nullable=True),
        sa.Column("p_industrial", sa.Float(), nullable=True),
        sa.Column("p_spurious", sa.Float(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("classified_at", firewatch.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["detection_id"],
            ["detections.detection_id"],
            name=op.f("fk_classifications_detection_id_detections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("detection_id", "model_version", name=op.f("pk_classifications")),
    )
    op.create_index(
        "ix_classifications_detection_time",
        "classifications",
        ["detection_id", "classified_at"],
        unique=False,
    )
    op.create_table(
        "fp_labels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("detection_id", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=24), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("created_at", firewatch.store.models.UTCDateTime(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["detection_id"],
            ["detections.detection_id"],
            name=op.f("fk_fp_labels_detection_id_detections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fp_labels")),
        sa.UniqueConstraint("detection_id", "source", name="uq_fp_labels_detection_source"),
    )
    op.create_index(op.f("ix_fp_labels_detection_id"), "fp_labels", ["detection_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_fp_labels_detection_id"), table_name="fp_labels")
    op.drop_table("fp_labels")
    op.drop_index("ix_classifications_detection_time", table_name="classifications")
    op.drop_table("classifications")
    op.drop_table("classifier_models")
