"""Datum conversion between WGS-84, GCJ-02 (AMap, Tencent) and BD-09 (Baidu), vectorised.

FIRMS and Tianditu use WGS-84 (CGCS2000 agrees within centimetres).  Chinese web maps publish
coordinates in GCJ-02, an obfuscated datum whose offset from WGS-84 is several hundred metres in
Heilongjiang, and Baidu adds a further offset on top of GCJ-02 (BD-09).  A boundary drawn in
GCJ-02 and used with WGS-84 fire points moves every border by that much, so points near borders
land in the wrong county.

The forward GCJ-02 formula is the widely published one (the same as ``eviltransform`` and
``coordtransform``).  It has no closed-form inverse: :func:`gcj02_to_wgs84` iterates the forward
formula until the round trip is exact to better than ``tol`` degrees (1e-9 by default, about
0.1 mm).  :func:`bd09_to_gcj02` likewise refines the usual closed-form approximation so that it
is the exact inverse of :func:`gcj02_to_bd09`.

Points outside the rough bounding box of China that the published algorithm uses are returned
unchanged, as every implementation of the algorithm does (the offset is only applied inside
China).

All functions take and return longitude first (x, y), as arrays; scalars are accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from firewatch.errors import ConfigError

__all__ = [
    "DATUMS",
    "Datum",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "convert",
    "gcj02_offset_m",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "geometries_to_wgs84",
    "normalise_datum",
    "out_of_china",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

log = logging.getLogger(__name__)

Datum = Literal["wgs84", "gcj02", "bd09"]
DATUMS: Final[tuple[str, ...]] = ("wgs84", "gcj02", "bd09")

_ALIASES: Final[dict[str, str]] = {
    "wgs84": "wgs84",
    "wgs-84": "wgs84",
    "wgs_84": "wgs84",
    "epsg:4326": "wgs84",
    "4326": "wgs84",
    "cgcs2000": "wgs84",  # equal to WGS-84 within centimetres
    "epsg:4490": "wgs84",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "gcj_02": "gcj02",
    "mars": "gcj02",
    "amap": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "bd_09": "bd09",
    "baidu": "bd09",
}

# Krasovsky 1940 ellipsoid, as used by the published GCJ-02 algorithm.
_A: Final = 6378245.0
_EE: Final = 0.00669342162296594323
_X_PI: Final = np.pi * 3000.0 / 180.0

FloatArray = NDArray[np.float64]


def normalise_datum(datum: str) -> Datum:
    """Return the canonical datum name (``wgs84``, ``gcj02`` or ``bd09``) for ``datum``.

    Raises
    ------
    ConfigError
        If ``datum`` is not one of the known names or aliases.
    """
    key = str(datum).strip().lower()
    if key not in _ALIASES:
        raise ConfigError(
            f"unknown datum {datum!r}: use one of {', '.join(DATUMS)} "
            "(aliases: WGS-84, CGCS2000, GCJ-02, BD-09)"
        )
    return _ALIASES[key]  # type: ignore[return-value]


def _xy(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(lon, dtype="float64")
    y = np.asarray(lat, dtype="float64")
    x, y = np.broadcast_arrays(x, y)
    return x, y


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where a point lies outside the box in which GCJ-02 applies an offset."""
    x, y = _xy(lon, lat)
    return ~((x >= 72.004) & (x <= 137.8347) & (y >= 0.8293) & (y <= 55.8271))


