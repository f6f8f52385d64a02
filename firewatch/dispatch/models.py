"""Store tables of the review app: users, sessions, assignments, verdicts, photos, audit, outbox.

``assignments`` holds one row per dispatched detection: the cell responsible for it, the level it
has escalated to, its current deadline and the latest verdict.  ``verdicts`` keeps every verdict
ever given (a correction is a new row), ``audit_log`` every change, and the database itself
refuses to update or delete audit rows (triggers created by migration ``0004_review``).
"""

from __future__ import annotations

import datetime as dt
from typing import Final, cast

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from firewatch.store.models import Base, UTCDateTime

__all__ = [
    "ROLES",
    "VERDICTS",
    "Assignment",
    "AuditEntry",
    "Notification",
    "ReviewSession",
    "ReviewUser",
    "Verdict",
    "VerdictPhoto",
    "table",
]

#: Roles of accounts.  ``village_member`` (网格员) works one village cell; ``field_chief`` (田长)
#: answers for a cell at any level; ``analyst`` (bureau) reads a city or the province;
#: ``admin`` reads everything in scope and the audit log.
ROLES: Final[tuple[str, ...]] = ("village_member", "field_chief", "analyst", "admin")
#: Roles that may give verdicts (the people who go to the field).
FIELD_ROLES: Final[tuple[str, ...]] = ("village_member", "field_chief")

#: What a ground check found.
VERDICTS: Final[dict[str, str]] = {
    "straw_burning": "确认秸秆焚烧",
    "industrial": "工业热源",
    "other_fire": "其他火情",
    "nothing_found": "现场未见火情",
}


class ReviewUser(Base):
    """An account of the review app, tied to one grid cell and one role."""

    __tablename__ = "review_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    grid_code: Mapped[str] = mapped_column(String(12), index=True)  # 12-digit form
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ReviewSession(Base):
    """A logged-in session; the cookie holds a random token, the store only its SHA-256."""

    __tablename__ = "review_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("review_users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(64))


class Assignment(Base):
    """A detection sent for a ground check: who answers for it, until when, and what came back."""

    __tablename__ = "assignments"

    detection_id: Mapped[str] = mapped_column(
        ForeignKey("detections.detection_id", ondelete="CASCADE"), primary_key=True
    )
    #: The cell the point fell in (a village; the county when no grid covers it), 12 digits.
    grid_code: Mapped[str] = mapped_column(String(12), index=True)
    grid_level: Mapped[str] = mapped_column(String(12))
    grid_name: Mapped[str | None] = mapped_column(String(128))
    #: The cell answering for it now: ``grid_code`` at first, then its ancestors on escalation.
    responsible_code: Mapped[str] = mapped_column(String(12), index=True)
    responsible_level: Mapped[str] = mapped_column(String(12))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    #: The registry's people on duty at acquisition time (internal data).
    field_chief: Mapped[str | None] = mapped_column(String(64))
    grid_member: Mapped[str | None] = mapped_column(String(64))
    grid_flags: Mapped[str | None] = mapped_column(String(128))
    acq_time_utc: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    #: ``open`` until a verdict comes back, then ``answered``.
    status: Mapped[str] = mapped_column(String(12), default="open")
    verdict: Mapped[str | None] = mapped_column(String(16))
    verdict_id: Mapped[int | None] = mapped_column(Integer)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    handled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("review_users.id"))

    __table_args__ = (Index("ix_assignments_status_deadline", "status", "deadline"),)


class Verdict(Base):
    """One verdict on a point (every one is kept; the latest is the point's verdict)."""

    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    detection_id: Mapped[str] = mapped_column(
        ForeignKey("assignments.detection_id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("review_users.id"))
    user_role: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(64))


class VerdictPhoto(Base):
    """A photo sent with a verdict, checked by content; GPS from its EXIF when present."""

    __tablename__ = "verdict_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    verdict_id: Mapped[int] = mapped_column(
        ForeignKey("verdicts.id", ondelete="CASCADE"), index=True
    )
    detection_id: Mapped[str] = mapped_column(String(32), index=True)
    filename: Mapped[str] = mapped_column(String(128))
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    #: Distance from the photo's EXIF position to the fire point, metres.
    gps_distance_m: Mapped[float | None] = mapped_column(Float)
    taken_at: Mapped[str | None] = mapped_column(String(32))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    data: Mapped[bytes] = mapped_column(LargeBinary)


class AuditEntry(Base):
    """Who did what, when, from where.  Append-only: the database refuses UPDATE and DELETE."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the log outlives accounts
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    detection_id: Mapped[str | None] = mapped_column(String(32), index=True)
    detail: Mapped[str | None] = mapped_column(Text)  # JSON
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))

    __table_args__ = (Index("ix_audit_log_action_ip_at", "action", "ip", "at"),)


class Notification(Base):
    """An outbox row: one message for one event, channel and target; sent at most once."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: What happened, e.g. ``assign:<detection_id>``, ``remind:<id>:0``, ``escalate:<id>:1``.
    event_key: Mapped[str] = mapped_column(String(96))
    kind: Mapped[str] = mapped_column(String(16))  # assignment | reminder | escalation
    channel: Mapped[str] = mapped_column(String(8))  # email | webhook
    #: An e-mail address, or ``webhook:<grid code or "all">`` (the URL itself is a secret).
    target: Mapped[str] = mapped_column(String(254))
    detection_id: Mapped[str | None] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    #: pending -> sending -> sent | failed; ``unknown`` when a run died between send and record.
    status: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("event_key", "channel", "target", name="uq_notifications_event"),
        Index("ix_notifications_status", "status"),
    )


def table(model: type[Base]) -> Table:
    """The :class:`~sqlalchemy.Table` of a model (typed, for Core statements)."""
    return cast(Table, model.__table__)
