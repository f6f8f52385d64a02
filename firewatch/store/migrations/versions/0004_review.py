"""review app: users, sessions, assignments, verdicts, photos, append-only audit log, outbox

Revision ID: 0004_review
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import firewatch.store.models

revision = "0004_review"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

UTC = firewatch.store.models.UTCDateTime

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
)
_PG_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)


def upgrade() -> None:
    op.create_table(
        "review_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("grid_code", sa.String(12), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTC(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("last_login_at", UTC(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_users")),
        sa.UniqueConstraint("username", name=op.f("uq_review_users_username")),
    )
    op.create_index(op.f("ix_review_users_grid_code"), "review_users", ["grid_code"])

    op.create_table(
        "review_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("expires_at", UTC(), nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["review_users.id"],
            name=op.f("fk_review_sessions_user_id_review_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_review_sessions")),
    )
    op.create_index(op.f("ix_review_sessions_user_id"), "review_sessions", ["user_id"])

    op.create_table(
        "assignments",
        sa.Column("detection_id", sa.String(32), nullable=False),
        sa.Column("grid_code", sa.String(12), nullable=False),
        sa.Column("grid_level", sa.String(12), nullable=False),
        sa.Column("grid_name", sa.String(128), nullable=True),
        sa.Column("responsible_code", sa.String(12), nullable=False),
        sa.Column("responsible_level", sa.String(12), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("field_chief", sa.String(64), nullable=True),
        sa.Column("grid_member", sa.String(64), nullable=True),
        sa.Column("grid_flags", sa.String(128), nullable=True),
        sa.Column("acq_time_utc", UTC(), nullable=False),
        sa.Column("assigned_at", UTC(), nullable=False),
        sa.Column("deadline", UTC(), nullable=False),
        sa.Column("reminded_at", UTC(), nullable=True),
        sa.Column("escalated_at", UTC(), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=True),
        sa.Column("verdict_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", UTC(), nullable=True),
        sa.Column("handled_at", UTC(), nullable=True),
        sa.Column("handled_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["detection_id"],
            ["detections.detection_id"],
            name=op.f("fk_assignments_detection_id_detections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["handled_by"],
            ["review_users.id"],
            name=op.f("fk_assignments_handled_by_review_users"),
        ),
        sa.PrimaryKeyConstraint("detection_id", name=op.f("pk_assignments")),
    )
    op.create_index(op.f("ix_assignments_grid_code"), "assignments", ["grid_code"])
    op.create_index(op.f("ix_assignments_responsible_code"), "assignments", ["responsible_code"])
    op.create_index(op.f("ix_assignments_deadline"), "assignments", ["deadline"])
    op.create_index("ix_assignments_status_deadline", "assignments", ["status", "deadline"])

    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("detection_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("user_role", sa.String(16), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_at", UTC(), nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["detection_id"],
            ["assignments.detection_id"],
            name=op.f("fk_verdicts_detection_id_assignments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["review_users.id"], name=op.f("fk_verdicts_user_id_review_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verdicts")),
    )
    op.create_index(op.f("ix_verdicts_detection_id"), "verdicts", ["detection_id"])

    op.create_table(
        "verdict_photos",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("verdict_id", sa.Integer(), nullable=False),
        sa.Column("detection_id", sa.String(32), nullable=False),
        sa.Column("filename", sa.String(128), nullable=False),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("gps_lat", sa.Float(), nullable=True),
        sa.Column("gps_lon", sa.Float(), nullable=True),
        sa.Column("gps_distance_m", sa.Float(), nullable=True),
        sa.Column("taken_at", sa.String(32), nullable=True),
        sa.Column("uploaded_at", UTC(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["verdict_id"],
            ["verdicts.id"],
            name=op.f("fk_verdict_photos_verdict_id_verdicts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verdict_photos")),
    )
    op.create_index(op.f("ix_verdict_photos_verdict_id"), "verdict_photos", ["verdict_id"])
    op.create_index(op.f("ix_verdict_photos_detection_id"), "verdict_photos", ["detection_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detection_id", sa.String(32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(256), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_detection_id"), "audit_log", ["detection_id"])
    op.create_index("ix_audit_log_action_ip_at", "audit_log", ["action", "ip", "at"])

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(96), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("target", sa.String(254), nullable=False),
        sa.Column("detection_id", sa.String(32), nullable=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("sent_at", UTC(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("event_key", "channel", "target", name="uq_notifications_event"),
    )
    op.create_index(op.f("ix_notifications_detection_id"), "notifications", ["detection_id"])
    op.create_index("ix_notifications_status", "notifications", ["status"])

    # The audit log is append-only in the database itself, not just by convention in the code.
    dialect = op.get_bind().dialect.name
    for stmt in {"sqlite": _SQLITE_TRIGGERS, "postgresql": _PG_TRIGGERS}.get(dialect, ()):
        op.execute(stmt)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    for table in (
        "notifications",
        "audit_log",
        "verdict_photos",
        "verdicts",
        "assignments",
        "review_sessions",
        "review_users",
    ):
        op.drop_table(table)
