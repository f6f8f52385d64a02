"""PostGIS: a generated point geometry with a GiST index on detections (PostgreSQL only).

On SQLite this migration does nothing; spatial queries there use the (longitude, latitude)
index.  On PostgreSQL the ``geom`` column is computed by the database from longitude/latitude,
so the shared models and inserts need no geometry handling of their own.

Revision ID: 0007_postgis
Revises: 0001_foundation
"""

from __future__ import annotations

from alembic import op

revision = "0007_postgis"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute(
        "ALTER TABLE detections ADD COLUMN geom geometry(Point, 4326) GENERATED ALWAYS AS "
        "(ST_SetSRID(ST_MakePoint(longitude, latitude), 4326)) STORED"
    )
    op.execute("CREATE INDEX ix_detections_geom ON detections USING GIST (geom)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_detections_geom")
    op.execute("ALTER TABLE detections DROP COLUMN IF EXISTS geom")
