"""Small geodesy helpers shared by the feature builders (vectorised, no per-point loops)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["EARTH_RADIUS_KM", "arc_km", "chord_km", "to_xyz"]

EARTH_RADIUS_KM = 6371.0088


def to_xyz(lat: ArrayLike, lon: ArrayLike) -> NDArray[np.float64]:
    """Points on a sphere of the Earth's mean radius, in km (n × 3).

    Euclidean (chord) distances between these points convert exactly to great-circle distances
    (:func:`arc_km`), so one KD-tree answers "within r km" questions anywhere, without a
    projection that distorts towards the edges of the province.
    """
    la = np.radians(np.asarray(lat, dtype="float64"))
    lo = np.radians(np.asarray(lon, dtype="float64"))
    cos_la = np.cos(la)
    return np.column_stack((cos_la * np.cos(lo), cos_la * np.sin(lo), np.sin(la))) * EARTH_RADIUS_KM


def arc_km(chord: ArrayLike) -> NDArray[np.float64]:
    """Great-circle distance (km) for a chord length (km); ``inf`` stays ``inf``."""
    c = np.asarray(chord, dtype="float64")
    with np.errstate(invalid="ignore"):
        out = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(c / (2.0 * EARTH_RADIUS_KM), 0.0, 1.0))
    return np.where(np.isinf(c), np.inf, out)


def chord_km(arc: float) -> float:
    """Chord length (km) for a great-circle distance (km): the KD-tree radius to use."""
    return float(2.0 * EARTH_RADIUS_KM * np.sin(arc / (2.0 * EARTH_RADIUS_KM)))
