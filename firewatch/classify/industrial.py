"""Registries of known industrial heat sources and the distance from detections to them.

Three registries are combined:

* thermal power plants of the WRI Global Power Plant Database (coal, gas, oil, biomass, waste;
  wind, solar and hydro plants emit no heat and are left out), bundled in
  ``firewatch/data/industrial/gppd_power_plants_hlj.csv``;
* gas flares and refineries of the EOG VIIRS Nightfire 2017 site list, bundled in
  ``firewatch/data/industrial/vnf_flares_2017_hlj.csv``;
* a user-maintained CSV of factories, coke ovens, kilns, steel and cement works
  (``Settings.classify.industrial_registry_path``), whose format is documented in
  ``firewatch/data/industrial/README.md`` and in :func:`read_user_registry`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from firewatch.classify._deps import require
from firewatch.classify.geo import arc_km, to_xyz
from firewatch.errors import FirewatchError

__all__ = [
    "BUNDLED_DIR",
    "USER_KINDS",
    "IndustrialRegistryError",
    "RegistryProblem",
    "SiteIndex",
    "load_bundled_sites",
    "load_sites",
    "read_user_registry",
]

log = logging.getLogger(__name__)

BUNDLED_DIR: Final = Path(__file__).resolve().parent.parent / "data" / "industrial"

#: GPPD fuels that burn something on site (the others cannot show up as a hot spot).
THERMAL_FUELS: Final = ("Coal", "Gas", "Oil", "Petcoke", "Biomass", "Waste", "Cogeneration")

#: Kinds a user registry may name.
USER_KINDS: Final = (
    "factory",
    "coke_oven",
    "kiln",
    "steel",
    "cement",
    "power",
    "refinery",
    "flare",
    "chemical",
    "waste_incinerator",
    "other",
)

#: How far from a registered site a detection still counts as "at" the site (km).  Flare
#: positions come from VIIRS itself (750 m pixels); GPPD plant positions are often a
#: kilometre off the stacks, so they get more room.
DEFAULT_RADIUS_KM: Final = {"flare": 1.0, "refinery": 1.5, "power": 1.5}
USER_DEFAULT_RADIUS_KM: Final = 1.0

SITE_COLUMNS: Final = ("site_id", "name", "kind", "source", "latitude", "longitude", "radius_km")


class IndustrialRegistryError(FirewatchError, ValueError):
    """A user registry of industrial sites was refused whole (not readable, columns missing)."""


@dataclass(frozen=True)
class RegistryProblem:
    """A row of the user registry that was skipped: where and why."""

    origin: str
    line: int
    reason: str


def load_bundled_sites(directory: str | Path = BUNDLED_DIR) -> pd.DataFrame:
    """Thermal power plants and flare sites bundled with firewatch (columns :data:`SITE_COLUMNS`)."""
    directory = Path(directory)
    gppd = pd.read_csv(directory / "gppd_power_plants_hlj.csv")
    gppd = gppd.loc[gppd["primary_fuel"].isin(THERMAL_FUELS)]
    plants = pd.DataFrame(
        {
            "site_id": "gppd:" + gppd["name"],
            "name": gppd["name"] + " (" + gppd["primary_fuel"].str.lower() + ")",
            "kind": "power",
            "source": "GPPD",
            "latitude": gppd["latitude"],
            "longitude": gppd["longitude"],
            "radius_km": DEFAULT_RADIUS_KM["power"],
        }
    )
    vnf = pd.read_csv(directory / "vnf_flares_2017_hlj.csv")
    kind = np.where(vnf["type"].eq("refinery"), "refinery", "flare")
    flares = pd.DataFrame(
        {
            "site_id": "vnf:" + vnf["id_key_2017"].astype(str),
            "name": np.where(kind == "refinery", "refinery", "gas flare")
            + " (VIIRS Nightfire 2017 #"
            + vnf["id_key_2017"].astype(str)
            + ")",
            "kind": kind,
            "source": "VIIRS Nightfire",
            "latitude": vnf["latitude"],
            "longitude": vnf["longitude"],
            "radius_km": [DEFAULT_RADIUS_KM[k] for k in kind],
        }
    )
    return pd.concat([plants, flares], ignore_index=True).loc[:, list(SITE_COLUMNS)]


def read_user_registry(path: str | Path) -> tuple[pd.DataFrame, list[RegistryProblem]]:
    """Read a user-maintained registry of industrial heat sources.

    The file is CSV (UTF-8, an Excel BOM is fine) with a header row and the columns

    ``name``
        what the site is, e.g. ``七台河某焦化厂`` (required);
    ``kind``
        one of :data:`USER_KINDS` (required);
    ``latitude``, ``longitude``
        decimal degrees (required);
    ``radius_km``
        how close a detection must be to count as at the site (optional, default 1.0, 0.1–10);
    ``datum``
        ``wgs84`` (default), ``gcj02`` (AMap, Tencent) or ``bd09`` (Baidu): converted to WGS-84;
    ``note``
        free text (optional, ignored).

    Returns
    -------
    sites
        The good rows (columns :data:`SITE_COLUMNS`).
    problems
        The skipped rows with their line (the header is line 1) and reason.

    Raises
    ------
    IndustrialRegistryError
        If the file cannot be read or a required column is missing; nothing is used then.
    """
    from firewatch.spatial.datum import to_wgs84

    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise IndustrialRegistryError(f"{path.name}: not a readable CSV file ({exc})") from exc
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in ("name", "kind", "latitude", "longitude") if c not in raw.columns]
    if missing:
        raise IndustrialRegistryError(
            f"{path.name}: missing column(s) {', '.join(missing)}; "
            f"the columns are name, kind, latitude, longitude[, radius_km, datum, note]"
        )
    line = pd.Series(np.arange(len(raw)) + 2, index=raw.index)
    name = raw["name"].str.strip()
    kind = raw["kind"].str.strip().str.lower()
    lat = pd.to_numeric(raw["latitude"].str.strip(), errors="coerce")
    lon = pd.to_numeric(raw["longitude"].str.strip(), errors="coerce")
    radius = (
        pd.to_numeric(
            raw["radius_km"].str.strip().replace("", str(USER_DEFAULT_RADIUS_KM)), errors="coerce"
        )
        if "radius_km" in raw
        else pd.Series(USER_DEFAULT_RADIUS_KM, index=raw.index)
    )
    datum = (
        raw["datum"].str.strip().str.lower().replace("", "wgs84")
        if "datum" in raw
        else pd.Series("wgs84", index=raw.index)
    )
    reasons = pd.Series("", index=raw.index)

    def flag(mask: pd.Series, reason: str) -> None:
        reasons.loc[mask & reasons.eq("")] = reason

    flag(name.eq(""), "empty name")
    flag(~kind.isin(USER_KINDS), f"kind must be one of {', '.join(USER_KINDS)}")
    flag(lat.isna() | ~lat.between(-90, 90), "latitude is not a number in -90..90")
    flag(lon.isna() | ~lon.between(-180, 180), "longitude is not a number in -180..180")
    flag(radius.isna() | ~radius.between(0.1, 10), "radius_km must be a number in 0.1..10")
    flag(~datum.isin(["wgs84", "gcj02", "bd09"]), "datum must be wgs84, gcj02 or bd09")
    bad = reasons.ne("")
    problems = [
        RegistryProblem(origin=path.name, line=int(ln), reason=r)
        for ln, r in zip(line[bad], reasons[bad], strict=True)
    ]
    for p in problems:
        log.warning("%s line %d skipped: %s", p.origin, p.line, p.reason)
    ok = ~bad
    wlon = lon[ok].to_numpy(dtype="float64")
    wlat = lat[ok].to_numpy(dtype="float64")
    for d in ("gcj02", "bd09"):
        m = (datum[ok] == d).to_numpy()
        if m.any():
            wlon[m], wlat[m] = to_wgs84(wlon[m], wlat[m], d)
    sites = pd.DataFrame(
        {
            "site_id": "user:" + line[ok].astype(str),
            "name": name[ok],
            "kind": kind[ok],
            "source": f"user registry {path.name}",
            "latitude": wlat,
            "longitude": wlon,
            "radius_km": radius[ok].astype("float64"),
        }
    ).reset_index(drop=True)
    return sites, problems


def load_sites(registry_path: str | Path | None = None) -> pd.DataFrame:
    """The bundled registries plus, when given, the user's registry (bad user rows skipped)."""
    sites = load_bundled_sites()
    if registry_path is not None:
        user, _problems = read_user_registry(registry_path)
        sites = pd.concat([sites, user], ignore_index=True)
    return sites