def _delta(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS-84 in degrees (dlon, dlat) at WGS-84 position (x, y)."""
    u = x - 105.0
    v = y - 35.0
    upi = u * np.pi
    vpi = v * np.pi
    common = (20.0 * np.sin(6.0 * upi) + 20.0 * np.sin(2.0 * upi)) * 2.0 / 3.0
    sq = np.sqrt(np.abs(u))
    dlat = (
        -100.0
        + 2.0 * u
        + 3.0 * v
        + 0.2 * v * v
        + 0.1 * u * v
        + 0.2 * sq
        + common
        + (20.0 * np.sin(vpi) + 40.0 * np.sin(vpi / 3.0)) * 2.0 / 3.0
        + (160.0 * np.sin(vpi / 12.0) + 320.0 * np.sin(vpi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + u
        + 2.0 * v
        + 0.1 * u * u
        + 0.1 * u * v
        + 0.1 * sq
        + common
        + (20.0 * np.sin(upi) + 40.0 * np.sin(upi / 3.0)) * 2.0 / 3.0
        + (150.0 * np.sin(upi / 12.0) + 300.0 * np.sin(upi / 30.0)) * 2.0 / 3.0
    )
    rad = y / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS-84 longitude/latitude (degrees) to GCJ-02."""
    x, y = _xy(lon, lat)
    dx, dy = _delta(x, y)
    keep = out_of_china(x, y)
    return np.where(keep, x, x + dx), np.where(keep, y, y + dy)


def _invert(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    tx: FloatArray,
    ty: FloatArray,
    x: FloatArray,
    y: FloatArray,
    *,
    tol: float,
    max_iter: int,
) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(x, y) == (tx, ty)`` by fixed-point iteration from ``(x, y)``: each step
    moves the estimate by the residual (for offset fields whose Jacobian is nearly the
    identity), until the round trip is within ``tol`` degrees for every finite target."""
    finite = np.isfinite(tx) & np.isfinite(ty)
    for _ in range(max_iter):
        cx, cy = forward(x, y)
        rx, ry = cx - tx, cy - ty
        x, y = x - rx, y - ry
        if not np.any(np.maximum(np.abs(rx), np.abs(ry))[finite] >= tol):
            return x, y
    log.warning(  # pragma: no cover - the iterations here contract by ~1e-4 per step
        "inverting %s: no convergence to %g deg in %d steps", forward.__name__, tol, max_iter
    )
    return x, y


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tol: float = 1e-9, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude (degrees) to WGS-84 by fixed-point iteration.

    Starting from the GCJ-02 position, each step moves the estimate by the residual
    ``wgs84_to_gcj02(estimate) - target``.  The offset field is smooth (its Jacobian is the
    identity to within about 1e-4), so the error shrinks by that factor per step: three or four
    steps reach ``tol``.

    Parameters
    ----------
    lon, lat
        GCJ-02 coordinates in degrees.
    tol
        Stop when the round trip ``wgs84_to_gcj02(result)`` differs from the input by less than
        this many degrees in both axes.  Must be at most 1e-7.
    max_iter
        Safety bound on the number of steps.

    Returns
    -------
    tuple of arrays
        WGS-84 longitude and latitude.
    """
    if not 0 < tol <= 1e-7:
        raise ValueError("tol must be in (0, 1e-7] degrees")
    gx, gy = _xy(lon, lat)
    wx, wy = _invert(wgs84_to_gcj02, gx, gy, gx, gy, tol=tol, max_iter=max_iter)
    # A point whose GCJ-02 position lies outside the box was never shifted.
    keep = out_of_china(gx, gy)
    return np.where(keep, gx, wx), np.where(keep, gy, wy)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude to Baidu's BD-09."""
    x, y = _xy(lon, lat)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, *, tol: float = 1e-10, max_iter: int = 20
) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 longitude/latitude to GCJ-02, the exact inverse of :func:`gcj02_to_bd09`.

    Starts from the usual closed-form approximation (good to about 1e-6 degree) and refines it
    by fixed-point iteration until the round trip is exact to ``tol`` degrees.
    """
    bx, by = _xy(lon, lat)
    x = bx - 0.0065
    y = by - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    start = z * np.cos(theta), z * np.sin(theta)
    return _invert(gcj02_to_bd09, bx, by, *start, tol=tol, max_iter=max_iter)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS-84 to BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 to WGS-84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84(lon: ArrayLike, lat: ArrayLike, datum: str) -> tuple[FloatArray, FloatArray]:
    """Convert coordinates given in ``datum`` (``wgs84``, ``gcj02`` or ``bd09``) to WGS-84."""
    return convert(lon, lat, src=datum, dst="wgs84")


def geometries_to_wgs84(geoms: ArrayLike, datum: str) -> NDArray[np.object_]:
    """Shapely geometries whose longitude/latitude are in ``datum``, converted to WGS-84.

    Every vertex is converted (one vectorised call for all geometries); WGS-84 input comes back
    as it is.  Coordinates must be longitude/latitude, not a projected CRS.
    """
    import shapely

    arr = np.asarray(geoms, dtype=object)
    if normalise_datum(datum) == "wgs84":
        return arr

    def fn(xy: FloatArray) -> FloatArray:
        x, y = to_wgs84(xy[:, 0], xy[:, 1], datum)
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(arr, fn), dtype=object)


def convert(lon: ArrayLike, lat: ArrayLike, *, src: str, dst: str) -> tuple[FloatArray, FloatArray]:
    """Convert coordinates from datum ``src`` to datum ``dst`` (any of :data:`DATUMS`)."""
    s = normalise_datum(src)
    d = normalise_datum(dst)
    x, y = _xy(lon, lat)
    if s == d:
        return x.copy(), y.copy()
    # Every path goes through GCJ-02, the only datum with a direct link to both others.
    if s == "bd09":
        x, y = bd09_to_gcj02(x, y)
    elif s == "wgs84":
        x, y = wgs84_to_gcj02(x, y)
    if d == "gcj02":
        return x, y
    return gcj02_to_wgs84(x, y) if d == "wgs84" else gcj02_to_bd09(x, y)


def gcj02_offset_m(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """East and north GCJ-02 minus WGS-84 offset in metres at WGS-84 positions.

    Useful to state how far a GCJ-02 boundary is off: in Heilongjiang it is several hundred
    metres, mostly eastward.
    """
    x, y = _xy(lon, lat)
    gx, gy = wgs84_to_gcj02(x, y)
    # Local metres per degree on the WGS-84 ellipsoid (meridian and prime-vertical radii).
    a = 6378137.0
    e2 = 0.00669437999014
    phi = np.radians(y)
    w = np.sqrt(1.0 - e2 * np.sin(phi) ** 2)
    m_lat = np.pi / 180.0 * a * (1.0 - e2) / w**3
    m_lon = np.pi / 180.0 * a / w * np.cos(phi)
    return (gx - x) * m_lon, (gy - y) * m_lat
