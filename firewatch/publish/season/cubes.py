"""Burning-season cubes with xarray: (date × county) and (date × y × x).

Both cubes count detections, sum their FRP (MW) and sum the fire radiative energy estimated by
:func:`~firewatch.publish.season.fre.estimate_fre` (MJ); the county cube also carries the dry
matter burned with its range.  Dates are Beijing-time days of the season window, which comes from
the configured ban periods of that year (``Settings.ban_periods``).  A day with no detection is a
zero in the cube; ``n_overpasses`` (per date) tells a true zero from a day without data.

Cubes are built with one :func:`numpy.bincount` per variable over a flat cell index, so the cost
is one pass over the detections plus the size of the cube.  They are saved as NetCDF-4 through
h5netcdf, compressed, written to a temporary file and renamed into place.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from firewatch.errors import ConfigError
from firewatch.publish.season.events import SeasonInputError, event_table
from firewatch.publish.season.fre import FRE_COLUMNS, estimate_fre
from firewatch.publish.season.settings import SeasonSettings

if TYPE_CHECKING:
    import xarray as xr
    from sqlalchemy import Engine

    from firewatch.config import Settings

__all__ = [
    "Season",
    "SeasonCubes",
    "build_cubes",
    "county_cube",
    "grid_cube",
    "open_cube",
    "save_cube",
    "season_detections",
    "season_window",
]

log = logging.getLogger(__name__)


def _xr() -> Any:
    try:
        import xarray
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "the seasonal cubes need xarray and h5netcdf: pip install 'firewatch[season]'"
        ) from exc
    return xarray


@dataclass(frozen=True)
class Season:
    """A burning season: a named ban window in one year (Beijing-time days, inclusive)."""

    name: str
    year: int
    first: dt.date
    last: dt.date

    @property
    def label(self) -> str:
        """``"autumn 2022"``."""
        return f"{self.name} {self.year}"

    @property
    def days(self) -> int:
        """Number of days in the window, both ends included."""
        return (self.last - self.first).days + 1

    def dates(self) -> pd.DatetimeIndex:
        """Every day of the window (tz-naive midnights, Beijing-time days)."""
        return pd.date_range(self.first, self.last, freq="D")


def season_window(settings: Settings, *, year: int, season: str) -> Season:
    """The ``season`` ban window of ``year`` from ``settings.ban_periods``.

    Raises
    ------
    ConfigError
        When no configured ban period of that name applies in ``year``.
    """
    windows = settings.ban_windows(year)
    for name, first, last in windows:
        if name == season:
            return Season(name=name, year=year, first=first, last=last)
    known = ", ".join(sorted({w[0] for w in windows})) or "none"
    raise ConfigError(
        f"no ban period named {season!r} in {year} (configured for {year}: {known}); "
        "see ban_periods in the settings"
    )


def season_detections(
    engine: Engine,
    season: Season,
    *,
    region: tuple[str, ...] = ("province", "neighbour"),
    with_classes: bool = False,
) -> pd.DataFrame:
    """The stored, attributed detections of a season window (Beijing-time days).

    A thin reader over :func:`firewatch.store.repo.load_detections`; with ``with_classes`` the
    classifier's ``fp_class`` and ``p_straw`` are joined (``NaN`` for detections never
    classified), which :func:`~firewatch.publish.season.fre.estimate_fre` uses when asked to
    count straw only.
    """
    from firewatch.store.repo import load_detections

    frame = load_detections(engine, first=season.first, last=season.last, region=region)
    if with_classes:
        from firewatch.classify.store import load_point_classes

        classes = load_point_classes(engine, frame["detection_id"].tolist())
        frame = frame.join(classes[["fp_class", "p_straw"]], on="detection_id")
    return frame


def _ensure_fre(frame: pd.DataFrame, cfg: SeasonSettings) -> pd.DataFrame:
    if all(c in frame.columns for c in FRE_COLUMNS):
        return frame
    return estimate_fre(frame, cfg)


def _window_index(det: pd.DataFrame, season: Season) -> tuple[np.ndarray, np.ndarray]:
    """Day index of each detection in the window (0-based) and whether it is inside."""
    day = det["day"].to_numpy(dtype="datetime64[D]")
    di = (day - np.datetime64(season.first, "D")).astype(np.int64)
    inside = (di >= 0) & (di < season.days)
    if not inside.all():
        log.info("%d detection(s) outside %s left out", int((~inside).sum()), season.label)
    return di, inside


def _distinct(det: pd.DataFrame, col: str, mask: np.ndarray) -> str:
    if col not in det.columns or not mask.any():
        return ""
    values = pd.unique(det[col].to_numpy(dtype=object)[mask])  # hash-based, no sort of n rows
    return ", ".join(sorted(str(v) for v in values if isinstance(v, str) and v))


def _common_attrs(
    det: pd.DataFrame, mask: np.ndarray, season: Season, cfg: SeasonSettings
) -> dict[str, Any]:
    return {
        "title": f"firewatch burning-season cube, {season.label}",
        "season": season.name,
        "year": season.year,
        "first_day": season.first.isoformat(),
        "last_day": season.last.isoformat(),
        "time_zone": "days are Beijing time (UTC+8)",
        "instruments": _distinct(det, "instrument", mask),
        "satellites": _distinct(det, "satellite", mask),
        "products": _distinct(det, "product", mask),
        "fre_method": (
            "FRP scaled to a day's energy with a modified-Gaussian diurnal cycle (daytime) or a "
            "fixed duration (night); overlapping overpasses averaged; see docs/season.md"
        ),
        "diurnal_peak_hour": cfg.diurnal.peak_hour,
        "diurnal_sigma_h": cfg.diurnal.sigma_h,
        "diurnal_baseline": cfg.diurnal.baseline,
        "dry_matter_kg_per_mj": list(cfg.dry_matter_kg_per_mj),
        "event_distance_km": cfg.event_distance_km,
        "event_gap_days": cfg.event_gap_days,
        "Conventions": "CF-1.8",
        "source": "NASA FIRMS active fire detections (MODIS/VIIRS), via firewatch",
    }


def _per_date(di: np.ndarray, overpass: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Detections and distinct overpasses per day (``di`` already inside the window)."""
    count = np.bincount(di, minlength=n)
    width = int(overpass.max()) + 1 if len(overpass) else 1
    days_of_pairs = np.unique(di * width + overpass) // width
    over = np.bincount(days_of_pairs, minlength=n)
    return {"detections": count.astype(np.int32), "n_overpasses": over.astype(np.int16)}