class SiteIndex:
    """Nearest registered industrial site for many points at once (a KD-tree on the sphere)."""

    def __init__(self, sites: pd.DataFrame) -> None:
        spatial = require("scipy.spatial")
        self.sites = sites.reset_index(drop=True).loc[:, list(SITE_COLUMNS)]
        xyz = to_xyz(self.sites["latitude"], self.sites["longitude"])
        self._tree: Any = spatial.cKDTree(xyz) if len(xyz) else None

    @classmethod
    def from_settings(cls, settings: Any) -> SiteIndex:
        """Bundled registries plus ``settings.classify.industrial_registry_path``."""
        return cls(load_sites(settings.classify.industrial_registry_path))

    def __len__(self) -> int:
        return len(self.sites)

    def nearest(
        self, lat: ArrayLike, lon: ArrayLike, *, max_km: float = 100.0
    ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """Distance (km, capped at ``max_km``) and row of the nearest site for each point.

        The row is -1 where no site lies within ``max_km``.
        """
        pts = to_xyz(lat, lon)
        n = len(pts)
        if self._tree is None or n == 0:
            return np.full(n, max_km), np.full(n, -1, dtype=np.int64)
        chord, idx = self._tree.query(pts, k=1, distance_upper_bound=max_km * 1.01)
        dist = arc_km(chord)
        far = ~np.isfinite(dist) | (dist > max_km)
        dist = np.where(far, max_km, dist)
        idx = np.where(far, -1, idx).astype(np.int64)
        return dist, idx

    def within_radius(self, lat: ArrayLike, lon: ArrayLike) -> NDArray[np.bool_]:
        """Whether each point lies within its nearest site's radius (see :data:`DEFAULT_RADIUS_KM`)."""
        dist, idx = self.nearest(lat, lon)
        radius = np.where(idx >= 0, self.sites["radius_km"].to_numpy()[np.maximum(idx, 0)], 0.0)
        return (idx >= 0) & (dist <= radius)
