"""The ground footprint of a satellite fire pixel, as a rectangle.

FIRMS publishes each detection as the centre of a pixel and the pixel's size along the scan
(``scan``, km, across the satellite's ground track) and along the track (``track``, km).  A
375 m VIIRS pixel grows to about 0.8 km at the edge of the swath and a 1 km MODIS pixel to
about 4.8 × 2 km, so a pixel often straddles two villages.

Approximation used here (and documented in ``grids/README.md``):

* The footprint is a rectangle of ``scan`` × ``track`` km centred on the published position.
  The real pixel response is smoother than a box, MODIS/VIIRS pixels overlap along the track
  ("bow-tie"), and geolocation error is of the order of the pixel; none of that is modelled.
* The track axis follows the satellite's ground track.  For a sun-synchronous orbit of
  inclination ``i`` the inertial heading ``β`` at latitude ``φ`` obeys ``sin β = cos i / cos φ``;
  the Earth's rotation (465 m/s × cos φ eastward under a ~6.8 km/s ground speed) is subtracted.
  Over Heilongjiang this tilts the scan axis by about ±15° from east: ``+`` on ascending passes
  (Aqua, S-NPP, NOAA-20/21 by day; Terra by night), ``−`` on descending ones.  When the satellite
  or day/night flag is unknown the axis is taken as east–west (error ≤ 16°).
* Kilometres are converted to degrees with the WGS-84 meridian and prime-vertical radii at the
  pixel's latitude (a local equirectangular frame; the error over a few km is < 0.1%).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "ASCENDING_BY_DAY",
    "INCLINATION_DEG",
    "footprint_angle",
    "footprint_polygons",
    "km_per_degree",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: Orbit inclinations (degrees) of the fire-detecting satellites.
INCLINATION_DEG: Final[dict[str, float]] = {
    "Terra": 98.2,
    "Aqua": 98.2,
    "S-NPP": 98.7,
    "NOAA-20": 98.7,
    "NOAA-21": 98.7,
}
#: Satellites whose daytime pass is ascending (afternoon orbits); Terra's is descending.
ASCENDING_BY_DAY: Final[dict[str, bool]] = {
    "Terra": False,
    "Aqua": True,
    "S-NPP": True,
    "NOAA-20": True,
    "NOAA-21": True,
}
_DAYNIGHT: Final[dict[str, str]] = {"D": "D", "d": "D", "N": "N", "n": "N"}
_GROUND_SPEED_KM_S: Final = 6.8  # sub-satellite point speed, ~700-830 km orbits
_EARTH_EQ_SPEED_KM_S: Final = 0.4651  # Earth's rotation at the equator

_A: Final = 6378.137  # WGS-84 semi-major axis, km
_E2: Final = 0.00669437999014


def km_per_degree(lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Kilometres per degree of longitude and of latitude at ``lat`` on the WGS-84 ellipsoid."""
    phi = np.radians(np.asarray(lat, dtype="float64"))
    w = np.sqrt(1.0 - _E2 * np.sin(phi) ** 2)
    per_lat = np.pi / 180.0 * _A * (1.0 - _E2) / w**3
    per_lon = np.pi / 180.0 * _A / w * np.cos(phi)
    return per_lon, per_lat


def _factorize(values: NDArray[np.object_]) -> tuple[IntArray, NDArray[np.object_]]:
    """Codes and distinct values, missing values (None/NaN) coded as one more value ``None``.

    (pandas' NA sentinel path is about twice as fast on object arrays as
    ``use_na_sentinel=False``.)
    """
    code, uniq = pd.factorize(values)
    vals = np.empty(len(uniq) + 1, dtype=object)
    vals[: len(uniq)] = np.asarray(uniq, dtype=object)
    vals[-1] = None
    return np.where(code < 0, len(uniq), code), vals


