"""Fire events: detections close in space and time, found without a Python loop per point.

Two detections are *linked* when they are at most ``event_distance_km`` apart (great-circle, via
the chord on a sphere, which differs by less than a millimetre at these distances) and their
Beijing days differ by at most ``event_gap_days``.  An event is a connected component of that
graph (single linkage): a field burning over two days, or a row of adjacent fields lit one after
another, is one event.

The neighbour pairs come from one :class:`scipy.spatial.cKDTree` query in three dimensions
(x, y in km on an equal-area projection centred on the data, and the day scaled so that
``gap_days`` days weigh as much as ``distance_km``), followed by an exact test of both conditions
on the candidate pairs (distance on the sphere).

The same pairs give, for every detection, how many distinct overpasses of the same regime (day or
night) saw fire within ``event_distance_km`` of it on the same day: the divisor that keeps two
overpasses of one fire from counting its energy twice (see :mod:`~firewatch.publish.season.fre`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from firewatch.errors import FirewatchError
from firewatch.publish.season.settings import SeasonSettings

__all__ = [
    "EARTH_RADIUS_KM",
    "EventLinks",
    "beijing_days",
    "event_table",
    "find_events",
    "overpass_ids",
    "solar_hours",
]

log = logging.getLogger(__name__)

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)

_REQUIRED = ("latitude", "longitude", "acq_time_utc", "frp")


class SeasonInputError(FirewatchError, ValueError):
    """A detections frame lacks what the seasonal analysis needs."""


def _check(frame: pd.DataFrame, columns: tuple[str, ...] = _REQUIRED) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SeasonInputError(f"detections frame lacks column(s): {', '.join(missing)}")


def beijing_days(frame: pd.DataFrame) -> pd.Series:
    """The Beijing-time day of each detection, as a tz-naive ``datetime64[ns]`` at midnight."""
    if "acq_time_bjt" in frame.columns:
        t = pd.to_datetime(frame["acq_time_bjt"])
        if t.dt.tz is not None:
            t = t.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    else:
        t = pd.to_datetime(frame["acq_time_utc"], utc=True).dt.tz_convert("Asia/Shanghai")
        t = t.dt.tz_localize(None)
    return t.dt.floor("D")


def solar_hours(frame: pd.DataFrame) -> np.ndarray:
    """Local mean solar time in hours (0–24): UTC hour + longitude / 15.

    The equation of time (at most about ±16 minutes) is ignored: it is small against the width of
    the diurnal cycle.
    """
    t = pd.to_datetime(frame["acq_time_utc"], utc=True)
    utc_h = (
        t.dt.hour.to_numpy(float)
        + t.dt.minute.to_numpy(float) / 60.0
        + t.dt.second.to_numpy(float) / 3600.0
    )
    return np.mod(utc_h + frame["longitude"].to_numpy(float) / 15.0, 24.0)


def _regime(frame: pd.DataFrame, solar: np.ndarray) -> np.ndarray:
    """``True`` for daytime detections: FIRMS's ``daynight`` flag, else 06–18 solar time."""
    fallback = (solar >= 6.0) & (solar < 18.0)
    if "daynight" not in frame.columns:
        return fallback
    dn = frame["daynight"].to_numpy(dtype=object)
    is_day = (dn == "D") | (dn == "d")
    is_night = (dn == "N") | (dn == "n")
    return np.where(is_day | is_night, is_day, fallback)


def overpass_ids(frame: pd.DataFrame, *, gap_minutes: float = 20.0) -> np.ndarray:
    """Number the satellite overpasses: one id per satellite pass over the region.

    Detections of one satellite belong to the same overpass while consecutive acquisition times
    are less than ``gap_minutes`` apart (a polar orbit passes again only after ~100 minutes).
    Ids are 0-based in order of (satellite, time).
    """
    n = len(frame)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    sat = (
        frame["satellite"].astype("string").fillna("?").to_numpy(dtype=object)
        if "satellite" in frame.columns
        else np.full(n, "?", dtype=object)
    )
    t = pd.to_datetime(frame["acq_time_utc"], utc=True).to_numpy(dtype="datetime64[ns]")
    sat_codes, _ = pd.factorize(sat, sort=True)
    order = np.lexsort((t, sat_codes))
    ts = t[order].astype(np.int64)
    ss = sat_codes[order]
    new = np.ones(n, dtype=bool)
    new[1:] = (ss[1:] != ss[:-1]) | (np.diff(ts) > gap_minutes * 60e9)
    ids_sorted = np.cumsum(new) - 1
    out = np.empty(n, dtype=np.int64)
    out[order] = ids_sorted
    return out


