"""The daily job and its stages: ingest → attribute → (classify, dispatch, publish) → summarise.

Each stage takes the store (an :class:`~sqlalchemy.Engine`) and explicit settings; none reaches into
another's internals.  The CLI is a thin face over these functions.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from firewatch.config import Settings
from firewatch.errors import FirmsApiError, FirmsFormatError
from firewatch.store import repo

__all__ = [
    "DailyResult",
    "DaySummary",
    "attribute_frame",
    "attribute_table",
    "daily",
    "fetch",
    "ingest_file",
    "ingest_read",
    "region_bbox",
    "summarise_day",
]

log = logging.getLogger(__name__)


def _county_index(settings: Settings) -> Any:
    from firewatch.spatial.attribute import county_index

    return county_index(settings.boundaries_path, datum=settings.boundaries_datum)


def region_bbox(settings: Settings) -> tuple[float, float, float, float]:
    """The configured region's bbox, padded to cover the neighbour buffer."""
    w, s, e, n = settings.region.bbox
    pad = settings.region.neighbour_km / 80.0  # ≥ the buffer in degrees at these latitudes
    return (w - pad, s - pad, e + pad, n + pad)


def attribute_frame(
    frame: pd.DataFrame, settings: Settings, *, index: Any | None = None
) -> tuple[pd.DataFrame, int]:
    """Attribute canonical detections to city and county; drop those outside the region.

    ``index`` is a prebuilt :class:`~firewatch.spatial.attribute.CountyIndex` (default: the one
    of ``settings.boundaries_path``, built once per process).

    Returns
    -------
    frame
        Detections in the province or within ``settings.region.neighbour_km`` of it, with
        ``region``, ``neighbour_name``, ``city_code``, ``city_name``, ``county_code``,
        ``county_name``.
    outside
        How many detections were dropped as outside the region and its neighbour buffer.
    """
    w, s, e, n = region_bbox(settings)
    inbox = frame["longitude"].between(w, e) & frame["latitude"].between(s, n)
    boxed = frame.loc[inbox]
    if boxed.empty:
        out = boxed.assign(
            region=None,
            neighbour_name=None,
            city_code=None,
            city_name=None,
            county_code=None,
            county_name=None,
        )
        return out, int((~inbox).sum())
    index = index if index is not None else _county_index(settings)
    attributed = index.attribute(boxed, neighbour_km=settings.region.neighbour_km)
    keep = attributed["region"].isin(["province", "neighbour"])
    outside = int((~inbox).sum() + (~keep).sum())
    return attributed.loc[keep], outside


def ingest_read(engine: Engine, settings: Settings, read: Any, *, kind: str) -> repo.RunSummary:
    """Attribute and store one :class:`~firewatch.sources.firms.FirmsRead`."""
    frame, outside = attribute_frame(read.frame, settings)
    quarantine = [
        repo.Quarantine(origin=q.origin, line=q.line, reason=q.reason, raw=getattr(q, "raw", None))
        for q in read.quarantined
    ]
    products = read.frame["product"].dropna().unique()
    summary = repo.store_run(
        engine,
        frame,
        kind=kind,
        origin=read.origin,
        input_sha256=read.sha256,
        product=",".join(sorted(products)) or None,
        rows_read=read.rows_read,
        quarantine=quarantine,
        outside=outside + read.rows_outside_bbox,
    )
    # --- bulletin (issue 6): what time span this run covered (no fire vs no data) ------------
    from firewatch.publish.bulletin.coverage import record_coverage

    record_coverage(engine, summary.run_id, read.frame, origin=read.origin)
    # --- end bulletin ----------------------------------------------------------------------------
    return summary


def ingest_file(
    engine: Engine, settings: Settings, path: str | Path, *, product: str | None = None
) -> repo.RunSummary:
    """Read, attribute and store one FIRMS file.

    Raises
    ------
    FirmsFormatError
        If the file is not FIRMS data; the refusal is recorded as a run and nothing else is written.
    """
    from firewatch.sources.firms import read_firms

    path = Path(path)
    try:
        read = read_firms(path, product=product, bbox=region_bbox(settings))
    except FirmsFormatError as exc:
        import hashlib

        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        run_id = repo.record_empty_run(
            engine,
            kind="file",
            origin=path.name,
            status="refused",
            message=str(exc),
            input_sha256=digest,
        )
        # --- bulletin (issue 6): the days a refused file was meant to cover have no data -----
        from firewatch.publish.bulletin.coverage import record_coverage

        record_coverage(engine, run_id, None, origin=path.name)
        # --- end bulletin ------------------------------------------------------------------------
        raise
    return ingest_read(engine, settings, read, kind="file")


