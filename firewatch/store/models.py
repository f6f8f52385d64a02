"""SQLAlchemy 2 models of the store.

The same models serve the embedded SQLite default and PostgreSQL/PostGIS.  Times are stored as
UTC (see :class:`UTCDateTime`); Beijing time is derived when read.  Schema changes go through
Alembic migrations in ``firewatch/store/migrations`` (``firewatch db upgrade``); every feature
area adds its tables in its own migration on top of the foundation one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Base", "Detection", "IngestRun", "QuarantinedRow", "UTCDateTime", "utcnow"]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware datetime stored as naive UTC, read back as aware UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if hasattr(value, "to_pydatetime"):
            value = value.to_pydatetime()
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a timezone first")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class IngestRun(Base):
    """One ingestion run: a file, or an API request series, and what became of its rows."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # file | api
    origin: Mapped[str] = mapped_column(Text)  # file name or masked request URL
    input_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    product: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # ok | partial | refused | failed
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    loaded: Mapped[int] = mapped_column(Integer, default=0)  # new detections stored
    duplicates: Mapped[int] = mapped_column(Integer, default=0)  # already stored / repeated
    outside: Mapped[int] = mapped_column(Integer, default=0)  # outside region + neighbour buffer
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)


class QuarantinedRow(Base):
    """A row that could not be read, kept with its file, line and reason."""

    __tablename__ = "quarantined_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("ingest_runs.id", ondelete="CASCADE"), index=True
    )
    origin: Mapped[str] = mapped_column(Text)
    line: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text)


class Detection(Base):
    """A satellite fire detection (the canonical record) with its county attribution."""

    __tablename__ = "detections"

    detection_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    product: Mapped[str] = mapped_column(String(32))
    instrument: Mapped[str] = mapped_column(String(8))
    satellite: Mapped[str] = mapped_column(String(16))
    acq_time_utc: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    scan: Mapped[float | None] = mapped_column(Float)
    track: Mapped[float | None] = mapped_column(Float)
    bright_t4: Mapped[float | None] = mapped_column(Float)
    bright_t5: Mapped[float | None] = mapped_column(Float)
    frp: Mapped[float | None] = mapped_column(Float)
    confidence_raw: Mapped[str | None] = mapped_column(String(16))
    confidence_level: Mapped[str | None] = mapped_column(String(8))
    confidence_score: Mapped[float | None] = mapped_column(Float)
    daynight: Mapped[str | None] = mapped_column(String(1))
    fire_type: Mapped[int | None] = mapped_column(SmallInteger)
    version: Mapped[str | None] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(Text)
    origin_line: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_runs.id"))

    # County attribution (foundation); grid levels live in their own table.
    region: Mapped[str | None] = mapped_column(String(16))  # province | neighbour
    neighbour_name: Mapped[str | None] = mapped_column(String(64))
    city_code: Mapped[str | None] = mapped_column(String(12))
    city_name: Mapped[str | None] = mapped_column(String(64))
    county_code: Mapped[str | None] = mapped_column(String(12))
    county_name: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_detections_acq_time_utc", "acq_time_utc"),
        Index("ix_detections_county_time", "county_code", "acq_time_utc"),
        Index("ix_detections_lon_lat", "longitude", "latitude"),
    )


#: Columns of :class:`Detection` that come straight from the canonical record.
RECORD_COLUMNS: tuple[str, ...] = (
    "detection_id",
    "product",
    "instrument",
    "satellite",
    "acq_time_utc",
    "latitude",
    "longitude",
    "scan",
    "track",
    "bright_t4",
    "bright_t5",
    "frp",
    "confidence_raw",
    "confidence_level",
    "confidence_score",
    "daynight",
    "fire_type",
    "version",
    "origin",
    "origin_line",
)

#: Attribution columns the foundation stores with each detection.
ATTRIBUTION_COLUMNS: tuple[str, ...] = (
    "region",
    "neighbour_name",
    "city_code",
    "city_name",
    "county_code",
    "county_name",
)