def _xyz_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi = np.radians(lat)
    lam = np.radians(lon)
    c = np.cos(phi)
    return EARTH_RADIUS_KM * np.column_stack((c * np.cos(lam), c * np.sin(lam), np.sin(phi)))


@dataclass(frozen=True)
class EventLinks:
    """Per-detection results of :func:`find_events`, aligned with the input frame's rows.

    Attributes
    ----------
    day
        Beijing-time day (tz-naive midnight).
    overpass_id
        Satellite overpass number (see :func:`overpass_ids`).
    event_id
        1-based event number, in order of each event's first detection.
    n_overpasses
        Distinct overpasses of the same regime that saw fire within ``distance_km`` on the same
        day (at least 1: the detection's own).
    daytime
        ``True`` for daytime detections.
    solar_hour
        Local mean solar time of the acquisition, hours.
    """

    day: np.ndarray
    overpass_id: np.ndarray
    event_id: np.ndarray
    n_overpasses: np.ndarray
    daytime: np.ndarray
    solar_hour: np.ndarray

    def frame(self, index: pd.Index) -> pd.DataFrame:
        """These results as a DataFrame with the given index."""
        return pd.DataFrame(
            {
                "day": self.day,
                "overpass_id": self.overpass_id,
                "event_id": self.event_id,
                "n_overpasses": self.n_overpasses,
                "daytime": self.daytime,
                "solar_hour": self.solar_hour,
            },
            index=index,
        )


