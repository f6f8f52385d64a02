"""Store table of the bulletin area: what time span each ingestion run covered.

A bulletin has to tell three empty days apart: data covering the day with no fire in the
province, no data for the day (no pass, source down), and a day nobody ingested yet.  Detections
alone cannot say that (a covered day with no fire leaves no row), so every run records the time
spans its input covered, per product, here.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from firewatch.store.models import Base, UTCDateTime

__all__ = ["IngestCoverage"]


class IngestCoverage(Base):
    """A UTC interval ``[start_utc, end_utc)`` that one ingestion run covered for one product.

    ``basis`` says how it is known: ``request`` (the FIRMS API request's day range), ``filename``
    (the UTC days named in the file name) or ``detections`` (first to last acquisition time of
    the rows read, a lower bound).
    """

    __tablename__ = "ingest_coverage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("ingest_runs.id", ondelete="CASCADE"), index=True
    )
    product: Mapped[str | None] = mapped_column(String(32))
    start_utc: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    end_utc: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    basis: Mapped[str] = mapped_column(String(16))
    rows: Mapped[int] = mapped_column(Integer, default=0)