def fetch(
    engine: Engine,
    settings: Settings,
    *,
    start: dt.date,
    days: int = 1,
    products: Sequence[str] | None = None,
    client: Any | None = None,
) -> list[repo.RunSummary]:
    """Fetch the region from the FIRMS area API for ``days`` days from ``start`` and store it."""
    from firewatch.sources.firms import FirmsClient

    own = client is None
    client = client or FirmsClient.from_settings(settings)
    out = []
    try:
        for product in products or settings.firms_products:
            try:
                read = client.area(product, region_bbox(settings), start=start, days=days)
            except FirmsApiError as exc:
                # --- bulletin (issue 6): a failed request means "no data", not "no fire" -----
                from firewatch.publish.bulletin.coverage import record_failed_request

                record_failed_request(
                    engine,
                    origin=client.area_url(product, region_bbox(settings), start=start, days=days),
                    message=str(exc),
                    product=product,
                )
                # --- end bulletin ----------------------------------------------------------------
                raise
            out.append(ingest_read(engine, settings, read, kind="api"))
    finally:
        if own:
            client.close()
    return out


@dataclass
class DaySummary:
    """Counts of one Beijing-time day's detections in the province (neighbours listed apart)."""

    day: dt.date
    total: int
    per_city: pd.DataFrame  # city_code, city_name, points
    per_county: pd.DataFrame  # city_code, city_name, county_code, county_name, points
    neighbour: pd.DataFrame  # neighbour_name, points
    satellites: list[str]
    overpasses_bjt: list[str]  # "HH:MM" of each satellite pass seen that day
    detections: pd.DataFrame


def summarise_day(engine: Engine, day: dt.date) -> DaySummary:
    """Count a Beijing-time day's stored detections per city and county."""
    det = repo.load_detections(engine, first=day, last=day)
    prov = det[det["region"] == "province"]
    per_city = (
        prov.groupby(["city_code", "city_name"], dropna=False)
        .size()
        .rename("points")
        .reset_index()
        .sort_values(["points", "city_code"], ascending=[False, True], ignore_index=True)
    )
    per_county = (
        prov.groupby(["city_code", "city_name", "county_code", "county_name"], dropna=False)
        .size()
        .rename("points")
        .reset_index()
        .sort_values(
            ["city_code", "points", "county_code"], ascending=[True, False, True], ignore_index=True
        )
    )
    neighbour = (
        det[det["region"] == "neighbour"]
        .groupby("neighbour_name")
        .size()
        .rename("points")
        .reset_index()
    )
    passes = (
        prov.assign(hhmm=prov["acq_time_bjt"].dt.strftime("%H:%M"))
        .groupby("satellite")["hhmm"]
        .agg(["min", "max"])
        .reset_index()
    )
    overpasses = [
        f"{r.satellite} {r.min}" + (f"–{r.max}" if r.max != r.min else "")
        for r in passes.itertuples()
    ]
    return DaySummary(
        day=day,
        total=len(prov),
        per_city=per_city,
        per_county=per_county,
        neighbour=neighbour,
        satellites=sorted(prov["satellite"].unique()),
        overpasses_bjt=overpasses,
        detections=prov,
    )


@dataclass
class DailyResult:
    """What ``firewatch daily`` did."""

    day: dt.date
    runs: list[repo.RunSummary]
    summary: DaySummary
    refused: list[str] = field(default_factory=list)
    outputs: dict[str, Path] = field(default_factory=dict)
    #: What the dispatch stage did (``firewatch.dispatch.assign.DispatchResult``), if it ran.
    dispatch: Any = None
    #: What the classify stage did (``firewatch.classify.store.ClassifyResult``), if it ran.
    classify: Any = None
    #: The grid stage's per-township/village/chief summary
    #: (``firewatch.spatial.grid.GridDaySummary``), when a grid is configured.
    grid: Any = None