def _pairs(
    lat: np.ndarray, lon: np.ndarray, day: np.ndarray, *, distance_km: float, gap_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)``, ``i < j``, within ``distance_km`` and ``gap_days`` of each other."""
    from pyproj import Transformer
    from scipy.spatial import cKDTree

    if len(lat) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # Candidates from a 3-D tree: x, y on an equal-area azimuthal projection centred on the data
    # (distances within 1% over a province), and the day scaled so that gap_days weighs
    # distance_km; both conditions then hold only inside a ball of radius distance_km * sqrt(2).
    laea = (
        f"+proj=laea +lat_0={float(np.mean(lat)):.4f} +lon_0={float(np.mean(lon)):.4f} "
        "+units=km +ellps=WGS84"
    )
    x, y = Transformer.from_crs("EPSG:4326", laea, always_xy=True).transform(lon, lat)
    scale = distance_km / gap_days if gap_days > 0 else 2.0 * distance_km
    pts = np.column_stack((x, y, day.astype(float) * scale))
    tree = cKDTree(pts, balanced_tree=False, compact_nodes=False)
    pairs = tree.query_pairs(distance_km * np.sqrt(2.0) * 1.01, output_type="ndarray")
    if len(pairs) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    i, j = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    # The exact test on the sphere (chord length; it equals the arc to < 1 mm at 1 km).
    xyz_i = _xyz_km(lat[i], lon[i])
    xyz_j = _xyz_km(lat[j], lon[j])
    d2 = ((xyz_i - xyz_j) ** 2).sum(axis=1)
    keep = (d2 <= distance_km**2) & (np.abs(day[i] - day[j]) <= gap_days)
    return i[keep], j[keep]


def find_events(
    frame: pd.DataFrame,
    *,
    settings: SeasonSettings | None = None,
    distance_km: float | None = None,
    gap_days: int | None = None,
    gap_minutes: float | None = None,
) -> EventLinks:
    """Group detections into fire events and count overlapping overpasses.

    Parameters
    ----------
    frame
        Canonical detections (at least latitude, longitude, acq_time_utc, frp; satellite and
        daynight are used when present).
    settings
        Season settings; ``distance_km``, ``gap_days`` and ``gap_minutes`` override them.

    Returns
    -------
    EventLinks
        Arrays aligned with the rows of ``frame``.
    """
    _check(frame)
    cfg = settings or SeasonSettings()
    dist = float(distance_km if distance_km is not None else cfg.event_distance_km)
    gap = int(gap_days if gap_days is not None else cfg.event_gap_days)
    gap_min = float(gap_minutes if gap_minutes is not None else cfg.overpass_gap_minutes)
    n = len(frame)

    day = beijing_days(frame).to_numpy(dtype="datetime64[ns]")
    day_int = day.astype("datetime64[D]").astype(np.int64)
    solar = solar_hours(frame)
    daytime = _regime(frame, solar)
    over = overpass_ids(frame, gap_minutes=gap_min)
    if n == 0:
        z = np.zeros(0, np.int64)
        return EventLinks(day, over, z, z, daytime, solar)

    lat = frame["latitude"].to_numpy(float)
    lon = frame["longitude"].to_numpy(float)
    if not (np.isfinite(lat).all() and np.isfinite(lon).all()):
        raise SeasonInputError("detections with missing coordinates cannot be grouped")
    i, j = _pairs(lat, lon, day_int, distance_km=dist, gap_days=gap)

    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)

    # Number events by their first detection in time (then by row) so ids are reproducible.
    t = pd.to_datetime(frame["acq_time_utc"], utc=True).to_numpy(dtype="datetime64[ns]")
    order = np.lexsort((np.arange(n), t))
    first_rank = np.full(labels.max() + 1, n, dtype=np.int64)
    np.minimum.at(first_rank, labels[order], np.arange(n))
    event_rank = np.empty_like(first_rank)
    event_rank[np.argsort(first_rank, kind="stable")] = np.arange(len(first_rank))
    event_id = event_rank[labels] + 1

    # Distinct same-day, same-regime overpasses around each detection (itself included).
    same = (day_int[i] == day_int[j]) & (daytime[i] == daytime[j])
    a = np.concatenate((np.arange(n), i[same], j[same]))
    b = np.concatenate((over, over[j[same]], over[i[same]]))
    width = int(over.max()) + 1
    n_over = np.bincount(np.unique(a * width + b) // width, minlength=n).astype(np.int64)

    log.debug("%d detections -> %d events (%d links)", n, event_id.max(), len(i))
    return EventLinks(day, over, event_id.astype(np.int64), n_over, daytime, solar)


def _mode(values: pd.Series, groups: pd.Series) -> pd.Series:
    """Most frequent non-null value per group (ties: the smallest value)."""
    df = pd.DataFrame({"g": groups.to_numpy(), "v": values.to_numpy()}).dropna()
    if df.empty:
        return pd.Series(dtype=object)
    counts = df.value_counts(["g", "v"]).reset_index(name="n")
    counts = counts.sort_values(["g", "n", "v"], ascending=[True, False, True])
    return counts.drop_duplicates("g").set_index("g")["v"]


def event_table(detections: pd.DataFrame) -> pd.DataFrame:
    """One row per fire event, from detections that carry ``event_id`` (and FRE columns).

    Parameters
    ----------
    detections
        Detections with the columns of :func:`~firewatch.publish.season.fre.estimate_fre` joined
        (``event_id``, ``day``, ``overpass_id``, ``fre_mj``, ...).  Attribution columns
        (``county_code``, ``county_name``, ``city_code``, ``city_name``) are carried when present:
        an event belongs to the county holding most of its detections.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``event_id``: first/last acquisition (UTC), days, detections, overpasses,
        centroid, bounding box, FRP max and sum, FRE and dry matter with their ranges, county.
    """
    _check(detections, ("event_id", "latitude", "longitude", "acq_time_utc", "frp"))
    g = detections.groupby("event_id", sort=True)
    out = pd.DataFrame(
        {
            "first_utc": g["acq_time_utc"].min(),
            "last_utc": g["acq_time_utc"].max(),
            "n_detections": g.size(),
            "latitude": g["latitude"].mean(),
            "longitude": g["longitude"].mean(),
            "lat_min": g["latitude"].min(),
            "lat_max": g["latitude"].max(),
            "lon_min": g["longitude"].min(),
            "lon_max": g["longitude"].max(),
            "frp_max": g["frp"].max(),
            "frp_sum": g["frp"].sum(),
        }
    )
    if "day" in detections.columns:
        out.insert(2, "n_days", g["day"].nunique())
    if "overpass_id" in detections.columns:
        out.insert(3, "n_overpasses", g["overpass_id"].nunique())
    for c in (
        "fre_mj",
        "fre_mj_low",
        "fre_mj_high",
        "dry_matter_t",
        "dry_matter_t_low",
        "dry_matter_t_high",
    ):
        if c in detections.columns:
            out[c] = g[c].sum()
    for c in ("county_code", "county_name", "city_code", "city_name"):
        if c in detections.columns:
            out[c] = _mode(detections[c], detections["event_id"]).reindex(out.index)
    if "county_code" in detections.columns and "county_name" in detections.columns:
        # the name of the chosen code, not an independent mode
        names = (
            detections.dropna(subset=["county_code"])
            .drop_duplicates("county_code")
            .set_index("county_code")["county_name"]
        )
        out["county_name"] = out["county_code"].map(names)
    out.index.name = "event_id"
    return out
