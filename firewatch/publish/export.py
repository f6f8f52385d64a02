"""Export stored detections with their attribution, for QGIS and Excel users."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine

from firewatch.sources.firms import as_geodataframe
from firewatch.store import repo

__all__ = ["FORMATS", "export_detections"]

#: Output suffix -> pyogrio driver (``None``: plain CSV).
FORMATS: dict[str, str | None] = {".csv": None, ".geojson": "GeoJSON", ".gpkg": "GPKG"}


def export_detections(
    engine: Engine,
    path: str | Path,
    *,
    first: dt.date,
    last: dt.date,
    region: Sequence[str] = ("province", "neighbour"),
) -> int:
    """Write the detections of Beijing-time days ``first``..``last`` to CSV, GeoJSON or GPKG.

    Times are written as ISO 8601 strings with their offset (UTC and Beijing time), which both
    Excel and QGIS read.  Returns the number of detections written.

    Raises
    ------
    ValueError
        If the suffix of ``path`` is not one of :data:`FORMATS`, or ``last`` is before ``first``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"unsupported output {path.name!r}: use one of {', '.join(FORMATS)}")
    if last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    det = repo.load_detections(engine, first=first, last=last, region=region)
    for col in ("acq_time_utc", "acq_time_bjt"):
        det[col] = det[col].map(lambda t: t.isoformat())
    det["fire_type"] = det["fire_type"].astype("float64")
    path.parent.mkdir(parents=True, exist_ok=True)
    if FORMATS[suffix] is None:
        det.to_csv(path, index=False, encoding="utf-8-sig")
    else:
        if path.exists():
            path.unlink()  # GPKG would otherwise append a layer; re-running must be idempotent
        as_geodataframe(det).to_file(
            path, driver=FORMATS[suffix], layer="detections" if suffix == ".gpkg" else None
        )
    return len(det)
