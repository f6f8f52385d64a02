"""Synthetic grid geometry: deterministic partitions of real polygons into cells.

Real township and village boundaries are not public.  To demonstrate the grid format and to
benchmark attribution at province scale, firewatch partitions real county polygons into
Voronoi cells seeded from hashes of the cells' codes (a few Lloyd steps make them compact).
The result depends only on the input polygons and codes, never on a clock or a global random
state, so the committed build script reproduces the same cells.  Every grid made this way must
be marked synthetic (``grids/README.md``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import shapely
from numpy.typing import NDArray

__all__ = ["partition", "seeded_rng"]


def seeded_rng(key: str) -> np.random.Generator:
    """A random generator seeded from the SHA-256 of ``key`` (reproducible across runs)."""
    seed = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng(seed)


def _polygonal(g: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of ``g`` (intersections can add slivers of lines or points)."""
    if shapely.get_type_id(g) in (3, 6):
        return g
    parts = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def partition(
    polygon: shapely.Geometry, keys: Sequence[str], *, lloyd: int = 2
) -> NDArray[np.object_]:
    """Split ``polygon`` into ``len(keys)`` cells that cover it without gaps or overlaps.

    Parameters
    ----------
    polygon
        A valid polygon or multipolygon.
    keys
        One key per cell (e.g. the cells' codes); the seeds are derived from them.
    lloyd
        Lloyd relaxation steps (0: plain Voronoi cells of random seeds).

    Returns
    -------
    numpy.ndarray
        The cells, in the order of ``keys``.  A cell may be a multipolygon where the polygon
        is concave.
    """
    n = len(keys)
    if n == 0:
        raise ValueError("partition needs at least one key")
    if n == 1:
        return np.array([polygon], dtype=object)
    xmin, ymin, xmax, ymax = polygon.bounds
    rng = seeded_rng("|".join(keys))
    shapely.prepare(polygon)
    seeds = np.empty((0, 2))
    while len(seeds) < n:
        cand = rng.uniform((xmin, ymin), (xmax, ymax), size=(8 * n, 2))
        inside = shapely.contains_xy(polygon, cand[:, 0], cand[:, 1])
        seeds = np.vstack([seeds, cand[inside]])
    seeds = seeds[:n]
    pad = max(xmax - xmin, ymax - ymin)
    envelope = shapely.box(xmin - pad, ymin - pad, xmax + pad, ymax + pad)
    cells = np.empty(n, dtype=object)
    for step in range(lloyd + 1):
        vor = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=envelope, ordered=True)
        cells = shapely.intersection(shapely.get_parts(vor), polygon)
        if step < lloyd:
            c = shapely.centroid(cells)
            moved = np.column_stack([shapely.get_x(c), shapely.get_y(c)])
            ok = shapely.contains_xy(polygon, moved[:, 0], moved[:, 1])
            # A centroid outside a concave polygon: keep the seed where it was.
            seeds = np.where(ok[:, None], moved, seeds)
    out = np.array([_polygonal(c) for c in cells], dtype=object)
    return out