def county_cube(
    detections: pd.DataFrame,
    season: Season,
    *,
    settings: SeasonSettings | None = None,
    counties: pd.DataFrame | None = None,
) -> xr.Dataset:
    """The (date × county) cube of one season.

    Parameters
    ----------
    detections
        Canonical detections with attribution (``county_code``, ``county_name``; ``city_code``,
        ``city_name`` when present).  FRE columns are computed when missing.
    season
        The season window (see :func:`season_window`).
    settings
        ``Settings.season``.
    counties
        Counties to include even without detections (columns ``county_code``, ``county_name``,
        optionally ``city_code``, ``city_name``), in this order; default: those in the data.

    Returns
    -------
    xarray.Dataset
        Dimensions ``date`` and ``county``; variables ``fire_count``, ``frp_sum`` (MW), ``fre``,
        ``fre_low``, ``fre_high`` (MJ), ``dry_matter``, ``dry_matter_low``, ``dry_matter_high``
        (t), and per date ``detections`` (all in the window, with or without a county) and
        ``n_overpasses``.
    """
    xr = _xr()
    cfg = settings or SeasonSettings()
    if "county_code" not in detections.columns:
        raise SeasonInputError("the county cube needs attributed detections (county_code)")
    det = _ensure_fre(detections, cfg)
    di, inwin = _window_index(det, season)
    has = det["county_code"].notna().to_numpy()
    m = inwin & has

    cols = ["county_code", "county_name", "city_code", "city_name"]
    # counties seen in the data: factorize (hash) once, names from each code's first row
    codes, uniques = pd.factorize(det["county_code"].to_numpy(dtype=object)[m])
    rows = np.flatnonzero(m)
    _, first = np.unique(codes, return_index=True)
    seen = det.reindex(columns=cols).iloc[rows[first]].astype({"county_code": str})
    if counties is not None:
        table = counties.reindex(columns=cols).astype({"county_code": str})
        table = pd.concat([table, seen[~seen["county_code"].isin(table["county_code"])]])
    else:
        table = seen.sort_values("county_code")
    table = table.reset_index(drop=True)

    nd, nc = season.days, len(table)
    position = pd.Index(table["county_code"]).get_indexer(pd.Index(uniques).astype(str))
    flat = di[m] * nc + position[codes]

    def cube(weights: np.ndarray | None, dtype: str) -> np.ndarray:
        v = np.bincount(flat, weights=weights, minlength=nd * nc)
        return v.reshape(nd, nc).astype(dtype)

    def w(col: str) -> np.ndarray:
        return det[col].to_numpy(dtype=float)[m]

    dims: tuple[str, ...] = ("date", "county")
    data: dict[str, tuple[tuple[str, ...], np.ndarray, dict[str, str]]] = {
        "fire_count": (dims, cube(None, "int32"), {"long_name": "fire detections", "units": "1"}),
        "frp_sum": (dims, cube(w("frp"), "float64"), {"long_name": "sum of FRP", "units": "MW"}),
    }
    for var, col, long in (
        ("fre", "fre_mj", "fire radiative energy (central estimate)"),
        ("fre_low", "fre_mj_low", "fire radiative energy, low end"),
        ("fre_high", "fre_mj_high", "fire radiative energy, high end"),
    ):
        data[var] = (dims, cube(w(col), "float64"), {"long_name": long, "units": "MJ"})
    for var, col, long in (
        ("dry_matter", "dry_matter_t", "dry matter burned (central estimate)"),
        ("dry_matter_low", "dry_matter_t_low", "dry matter burned, low end"),
        ("dry_matter_high", "dry_matter_t_high", "dry matter burned, high end"),
    ):
        data[var] = (dims, cube(w(col), "float64"), {"long_name": long, "units": "t"})
    per_date = _per_date(di[inwin], det["overpass_id"].to_numpy()[inwin], nd)
    data["detections"] = (
        ("date",),
        per_date["detections"],
        {"long_name": "detections in the window (with or without a county)"},
    )
    data["n_overpasses"] = (
        ("date",),
        per_date["n_overpasses"],
        {"long_name": "satellite overpasses with at least one detection (0: no data or none)"},
    )
    coords = {
        "date": ("date", season.dates().to_numpy(dtype="datetime64[ns]")),
        "county": ("county", table["county_code"].to_numpy(dtype=str)),
        "county_name": ("county", table["county_name"].fillna("").to_numpy(dtype=str)),
        "city_code": ("county", table["city_code"].fillna("").astype(str).to_numpy(dtype=str)),
        "city_name": ("county", table["city_name"].fillna("").to_numpy(dtype=str)),
    }
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(_common_attrs(det, inwin, season, cfg))
    ds.attrs["cube"] = "county"
    ds.attrs["detections_without_county"] = int((inwin & ~has).sum())
    return ds