def daily(
    engine: Engine,
    settings: Settings,
    *,
    day: dt.date,
    files: Sequence[str | Path] = (),
    fetch_api: bool = True,
    client: Any | None = None,
    out_dir: str | Path | None = None,
) -> DailyResult:
    """The main job for one Beijing-time day: ingest (files, or the API), attribute, summarise.

    With ``files`` the files are ingested; otherwise, when ``fetch_api`` is true, the day is fetched
    from the FIRMS API (the UTC days the Beijing day spans).  Re-running is safe: stored detections
    are not duplicated.
    """
    runs: list[repo.RunSummary] = []
    refused: list[str] = []
    for f in files:
        try:
            runs.append(ingest_file(engine, settings, f))
        except FirmsFormatError as exc:
            refused.append(str(exc))
    if not files and fetch_api:
        # A Beijing day spans two UTC days (16:00 UTC the day before .. 16:00 UTC).
        runs.extend(
            fetch(engine, settings, start=day - dt.timedelta(days=1), days=2, client=client)
        )
    out = Path(out_dir) if out_dir is not None else settings.output_dir
    out.mkdir(parents=True, exist_ok=True)
    result = DailyResult(day=day, runs=runs, summary=summarise_day(engine, day), refused=refused)
    # --- grid (issue 3): village cell, chain up to the city, chiefs on duty for the day's points --
    if settings.grids_path.is_file():
        from firewatch.spatial.grid import attribute_stored, summarise_grid_day

        attribute_stored(engine, settings, first=day, last=day)
        result.grid = summarise_grid_day(engine, settings, day)
    # --- end grid --------------------------------------------------------------------------------
    # --- classify (issue 4): class, p_straw, explanation, model version for the day's points --
    if settings.classify.in_daily:
        from firewatch.classify.store import classify_daily

        result.classify = classify_daily(engine, settings, day=day)
    # --- end classify ----------------------------------------------------------------------------
    # --- dispatch (issue 7): assign the day's new points, remind, escalate, notify -----------
    if settings.review.dispatch_in_daily:
        from firewatch.dispatch.assign import run_dispatch

        result.dispatch = run_dispatch(engine, settings, days=[day])
    # --- end dispatch --------------------------------------------------------------------------
    # --- map (issue 5): the day's interactive map, internal and public, with iframe snippets --
    if settings.map.in_daily:
        from firewatch.publish.maps.store import write_daily_maps

        result.outputs.update(write_daily_maps(engine, settings, day=day, out_dir=out))
    # --- end map ---------------------------------------------------------------------------------
    # --- bulletin (issue 6): the day's bulletin, public and internal, html/docx/xlsx/pdf ------
    if settings.bulletin.in_daily:
        from firewatch.publish.bulletin.render import write_daily_bulletins

        result.outputs.update(write_daily_bulletins(engine, settings, day=day, out_dir=out))
    # --- end bulletin ----------------------------------------------------------------------------
    return result


def attribute_table(
    table: pd.DataFrame,
    settings: Settings,
    *,
    lat_col: str = "latitude",
    lon_col: str = "longitude",
    datum: str = "wgs84",
) -> pd.DataFrame:
    """Add ``city_code``, ``city_name``, ``county_code``, ``county_name`` to any table of points.

    Rows whose coordinates do not parse keep empty attribution and a reason in ``problem``.
    Coordinates in GCJ-02 or BD-09 (``datum``) are converted to WGS-84 for the lookup only; the
    table's own columns are left as they were.

    Raises
    ------
    KeyError
        If ``lat_col`` or ``lon_col`` is not a column of ``table``.
    """
    from firewatch.spatial.datum import to_wgs84

    for col in (lat_col, lon_col):
        if col not in table.columns:
            raise KeyError(f"no column {col!r}; columns are {list(table.columns)}")
    lat = pd.to_numeric(table[lat_col], errors="coerce")
    lon = pd.to_numeric(table[lon_col], errors="coerce")
    bad = lat.isna() | lon.isna() | ~lat.between(-90, 90) | ~lon.between(-180, 180)
    wlon, wlat = to_wgs84(lon.to_numpy(), lat.to_numpy(), datum=datum)
    pts = pd.DataFrame({"latitude": wlat, "longitude": wlon}, index=table.index)
    ok = pts.loc[~bad]
    attributed = (
        _county_index(settings).attribute(ok, neighbour_km=settings.region.neighbour_km)
        if len(ok)
        else ok.assign(
            region=None,
            neighbour_name=None,
            city_code=None,
            city_name=None,
            county_code=None,
            county_name=None,
        )
    )
    out = table.copy()
    for col in ("city_code", "city_name", "county_code", "county_name", "region", "neighbour_name"):
        out[col] = attributed[col].reindex(table.index)
    out["problem"] = None
    out.loc[bad, "problem"] = f"unreadable or out-of-range {lat_col}/{lon_col}"
    # --- grid (issue 3): township, village and chiefs when a grid is configured -----------------
    if settings.grids_path.is_file():
        from firewatch.spatial.grid import add_grid_columns

        out = add_grid_columns(out, pts.loc[~bad], settings)
    # --- end grid --------------------------------------------------------------------------------
    return out
