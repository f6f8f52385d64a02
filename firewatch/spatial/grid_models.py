"""Store tables of the grid area: the field-chief registry and each detection's grid cell.

* ``grid_registry_imports``: every registry import (file, hash, mode, counts).
* ``grid_duties``: who is on duty for which grid cell, in which role, from/to which day
  (history is kept; a detection is attributed to the people on duty on its day).
* ``grid_attributions``: per detection, the village cell and the chain up to the city, the
  footprint shares, flags, and which grid file (by hash) it was made with.
* ``grid_attribution_people``: per detection, the people on duty at every level of its chain
  at its acquisition time (a snapshot, re-resolved when the registry is imported again).

Migration: ``firewatch/store/migrations/versions/0002_grid.py``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from firewatch.store.models import Base, UTCDateTime

__all__ = ["GridAttribution", "GridAttributionPerson", "GridDuty", "GridRegistryImport"]


class GridRegistryImport(Base):
    """One import of a field-chief registry file."""

    __tablename__ = "grid_registry_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(Text)  # file name
    sha256: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(8))  # merge | replace
    rows: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    removed: Mapped[int] = mapped_column(Integer)
    grid_sha256: Mapped[str | None] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class GridDuty(Base):
    """A person on duty for a grid cell in a role, for a period (inclusive days)."""

    __tablename__ = "grid_duties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    grid_code: Mapped[str] = mapped_column(String(12), index=True)
    level: Mapped[str] = mapped_column(String(16))  # city | county | township | village
    role: Mapped[str] = mapped_column(String(16))  # field_chief | grid_member | cadre
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20))
    on_duty_from: Mapped[dt.date] = mapped_column(Date)
    on_duty_to: Mapped[dt.date | None] = mapped_column(Date)  # None: still on duty
    import_id: Mapped[int] = mapped_column(ForeignKey("grid_registry_imports.id"), index=True)
    origin: Mapped[str] = mapped_column(Text)  # file the row came from
    origin_line: Mapped[int] = mapped_column(Integer)


class GridAttribution(Base):
    """The grid cell of a detection and its chain up to the city."""

    __tablename__ = "grid_attributions"

    detection_id: Mapped[str] = mapped_column(
        ForeignKey("detections.detection_id", ondelete="CASCADE"), primary_key=True
    )
    grid_name: Mapped[str] = mapped_column(Text)
    grid_sha256: Mapped[str] = mapped_column(String(64))
    synthetic: Mapped[bool] = mapped_column(Boolean)
    city_code: Mapped[str | None] = mapped_column(String(12))
    city_name: Mapped[str | None] = mapped_column(String(64))
    county_code: Mapped[str | None] = mapped_column(String(12))
    county_name: Mapped[str | None] = mapped_column(String(64))
    township_code: Mapped[str | None] = mapped_column(String(12))
    township_name: Mapped[str | None] = mapped_column(String(64))
    village_code: Mapped[str | None] = mapped_column(String(12))
    village_name: Mapped[str | None] = mapped_column(String(64))
    share: Mapped[float | None] = mapped_column(Float)  # of the footprint, responsible cell
    touched: Mapped[str] = mapped_column(Text)  # JSON [{"code", "share"}], largest first
    method: Mapped[str] = mapped_column(String(16))  # footprint | point | nearest | none
    gap_distance_m: Mapped[float | None] = mapped_column(Float)
    flags: Mapped[str] = mapped_column(Text)  # comma-separated, see firewatch.spatial.grid.FLAGS
    attributed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_grid_attributions_village_code", "village_code"),
        Index("ix_grid_attributions_township_code", "township_code"),
    )


class GridAttributionPerson(Base):
    """A person on duty for a detection's cell (at one level of its chain) at its time."""

    __tablename__ = "grid_attribution_people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    detection_id: Mapped[str] = mapped_column(
        ForeignKey("grid_attributions.detection_id", ondelete="CASCADE"), index=True
    )
    level: Mapped[str] = mapped_column(String(16))
    grid_code: Mapped[str] = mapped_column(String(12))
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20))
    duty_id: Mapped[int | None] = mapped_column(Integer)  # grid_duties.id at resolution time