def grid_cube(
    detections: pd.DataFrame,
    season: Season,
    *,
    settings: SeasonSettings | None = None,
    bbox: tuple[float, float, float, float] = (121.1, 43.3, 135.2, 53.6),
    resolution: float | None = None,
) -> xr.Dataset:
    """The (date × y × x) cube of one season on a regular longitude/latitude grid.

    Parameters
    ----------
    detections
        Canonical detections; FRE columns are computed when missing.
    season
        The season window.
    settings
        ``Settings.season`` (``grid_resolution_deg``).
    bbox
        West, south, east, north of the grid (``Settings.region.bbox``); detections outside are
        left out.
    resolution
        Cell size in degrees; default ``settings.grid_resolution_deg``.

    Returns
    -------
    xarray.Dataset
        Dimensions ``date``, ``y`` (cell-centre latitude, south to north) and ``x`` (cell-centre
        longitude); variables ``fire_count``, ``frp_sum`` (MW), ``fre`` (MJ), ``dry_matter`` (t) and
        per date ``detections`` and ``n_overpasses``.
    """
    xr = _xr()
    cfg = settings or SeasonSettings()
    res = float(resolution or cfg.grid_resolution_deg)
    west, south, east, north = bbox
    if not (east > west and north > south and res > 0):
        raise ConfigError(f"invalid grid: bbox {bbox}, resolution {res}")
    nx = math.ceil(round((east - west) / res, 9))
    ny = math.ceil(round((north - south) / res, 9))
    det = _ensure_fre(detections, cfg)
    di, inwin = _window_index(det, season)
    lon = det["longitude"].to_numpy(dtype=float)
    lat = det["latitude"].to_numpy(dtype=float)
    ix = np.floor((lon - west) / res).astype(np.int64)
    iy = np.floor((lat - south) / res).astype(np.int64)
    inside = inwin & (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    if (inwin & ~inside).any():
        log.info("%d detection(s) outside the grid left out", int((inwin & ~inside).sum()))
    nd = season.days
    flat = (di[inside] * ny + iy[inside]) * nx + ix[inside]
    size = nd * ny * nx

    def cube(col: str | None, dtype: str) -> np.ndarray:
        wts = None if col is None else det[col].to_numpy(dtype=float)[inside]
        return np.bincount(flat, weights=wts, minlength=size).reshape(nd, ny, nx).astype(dtype)

    dims = ("date", "y", "x")
    per_date = _per_date(di[inside], det["overpass_id"].to_numpy()[inside], nd)
    ds = xr.Dataset(
        {
            "fire_count": (
                dims,
                cube(None, "int32"),
                {"long_name": "fire detections", "units": "1"},
            ),
            "frp_sum": (dims, cube("frp", "float32"), {"long_name": "sum of FRP", "units": "MW"}),
            "fre": (
                dims,
                cube("fre_mj", "float32"),
                {"long_name": "fire radiative energy (central estimate)", "units": "MJ"},
            ),
            "dry_matter": (
                dims,
                cube("dry_matter_t", "float32"),
                {"long_name": "dry matter burned (central estimate)", "units": "t"},
            ),
            "detections": (("date",), per_date["detections"]),
            "n_overpasses": (("date",), per_date["n_overpasses"]),
        },
        coords={
            "date": ("date", season.dates().to_numpy(dtype="datetime64[ns]")),
            "y": (
                "y",
                south + (np.arange(ny) + 0.5) * res,
                {"standard_name": "latitude", "units": "degrees_north"},
            ),
            "x": (
                "x",
                west + (np.arange(nx) + 0.5) * res,
                {"standard_name": "longitude", "units": "degrees_east"},
            ),
        },
    )
    ds.attrs.update(_common_attrs(det, inside, season, cfg))
    ds.attrs.update(
        {"cube": "grid", "resolution_deg": res, "bbox": list(bbox), "crs": "EPSG:4326 (WGS-84)"}
    )
    return ds


@dataclass
class SeasonCubes:
    """Everything :func:`build_cubes` makes for one season."""

    season: Season
    county: xr.Dataset
    grid: xr.Dataset
    #: The season's detections with event and FRE columns.
    detections: pd.DataFrame
    #: One row per fire event (see :func:`~firewatch.publish.season.events.event_table`).
    events: pd.DataFrame


def build_cubes(
    frame: pd.DataFrame,
    season: Season,
    settings: Settings,
    *,
    counties: pd.DataFrame | None = None,
    straw_only: bool = False,
) -> SeasonCubes:
    """Events, FRE and both cubes of one season from attributed canonical detections.

    Parameters
    ----------
    frame
        Canonical detections with attribution (e.g. from
        :func:`firewatch.store.repo.load_detections`); rows outside the window are left out.
    season
        The season window.
    settings
        firewatch settings (``season`` and ``region.bbox`` are used).
    counties
        Counties to include even without detections (see :func:`county_cube`).
    straw_only
        Count FRE and dry matter only for detections classified as straw (see
        :func:`~firewatch.publish.season.fre.estimate_fre`).
    """
    cfg = settings.season
    if frame.empty:
        det = estimate_fre(frame, cfg, straw_only=straw_only)
    else:
        from firewatch.publish.season.events import beijing_days

        day = beijing_days(frame)
        keep = (day >= pd.Timestamp(season.first)) & (day <= pd.Timestamp(season.last))
        det = estimate_fre(frame.loc[keep], cfg, straw_only=straw_only)
    if "county_code" not in det.columns:
        det["county_code"] = pd.Series(pd.NA, index=det.index, dtype=object)
        det["county_name"] = pd.Series(pd.NA, index=det.index, dtype=object)
    return SeasonCubes(
        season=season,
        county=county_cube(det, season, settings=cfg, counties=counties),
        grid=grid_cube(det, season, settings=cfg, bbox=settings.region.bbox),
        detections=det,
        events=event_table(det),
    )


def save_cube(ds: xr.Dataset, path: str | Path) -> Path:
    """Write a cube as compressed NetCDF-4 (h5netcdf), atomically: a crash keeps the old file."""
    _xr()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    encoding = {
        name: {"zlib": True, "complevel": 4}
        for name, var in ds.data_vars.items()
        if np.issubdtype(var.dtype, np.number)
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def open_cube(path: str | Path) -> xr.Dataset:
    """Read a cube written by :func:`save_cube` into memory."""
    xr = _xr()
    return xr.load_dataset(Path(path), engine="h5netcdf")
