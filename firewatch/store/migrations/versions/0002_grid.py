"""grid: field-chief registry (imports, duties) and grid attribution of detections

Revision ID: 0002_grid
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import firewatch.store.models

revision = "0002_grid"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grid_registry_imports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("grid_sha256", sa.String(length=64), nullable=True),
        sa.Column("imported_at", firewatch.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_registry_imports")),
    )
    op.create_table(
        "grid_duties",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("grid_code", sa.String(length=12), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("on_duty_from", sa.Date(), nullable=False),
        sa.Column("on_duty_to", sa.Date(), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("origin_line", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["grid_registry_imports.id"],
            name=op.f("fk_grid_duties_import_id_grid_registry_imports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_duties")),
    )
    with op.batch_alter_table("grid_duties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_duties_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_grid_duties_import_id"), ["import_id"], unique=False)

    op.create_table(
        "grid_attributions",
        sa.Column("detection_id", sa.String(length=32), nullable=False),
        sa.Column("grid_name", sa.Text(), nullable=False),
        sa.Column("grid_sha256", sa.String(length=64), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("city_code", sa.String(length=12), nullable=True),
        sa.Column("city_name", sa.String(length=64), nullable=True),
        sa.Column("county_code", sa.String(length=12), nullable=True),
        sa.Column("county_name", sa.String(length=64), nullable=True),
        sa.Column("township_code", sa.String(length=12), nullable=True),
        sa.Column("township_name", sa.String(length=64), nullable=True),
        sa.Column("village_code", sa.String(length=12), nullable=True),
        sa.Column("village_name", sa.String(length=64), nullable=True),
        sa.Column("share", sa.Float(), nullable=True),
        sa.Column("touched", sa.Text(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("gap_distance_m", sa.Float(), nullable=True),
        sa.Column("flags", sa.Text(), nullable=False),
        sa.Column("attributed_at", firewatch.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["detection_id"],
            ["detections.detection_id"],
            name=op.f("fk_grid_attributions_detection_id_detections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("detection_id", name=op.f("pk_grid_attributions")),
    )
    with op.batch_alter_table("grid_attributions", schema=None) as batch_op:
        batch_op.create_index("ix_grid_attributions_village_code", ["village_code"], unique=False)
        batch_op.create_index("ix_grid_attributions_township_code", ["township_code"], unique=False)

    op.create_table(
        "grid_attribution_people",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("detection_id", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("grid_code", sa.String(length=12), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("duty_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["detection_id"],
            ["grid_attributions.detection_id"],
            name=op.f("fk_grid_attribution_people_detection_id_grid_attributions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_attribution_people")),
    )
    with op.batch_alter_table("grid_attribution_people", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grid_attribution_people_detection_id"), ["detection_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("grid_attribution_people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_attribution_people_detection_id"))
    op.drop_table("grid_attribution_people")
    with op.batch_alter_table("grid_attributions", schema=None) as batch_op:
        batch_op.drop_index("ix_grid_attributions_township_code")
        batch_op.drop_index("ix_grid_attributions_village_code")
    op.drop_table("grid_attributions")
    with op.batch_alter_table("grid_duties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_duties_import_id"))
        batch_op.drop_index(batch_op.f("ix_grid_duties_grid_code"))
    op.drop_table("grid_duties")
    op.drop_table("grid_registry_imports")
