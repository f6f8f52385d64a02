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
from typing import Any

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


def _project_km(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x, y in km on an equal-area azimuthal projection centred on the points (distances within
    1% over a province: candidates are searched with that margin and tested on the sphere)."""
    from pyproj import Transformer

    laea = (
        f"+proj=laea +lat_0={float(np.mean(lat)):.4f} +lon_0={float(np.mean(lon)):.4f} "
        "+units=km +ellps=WGS84"
    )
    x, y = Transformer.from_crs("EPSG:4326", laea, always_xy=True).transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _close(
    lat: np.ndarray, lon: np.ndarray, i: np.ndarray, j: np.ndarray, distance_km: float
) -> np.ndarray:
    """Which candidate pairs are within ``distance_km`` on the sphere (chord = arc to < 1 mm)."""
    d2 = ((_xyz_km(lat[i], lon[i]) - _xyz_km(lat[j], lon[j])) ** 2).sum(axis=1)
    return d2 <= distance_km**2


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
    x, y = _project_km(lat, lon)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    # Day by day (a loop over days, not points): same-day pairs give each day's components and
    # the overpass counts; neighbouring days are then linked component to component, so the
    # graph stays small even where fires are dense.
    r = dist * 1.01
    days = np.unique(day_int)
    order_by_day = np.argsort(day_int, kind="stable")
    groups = np.split(order_by_day, np.searchsorted(day_int[order_by_day], days)[1:])
    trees: dict[int, tuple[np.ndarray, Any]] = {}
    comp = np.empty(n, dtype=np.int64)  # day-component of each detection, numbered globally
    n_over = np.ones(n, dtype=np.int64)
    width = int(over.max()) + 1
    n_comp = 0
    links_a: list[np.ndarray] = []
    links_b: list[np.ndarray] = []
    n_links = 0
    for d, rows in zip(days.tolist(), groups, strict=True):
        tree = cKDTree(np.column_stack((x[rows], y[rows])))
        trees[d] = (rows, tree)
        pairs = tree.query_pairs(r, output_type="ndarray")
        i, j = rows[pairs[:, 0]], rows[pairs[:, 1]]
        keep = _close(lat, lon, i, j, dist)
        i, j = i[keep], j[keep]
        n_links += len(i)
        # the day's components (pairs are positions within the day's rows)
        ri, rj, m = pairs[:, 0][keep], pairs[:, 1][keep], len(rows)
        g = coo_matrix((np.ones(len(ri), dtype=np.int8), (ri, rj)), shape=(m, m))
        k, lab = connected_components(g, directed=False)
        comp[rows] = lab + n_comp
        n_comp += k
        # distinct same-regime overpasses around each detection (itself included)
        same = daytime[i] == daytime[j]
        a = np.concatenate((rows, i[same], j[same]))
        b = np.concatenate((over[rows], over[j[same]], over[i[same]]))
        keys = np.unique(a * width + b) // width  # detection of each distinct pair
        n_over[rows] = np.bincount(np.searchsorted(rows, keys), minlength=m)
        # links to the previous gap_days days
        for back in range(1, gap + 1):
            if d - back not in trees:
                continue
            prev_rows, prev_tree = trees[d - back]
            sdm = tree.sparse_distance_matrix(prev_tree, r, output_type="ndarray")
            if len(sdm) == 0:
                continue
            ci = rows[sdm["i"]]
            cj = prev_rows[sdm["j"]]
            ok = _close(lat, lon, ci, cj, dist)
            n_links += int(ok.sum())
            key = np.unique(comp[ci[ok]] * n + comp[cj[ok]])  # distinct component pairs
            links_a.append(key // n)
            links_b.append(key % n)
        for old_day in [k for k in trees if k <= d - gap]:  # not needed by later days
            del trees[old_day]
    la = np.concatenate(links_a) if links_a else np.zeros(0, np.int64)
    lb = np.concatenate(links_b) if links_b else np.zeros(0, np.int64)
    cgraph = coo_matrix((np.ones(len(la), dtype=np.int8), (la, lb)), shape=(n_comp, n_comp))
    _, comp_event = connected_components(cgraph, directed=False)
    labels = comp_event[comp]

    # Number events by their first detection in time (then by row) so ids are reproducible.
    t = pd.to_datetime(frame["acq_time_utc"], utc=True).to_numpy(dtype="datetime64[ns]")
    order = np.lexsort((np.arange(n), t))
    first_rank = np.full(labels.max() + 1, n, dtype=np.int64)
    np.minimum.at(first_rank, labels[order], np.arange(n))
    event_rank = np.empty_like(first_rank)
    event_rank[np.argsort(first_rank, kind="stable")] = np.arange(len(first_rank))
    event_id = event_rank[labels] + 1

    log.debug("%d detections -> %d events (%d links)", n, event_id.max(), n_links)
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
    from firewatch.publish.season.fre import ENERGY_COLUMNS  # fre imports this module

    for c in ENERGY_COLUMNS:
        if c in detections.columns:
            out[c] = g[c].sum()
    name_of_code = {"county_code", "county_name"} <= set(detections.columns)
    for c in ("county_code", "county_name", "city_code", "city_name"):
        if c == "county_name" and name_of_code:
            out[c] = None  # its place in the table; filled below from the chosen code
        elif c in detections.columns:
            out[c] = _mode(detections[c], detections["event_id"]).reindex(out.index)
    if name_of_code:
        # the name of the chosen code, not an independent mode
        names = (
            detections.dropna(subset=["county_code"])
            .drop_duplicates("county_code")
            .set_index("county_code")["county_name"]
        )
        out["county_name"] = out["county_code"].map(names)
    out.index.name = "event_id"
    return out
