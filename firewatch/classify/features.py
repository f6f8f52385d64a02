"""Features of each detection for the false-positive classifier (see ``docs/classifier.md``).

Everything is computed for whole arrays at once: distances with a KD-tree on the sphere,
persistence as (point, earlier detection) pairs from one KD-tree query, overpass neighbours with
one radius count in a space where different overpasses lie far apart.  No loop runs per point.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import Engine, select

from firewatch.classify._deps import require
from firewatch.classify.geo import chord_km, to_xyz
from firewatch.classify.industrial import SiteIndex
from firewatch.classify.landcover import LandCoverRaster

__all__ = [
    "BASE_FEATURES",
    "FEATURES",
    "LANDCOVER_FEATURES",
    "RULE_INPUTS",
    "FeatureContext",
    "FeatureSpec",
    "beijing_days",
    "build_features",
    "feature_names",
    "load_history",
    "persistence_counts",
    "same_pass_counts",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureSpec:
    """One feature: its column name, what it means, where it comes from."""

    name: str
    meaning: str
    source: str
    group: str
    #: The weak-label rules read this feature (or the same information); see ``labels.py``.
    rule_input: bool = False


FEATURES: Final[tuple[FeatureSpec, ...]] = (
    FeatureSpec("frp", "fire radiative power (MW)", "FIRMS frp", "radiometric"),
    FeatureSpec(
        "bright_t4",
        "brightness temperature of the fire channel (K): MODIS 21/22 µm, VIIRS I4",
        "FIRMS brightness / bright_ti4",
        "radiometric",
    ),
    FeatureSpec(
        "bright_t5",
        "brightness temperature of the background channel (K): MODIS 31, VIIRS I5",
        "FIRMS bright_t31 / bright_ti5",
        "radiometric",
    ),
    FeatureSpec(
        "bt_diff", "bright_t4 − bright_t5 (K): the hot spot's excess", "derived", "radiometric"
    ),
    FeatureSpec(
        "confidence_score",
        "FIRMS confidence 0–100 (VIIRS low/nominal/high = 20/60/90)",
        "FIRMS confidence",
        "radiometric",
    ),
    FeatureSpec(
        "pixel_area_km2",
        "scan × track, the pixel footprint (km²); grows towards the swath edge",
        "FIRMS scan, track",
        "radiometric",
    ),
    FeatureSpec("is_night", "1 for a night overpass", "FIRMS daynight", "radiometric"),
    FeatureSpec(
        "is_viirs", "1 for VIIRS 375 m, 0 for MODIS 1 km", "FIRMS instrument", "radiometric"
    ),
    FeatureSpec(
        "dist_industry_km",
        "distance to the nearest registered industrial heat source (km, capped at 100)",
        "GPPD thermal plants, VIIRS Nightfire flares, user registry",
        "industry",
        rule_input=True,
    ),
    FeatureSpec(
        "persist_days_30",
        "distinct earlier Beijing days with a stored detection within 1 km, last 30 days",
        "the store",
        "persistence",
        rule_input=True,
    ),
    FeatureSpec(
        "persist_days_365",
        "distinct earlier Beijing days with a stored detection within 1 km, last 365 days",
        "the store",
        "persistence",
        rule_input=True,
    ),
    FeatureSpec(
        "same_pass_5km",
        "other detections of the same satellite overpass within 5 km",
        "the detections classified together",
        "context",
    ),
    FeatureSpec(
        "in_ban_period",
        "1 if the Beijing day falls in a configured ban period",
        "Settings.ban_periods",
        "context",
        rule_input=True,
    ),
    FeatureSpec(
        "day_of_year", "Beijing day of the year (1–366)", "acquisition time", "context", True
    ),
    FeatureSpec(
        "lc_cropland",
        "1 if the land-cover class at the point is cropland (optional raster)",
        "Settings.classify.landcover_path",
        "land cover",
    ),
    FeatureSpec(
        "lc_builtup",
        "1 if the land-cover class at the point is built-up land (optional raster)",
        "Settings.classify.landcover_path",
        "land cover",
    ),
)

LANDCOVER_FEATURES: Final = ("lc_cropland", "lc_builtup")
BASE_FEATURES: Final = tuple(f.name for f in FEATURES if f.name not in LANDCOVER_FEATURES)
RULE_INPUTS: Final = tuple(f.name for f in FEATURES if f.rule_input)
SPEC: Final = {f.name: f for f in FEATURES}

_DAY_NS: Final = 86_400 * 10**9
_BJT_OFFSET_NS: Final = 8 * 3_600 * 10**9  # Beijing has had no daylight saving since 1991


def feature_names(*, landcover: bool) -> list[str]:
    """The feature columns, in model order, with or without the land-cover pair."""
    return [*BASE_FEATURES, *(LANDCOVER_FEATURES if landcover else ())]


def beijing_days(acq_time_utc: pd.Series) -> NDArray[np.int64]:
    """Beijing-time calendar day of each instant, as days since 1970-01-01."""
    ns = pd.to_datetime(acq_time_utc, utc=True).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return (ns + _BJT_OFFSET_NS) // _DAY_NS


@dataclass
class FeatureContext:
    """What the features need besides the detections: registries, raster, ban periods."""

    sites: SiteIndex
    in_ban_period: Callable[[dt.date], str | None]
    landcover: LandCoverRaster | None = None
    persistence_radius_km: float = 1.0
    same_pass_radius_km: float = 5.0

    @classmethod
    def from_settings(cls, settings: Any) -> FeatureContext:
        c = settings.classify
        return cls(
            sites=SiteIndex.from_settings(settings),
            in_ban_period=settings.in_ban_period,
            landcover=LandCoverRaster.from_settings(settings),
            persistence_radius_km=c.persistence_radius_km,
            same_pass_radius_km=c.same_pass_radius_km,
        )


def _distinct(a: NDArray[np.int64]) -> NDArray[np.int64]:
    """Sorted distinct values.  Sorting is used on purpose: numpy 2's hash-based ``np.unique``
    is orders of magnitude slower on tens of millions of int64 keys."""
    s = np.sort(a)
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def persistence_counts(
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    day: NDArray[np.int64],
    hist_lat: NDArray[np.float64],
    hist_lon: NDArray[np.float64],
    hist_day: NDArray[np.int64],
    *,
    radius_km: float = 1.0,
    windows: tuple[int, ...] = (30, 365),
    future: bool = False,
    chunk: int = 100_000,
) -> dict[int, NDArray[np.int64]]:
    """For each point, the number of distinct earlier days with a history detection nearby.

    A history detection counts for window ``w`` when it lies within ``radius_km`` of the point
    and its day is 1..``w`` days before the point's day (with ``future=True``, also 1..``w``
    days after: used by the labelling rules, never by the features).

    Returns
    -------
    dict
        window -> counts (int64 array, one per point).
    """
    spatial = require("scipy.spatial")
    n = len(lat)
    out = {w: np.zeros(n, dtype=np.int64) for w in windows}
    if n == 0 or len(hist_lat) == 0:
        return out
    th = spatial.cKDTree(to_xyz(hist_lat, hist_lon))
    hday = np.asarray(hist_day, dtype=np.int64)
    pday = np.asarray(day, dtype=np.int64)
    off0 = int(hday.min())
    xyz = to_xyz(lat, lon)
    # Points in chunks against one history tree: memory stays bounded by the chunk's pairs.
    for c0 in range(0, n, chunk):
        tp = spatial.cKDTree(xyz[c0 : c0 + chunk])
        pairs = tp.sparse_distance_matrix(th, chord_km(radius_km), output_type="ndarray")
        i = pairs["i"].astype(np.int64)
        dh = hday[pairs["j"]]
        lag = pday[c0 + i] - dh
        if future:
            lag = np.abs(lag)
        for w in windows:
            m = (lag >= 1) & (lag <= w)
            # distinct (point, day) pairs, then count per point
            key = _distinct(i[m] * 1_000_000 + (dh[m] - off0))
            out[w][c0 : c0 + len(tp.data)] = np.bincount(key // 1_000_000, minlength=len(tp.data))
    return out


def same_pass_counts(
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    satellite: NDArray[Any],
    acq_ns: NDArray[np.int64],
    *,
    radius_km: float = 5.0,
    gap_minutes: float = 20.0,
) -> NDArray[np.int64]:
    """Other detections of the same overpass within ``radius_km`` of each point.

    An overpass is a run of one satellite's detections with no gap longer than ``gap_minutes``.
    """
    spatial = require("scipy.spatial")
    n = len(lat)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    _codes, sat = np.unique(np.asarray(satellite, dtype=str), return_inverse=True)
    order = np.lexsort((acq_ns, sat))
    s, t = sat[order], np.asarray(acq_ns, dtype=np.int64)[order]
    new = np.r_[True, (s[1:] != s[:-1]) | (np.diff(t) > gap_minutes * 60 * 10**9)]
    pass_id = np.empty(n, dtype=np.float64)
    pass_id[order] = np.cumsum(new)
    # A fourth coordinate puts each overpass 100,000 km from the next: one tree, no loop.
    xyzp = np.column_stack((to_xyz(lat, lon), pass_id * 1e5))
    tree = spatial.cKDTree(xyzp)
    counts = tree.query_ball_point(xyzp, chord_km(radius_km), return_length=True)
    return np.asarray(counts, dtype=np.int64) - 1


def load_history(engine: Engine, *, first_day: int, last_day: int) -> pd.DataFrame:
    """Stored detections of Beijing days ``first_day``..``last_day`` (days since 1970-01-01).

    Returns columns ``latitude``, ``longitude``, ``day``: what the persistence features need,
    read in one query.
    """
    from firewatch.store.models import Detection

    t = Detection.__table__
    start = pd.Timestamp(first_day * _DAY_NS - _BJT_OFFSET_NS, tz="UTC").to_pydatetime()
    end = pd.Timestamp((last_day + 1) * _DAY_NS - _BJT_OFFSET_NS, tz="UTC").to_pydatetime()
    stmt = select(t.c.latitude, t.c.longitude, t.c.acq_time_utc).where(
        t.c.acq_time_utc >= start, t.c.acq_time_utc < end
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=["latitude", "longitude", "acq_time_utc"])
    times = pd.to_datetime(frame["acq_time_utc"], utc=True) if len(frame) else frame["acq_time_utc"]
    return pd.DataFrame(
        {
            "latitude": frame["latitude"].astype("float64"),
            "longitude": frame["longitude"].astype("float64"),
            "day": beijing_days(times) if len(frame) else np.zeros(0, dtype=np.int64),
        }
    )


def _ban_flags(days: NDArray[np.int64], in_ban: Callable[[dt.date], str | None]) -> NDArray[Any]:
    uniq, inv = np.unique(days, return_inverse=True)
    epoch = dt.date(1970, 1, 1)
    flags = np.array([in_ban(epoch + dt.timedelta(days=int(d))) is not None for d in uniq])
    return flags[inv].astype("float64")


def _day_of_year(days: NDArray[np.int64]) -> NDArray[np.float64]:
    d = days.astype("datetime64[D]")
    return (d - d.astype("datetime64[Y]")).astype(np.int64).astype("float64") + 1.0


def build_features(
    points: pd.DataFrame,
    *,
    context: FeatureContext,
    history: pd.DataFrame | None = None,
    landcover: bool | None = None,
) -> pd.DataFrame:
    """The feature matrix of canonical detections.

    Parameters
    ----------
    points
        Canonical detections (``firewatch.schema.COLUMNS``; at least latitude, longitude,
        acq_time_utc, satellite, instrument, daynight, scan, track, bright_t4, bright_t5, frp,
        confidence_score).
    context
        Registries, land-cover raster and ban periods (:meth:`FeatureContext.from_settings`).
    history
        Earlier detections for the persistence features: columns latitude, longitude, day
        (Beijing days since 1970-01-01), e.g. from :func:`load_history`.  ``None`` uses the
        points themselves.
    landcover
        Whether to add ``lc_cropland``/``lc_builtup``; default: when ``context`` has a raster.

    Returns
    -------
    DataFrame
        Indexed like ``points``, columns :func:`feature_names`, float64 (NaN where unknown).
    """
    lat = points["latitude"].to_numpy(dtype="float64")
    lon = points["longitude"].to_numpy(dtype="float64")
    acq_ns = (
        pd.to_datetime(points["acq_time_utc"], utc=True)
        .to_numpy(dtype="datetime64[ns]")
        .astype(np.int64)
    )
    day = (acq_ns + _BJT_OFFSET_NS) // _DAY_NS
    t4 = points["bright_t4"].to_numpy(dtype="float64")
    t5 = points["bright_t5"].to_numpy(dtype="float64")
    scan = points["scan"].to_numpy(dtype="float64")
    track = points["track"].to_numpy(dtype="float64")
    cols: dict[str, NDArray[Any]] = {
        "frp": points["frp"].to_numpy(dtype="float64"),
        "bright_t4": t4,
        "bright_t5": t5,
        "bt_diff": t4 - t5,
        "confidence_score": points["confidence_score"].to_numpy(dtype="float64"),
        "pixel_area_km2": scan * track,
        "is_night": (points["daynight"].to_numpy(dtype=object) == "N").astype("float64"),
        "is_viirs": (points["instrument"].to_numpy(dtype=object) == "VIIRS").astype("float64"),
    }
    dist, _ = context.sites.nearest(lat, lon)
    cols["dist_industry_km"] = dist
    if history is None:
        h_lat, h_lon, h_day = lat, lon, day
    else:
        h_lat = history["latitude"].to_numpy(dtype="float64")
        h_lon = history["longitude"].to_numpy(dtype="float64")
        h_day = history["day"].to_numpy(dtype=np.int64)
    pers = persistence_counts(
        lat, lon, day, h_lat, h_lon, h_day, radius_km=context.persistence_radius_km
    )
    cols["persist_days_30"] = pers[30].astype("float64")
    cols["persist_days_365"] = pers[365].astype("float64")
    cols["same_pass_5km"] = same_pass_counts(
        lat,
        lon,
        points["satellite"].to_numpy(dtype=object),
        acq_ns,
        radius_km=context.same_pass_radius_km,
    ).astype("float64")
    cols["in_ban_period"] = _ban_flags(day, context.in_ban_period)
    cols["day_of_year"] = _day_of_year(day)
    use_lc = context.landcover is not None if landcover is None else landcover
    if use_lc:
        if context.landcover is None:
            raise ValueError("land-cover features asked for, but no raster is configured")
        cols.update(context.landcover.features(lon, lat))
    return pd.DataFrame(cols, index=points.index).loc[:, feature_names(landcover=use_lc)]