def footprint_angle(
    lat: ArrayLike,
    satellite: ArrayLike | None = None,
    daynight: ArrayLike | None = None,
) -> FloatArray:
    """Angle (radians, counter-clockwise from east) of each pixel's scan axis.

    Parameters
    ----------
    lat
        Pixel latitudes, degrees.
    satellite
        Canonical satellite names (``Terra``, ``Aqua``, ``S-NPP``, ``NOAA-20``, ``NOAA-21``).
    daynight
        ``D`` or ``N``.

    Returns
    -------
    numpy.ndarray
        0 where the satellite or the day/night flag is unknown.
    """
    phi = np.radians(np.asarray(lat, dtype="float64"))
    n = phi.shape[0] if phi.ndim else 1
    sat = np.asarray(satellite, dtype=object) if satellite is not None else np.full(n, None)
    dn = np.asarray(daynight, dtype=object) if daynight is not None else np.full(n, None)
    # Work on the few distinct values (a million rows have a handful), then broadcast.
    sat_code, sat_vals = _factorize(sat)
    dn_code, dn_vals = _factorize(dn)
    incl_u = np.array([INCLINATION_DEG.get(v, np.nan) for v in sat_vals], dtype="float64")
    asc_u = np.array([ASCENDING_BY_DAY.get(v) for v in sat_vals], dtype=object)
    flag_u = np.array(
        [_DAYNIGHT.get(str(v).strip()[:1]) if isinstance(v, str) else None for v in dn_vals],
        dtype=object,
    )
    # Per (satellite, day/night): +1 for an ascending pass, -1 descending, 0 unknown.
    asc = np.array([a is True for a in asc_u])[:, None]
    sat_known = np.array([a is not None for a in asc_u])[:, None] & np.isfinite(incl_u)[:, None]
    day = (flag_u == "D")[None, :]
    night = (flag_u == "N")[None, :]
    sign_u = np.where(sat_known & (day | night), np.where(asc == day, 1.0, -1.0), 0.0)
    sign = sign_u[sat_code, dn_code]
    cos_phi = np.cos(phi)
    cos_incl = np.cos(np.radians(np.nan_to_num(incl_u, nan=98.5)))[sat_code]
    # The inertial heading of an ascending pass, from north, has sine s (negative: west);
    # a descending pass heads at pi minus that: the same sine, the opposite cosine.
    s = np.clip(cos_incl / cos_phi, -1.0, 1.0)
    east = _GROUND_SPEED_KM_S * s - _EARTH_EQ_SPEED_KM_S * cos_phi
    north = _GROUND_SPEED_KM_S * np.sqrt(1.0 - s * s) * np.where(sign < 0, -1.0, 1.0)
    alpha = np.arctan2(east, north)  # heading over the rotating Earth, clockwise from north
    # The scan axis is the heading turned 90° clockwise, as an axis: fold -alpha into
    # [-pi/2, pi/2).
    theta = -alpha
    theta = np.where(
        theta >= np.pi / 2, theta - np.pi, np.where(theta < -np.pi / 2, theta + np.pi, theta)
    )
    return np.where(sign != 0, theta, 0.0).astype("float64")


def footprint_polygons(
    lon: ArrayLike,
    lat: ArrayLike,
    scan_km: ArrayLike,
    track_km: ArrayLike,
    angle: ArrayLike,
) -> NDArray[np.object_]:
    """Footprint rectangles (WGS-84 lon/lat polygons) of pixels centred at ``lon``, ``lat``."""
    x = np.asarray(lon, dtype="float64")
    y = np.asarray(lat, dtype="float64")
    a = np.asarray(scan_km, dtype="float64") / 2.0
    b = np.asarray(track_km, dtype="float64") / 2.0
    th = np.broadcast_to(np.asarray(angle, dtype="float64"), x.shape)
    kx, ky = km_per_degree(y)
    c, s = np.cos(th), np.sin(th)
    us = np.array([-1.0, 1.0, 1.0, -1.0, -1.0])
    vs = np.array([-1.0, -1.0, 1.0, 1.0, -1.0])
    u = a[:, None] * us[None, :]
    v = b[:, None] * vs[None, :]
    e = u * c[:, None] - v * s[:, None]
    nn = u * s[:, None] + v * c[:, None]
    coords = np.stack([x[:, None] + e / kx[:, None], y[:, None] + nn / ky[:, None]], axis=-1)
    return shapely.polygons(coords)
