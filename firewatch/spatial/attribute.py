"""Attribute points to city and county, and mark points near the province as a neighbour's.

:class:`CountyIndex` answers "which polygon strictly contains this point" exactly as
``geopandas.sjoin(predicate="within")`` does, but without testing most points against any
polygon: a regular lon/lat grid is classified once (by quadtree refinement) into cells that lie
strictly inside one polygon, cells that touch no polygon, and cells that touch a border.  Points
in the first two kinds take their answer from the grid; only points in border cells are tested
exactly, against the few polygons their cell touches (``shapely.contains_xy`` on prepared
polygons).  Build the index once (``county_index`` caches it per file) and reuse it.

Distances to the province (for the neighbour rule) are measured on the WGS-84 ellipsoid: the
nearest point of the province's outline is found in a conformal projection fitted to the
province, then the distance to it is computed with :class:`pyproj.Geod`.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from firewatch.errors import ConfigError, FirewatchError
from firewatch.spatial.boundaries import ABROAD, Boundaries, lcc_crs, load_boundaries

__all__ = [
    "ATTRIBUTION_COLUMNS",
    "AttributionError",
    "CountyIndex",
    "attribute_points",
    "county_index",
]

log = logging.getLogger(__name__)

#: Columns :func:`attribute_points` adds, in order.
ATTRIBUTION_COLUMNS: Final[tuple[str, ...]] = (
    "city_code",
    "city_name",
    "county_code",
    "county_name",
    "region",  # "province" | "neighbour" | "outside"; None where a coordinate is missing
    "neighbour_name",  # neighbouring province's name, or 境外 (abroad), for "neighbour" rows
)

_NONE: Final = -1  # no polygon
_MIXED: Final = -2  # the cell touches a border: test exactly
_FORMAT: Final = 2  # version of the saved index layout (2: no pickled arrays)
_COARSE: Final = 4  # grid cells per coarse cell (each way) for the distance lower bound
_REGIONS: Final = np.array([None, "province", "neighbour", "outside"], dtype=object)


class AttributionError(FirewatchError, ValueError):
    """A table of points cannot be attributed (missing or non-numeric coordinate columns)."""


class CountyIndex:
    """A reusable point-in-county index over :class:`Boundaries`.

    Parameters
    ----------
    boundaries
        Counties (and optionally neighbouring provinces) in WGS-84.
    cell_deg
        Size of the finest grid cell in degrees.  Smaller cells leave fewer points for the exact
        test but take more memory (the grid is ``int16``/``int32``).
    levels
        Quadtree depth: the grid is refined from cells ``cell_deg * 2**levels`` wide.

    Notes
    -----
    Polygon indices: ``0 .. n_county-1`` are counties in ``boundaries.county`` order, then the
    neighbours.  ``lookup`` returns -1 for a point in no polygon, including a point exactly on a
    border (like ``within``).
    """

    def __init__(self, boundaries: Boundaries, *, cell_deg: float = 0.01, levels: int = 5):
        if cell_deg <= 0 or levels < 0:
            raise ValueError("cell_deg must be > 0 and levels >= 0")
        self.boundaries = boundaries
        county = boundaries.county
        nb = boundaries.neighbours
        self.n_county = len(county)
        self.polygons: NDArray[np.object_] = np.concatenate(
            [
                np.asarray(county.geometry.to_numpy(), dtype=object),
                np.asarray(nb.geometry.to_numpy(), dtype=object),
            ]
        )
        self.county_code = np.asarray(county["code"].astype(str), dtype=object)
        self.county_name = np.asarray(county["name"].to_numpy(), dtype=object)
        self.city_code = np.asarray(
            county["parent_code"].astype(object).where(county["parent_code"].notna(), None),
            dtype=object,
        )
        names = boundaries.city_names
        self.city_name = np.array([names.get(str(c)) for c in self.city_code], dtype=object)
        self.neighbour_name = np.asarray(nb["name"].to_numpy(), dtype=object)
        self.has_neighbours = len(nb) > 0
        self.neighbour_extent_km = boundaries.neighbour_extent_km
        self.cell_deg = float(cell_deg)
        self.levels = int(levels)
        shapely.prepare(self.polygons)
        self.province = boundaries.province
        shapely.prepare(self.province)
        self._coarse_lb: NDArray[np.float32] | None = None
        self._coarse_cap_km = 0.0
        self._build_grid()
        self._build_outline()

    # ------------------------------------------------------------------ construction

    def _build_grid(self) -> None:
        w, s, e, n = shapely.total_bounds(self.polygons)
        cell = self.cell_deg
        root = cell * 2**self.levels
        # One cell of margin so a point on the extreme edge still falls inside the grid.
        self.x0 = float(w - cell)
        self.y0 = float(s - cell)
        nx_root = math.ceil((e + cell - self.x0) / root)
        ny_root = math.ceil((n + cell - self.y0) / root)
        self.nx = nx_root * 2**self.levels
        self.ny = ny_root * 2**self.levels
        dtype = np.int16 if len(self.polygons) < np.iinfo(np.int16).max else np.int32
        tree = shapely.STRtree(self.polygons)
        # Boxes are grown by eps so that a point rounded into a neighbouring cell, or a cell that
        # only touches a border, is still treated as touching it (sent to the exact test).
        eps = cell * 1e-6

        iy, ix = np.divmod(np.arange(nx_root * ny_root, dtype=np.int64), nx_root)
        grid = np.full((ny_root, nx_root), _MIXED, dtype=dtype)
        size = root
        mixed_pairs: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None
        for level in range(self.levels + 1):
            boxes = shapely.box(
                self.x0 + ix * size - eps,
                self.y0 + iy * size - eps,
                self.x0 + (ix + 1) * size + eps,
                self.y0 + (iy + 1) * size + eps,
            )
            # Bounding-box candidates, then the exact test with the *polygon* prepared (a
            # predicate query would prepare the box and scan every polygon vertex).
            bi, pi = tree.query(boxes)
            hit = shapely.intersects(self.polygons[pi], boxes[bi])
            bi, pi = bi[hit], pi[hit]
            count = np.bincount(bi, minlength=len(boxes))
            label = np.full(len(boxes), _MIXED, dtype=np.int64)
            label[count == 0] = _NONE
            one = np.flatnonzero(count == 1)
            first = np.zeros(len(boxes), dtype=np.int64)
            first[bi[::-1]] = pi[::-1]  # any candidate; used only where count == 1
            inside = shapely.contains_properly(self.polygons[first[one]], boxes[one])
            label[one[inside]] = first[one[inside]]
            grid[iy, ix] = label
            mixed = label == _MIXED
            if level == self.levels:
                keep = mixed[bi]
                flat = iy * self.nx + ix
                mixed_pairs = (flat[bi[keep]], pi[keep])
                break
            # Refine: every cell becomes 2x2; only the children of mixed cells are tested.
            grid = np.repeat(np.repeat(grid, 2, axis=0), 2, axis=1)
            mx, my = ix[mixed] * 2, iy[mixed] * 2
            ix = np.concatenate([mx, mx + 1, mx, mx + 1])
            iy = np.concatenate([my, my, my + 1, my + 1])
            size /= 2
        assert mixed_pairs is not None
        self.grid = grid
        cells, polys = mixed_pairs
        order = np.lexsort((polys, cells))
        cells, polys = cells[order], polys[order]
        self.mixed_cells, starts = np.unique(cells, return_index=True)
        self.mixed_ptr = np.append(starts, len(cells)).astype(np.int64)
        self.mixed_cand = polys.astype(np.int32)
        log.debug(
            "county index: %dx%d cells of %g deg, %d border cells",
            self.nx,
            self.ny,
            cell,
            len(self.mixed_cells),
        )

    def _build_outline(self) -> None:
        """Province outline as short segments in a conformal projection, for distances."""
        self.crs = lcc_crs(shapely.bounds(self.province))
        self._fwd = pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        self._inv = pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        self._geod = pyproj.Geod(ellps="WGS84")
        # Edges are straight in lon/lat (that is what containment uses); split long ones so
        # that their straight projected images stay within millimetres of them.
        lines = shapely.get_parts(shapely.segmentize(shapely.boundary(self.province), 0.01))
        xy, part = shapely.get_coordinates(lines, return_index=True)
        same = part[1:] == part[:-1]
        a = xy[:-1][same]
        b = xy[1:][same]
        ax, ay = self._fwd.transform(a[:, 0], a[:, 1])
        bx, by = self._fwd.transform(b[:, 0], b[:, 1])
        self._segments = shapely.linestrings(
            np.stack([np.column_stack([ax, ay]), np.column_stack([bx, by])], axis=1)
        )
        self._seg_tree = shapely.STRtree(self._segments)

    # ------------------------------------------------------------------ queries

    def lookup(self, lon: Any, lat: Any) -> NDArray[np.int64]:
        """Index of the polygon that strictly contains each point (-1 for none).

        Identical to ``geopandas.sjoin(points, polygons, predicate="within")``.
        """
        x = np.asarray(lon, dtype="float64").ravel()
        y = np.asarray(lat, dtype="float64").ravel()
        if x.shape != y.shape:
            raise ValueError("lon and lat must have the same length")
        return self._locate(x, y)[0]

    def _locate(
        self, x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
        """Polygon index, grid cell (-1 off the grid) and "tested exactly" for each point."""
        out = np.full(len(x), _NONE, dtype=np.int64)
        flat = np.full(len(x), -1, dtype=np.int64)
        exact = np.zeros(len(x), dtype=bool)
        with np.errstate(invalid="ignore"):
            fx = np.floor((x - self.x0) / self.cell_deg)
            fy = np.floor((y - self.y0) / self.cell_deg)
            ok = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)  # False for NaN
        ix = fx[ok].astype(np.int64)
        iy = fy[ok].astype(np.int64)
        where = np.flatnonzero(ok)
        flat[where] = iy * self.nx + ix
        lab = self.grid[iy, ix].astype(np.int64)
        out[where] = lab
        mixed = lab == _MIXED
        if not mixed.any():
            return out, flat, exact
        pts = where[mixed]
        exact[pts] = True
        out[pts] = _NONE
        m = np.searchsorted(self.mixed_cells, flat[pts])
        lo = self.mixed_ptr[m]
        counts = self.mixed_ptr[m + 1] - lo
        pair_pt = np.repeat(pts, counts)
        offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        pair_poly = self.mixed_cand[np.repeat(lo, counts) + offs]
        order = np.argsort(pair_poly, kind="stable")
        pair_pt, pair_poly = pair_pt[order], pair_poly[order]
        polys, starts = np.unique(pair_poly, return_index=True)
        ends = np.append(starts[1:], len(pair_poly))
        # One vectorised call per polygon touched (at most the number of polygons).
        for p, a, b in zip(polys, starts, ends, strict=True):
            cand = pair_pt[a:b]
            hit = shapely.contains_xy(self.polygons[p], x[cand], y[cand])
            chosen = cand[hit]
            free = out[chosen] == _NONE  # a valid coverage never has two; keep the first
            out[chosen[free]] = p
        return out, flat, exact

    def _coarse_lower_bound_km(self, reach_km: float) -> NDArray[np.float32]:
        """For each coarse cell (4x4 grid cells), a lower bound of its distance to the outline.

        Computed on first use and kept: the distance from the cell's polygon (projected) to the
        nearest outline segment, shrunk by 0.5% for the projection's scale error and by 50 m
        for the curvature of the cell's edges.  Only distances up to a cap (at least twice
        ``reach_km``) are computed, since a wide nearest-neighbour search is slow; cells beyond
        get the cap, which is still a lower bound.  A later call reaching farther recomputes.
        """
        cap_km = max(2.0 * reach_km, 20.0)
        if self._coarse_lb is not None and self._coarse_cap_km >= reach_km:
            return self._coarse_lb
        f = _COARSE
        cnx, cny = -(-self.nx // f), -(-self.ny // f)
        iy, ix = np.divmod(np.arange(cnx * cny, dtype=np.int64), cnx)
        size = self.cell_deg * f
        corners_x = self.x0 + np.stack([ix, ix + 1, ix + 1, ix], axis=1) * size
        corners_y = self.y0 + np.stack([iy, iy, iy + 1, iy + 1], axis=1) * size
        px, py = self._fwd.transform(corners_x.ravel(), corners_y.ravel())
        rings = np.stack([px, py], axis=1).reshape(-1, 4, 2)
        cells = shapely.polygons(rings)
        cap = cap_km * 1000.0
        ci, si = self._seg_tree.query_nearest(cells, max_distance=cap, all_matches=False)
        d = np.full(len(cells), cap)
        d[ci] = shapely.distance(cells[ci], self._segments[si])
        lb = np.maximum(d * 0.995 - 50.0, 0.0) / 1000.0
        self._coarse_lb = lb.astype(np.float32).reshape(cny, cnx)
        self._coarse_cap_km = cap_km
        return self._coarse_lb

    def border_distance_km(
        self, lon: Any, lat: Any, *, max_km: float | None = None
    ) -> NDArray[np.float64]:
        """Distance in km from each point to the province's outline (on the ellipsoid).

        Points farther than ``max_km`` (if given) get ``inf``.  The distance is to the outline,
        so it is also positive for points inside the province.
        """
        x = np.asarray(lon, dtype="float64").ravel()
        y = np.asarray(lat, dtype="float64").ravel()
        out = np.full(len(x), np.inf)
        fin = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        if len(fin) == 0:
            return out
        px, py = self._fwd.transform(x[fin], y[fin])
        pts = shapely.points(px, py)
        # Search a little wider than max_km: the projection's scale differs from 1 by < 0.5%.
        reach = None if max_km is None else max_km * 1000.0 * 1.01 + 100.0
        (pi, si) = self._seg_tree.query_nearest(pts, max_distance=reach, all_matches=False)
        if len(pi) == 0:
            return out
        near = shapely.get_coordinates(
            shapely.get_point(shapely.shortest_line(pts[pi], self._segments[si]), 1)
        )
        nlon, nlat = self._inv.transform(near[:, 0], near[:, 1])
        _, _, metres = self._geod.inv(x[fin[pi]], y[fin[pi]], nlon, nlat)
        d = np.asarray(metres) / 1000.0
        if max_km is not None:
            d = np.where(d <= max_km, d, np.inf)
        out[fin[pi]] = d
        return out

    def attribute(
        self,
        df: pd.DataFrame,
        *,
        lat_col: str = "latitude",
        lon_col: str = "longitude",
        neighbour_km: float = 10.0,
    ) -> pd.DataFrame:
        """See :func:`attribute_points`."""
        missing = [c for c in (lat_col, lon_col) if c not in df.columns]
        if missing:
            raise AttributionError(
                f"no column {' or '.join(map(repr, missing))} in the table "
                f"(columns: {', '.join(map(str, df.columns))}); use lat_col=/lon_col="
            )
        if neighbour_km < 0:
            raise ConfigError("neighbour_km must be >= 0")
        if (
            neighbour_km > 0
            and self.neighbour_extent_km is not None
            and neighbour_km > self.neighbour_extent_km
        ):
            raise ConfigError(
                f"neighbour_km={neighbour_km} exceeds the {self.neighbour_extent_km:g} km the "
                "neighbouring provinces' outlines reach; rebuild the boundaries with a larger "
                "--clip-km"
            )
        try:
            lat = pd.to_numeric(df[lat_col], errors="raise").to_numpy(dtype="float64")
            lon = pd.to_numeric(df[lon_col], errors="raise").to_numpy(dtype="float64")
        except (ValueError, TypeError) as exc:
            raise AttributionError(
                f"non-numeric coordinates in {lat_col}/{lon_col}: {exc}"
            ) from exc

        idx, flat, exact = self._locate(lon, lat)
        n = len(idx)
        finite = np.isfinite(lat) & np.isfinite(lon)
        is_county = (idx >= 0) & (idx < self.n_county)
        # Region codes index _REGIONS: 0 no coordinate, 1 province, 2 neighbour, 3 outside.
        region = np.where(finite, 3, 0).astype(np.int8)
        region[is_county] = 1
        # A point exactly on a border between two counties is inside the province but in no
        # county; such a point is always in a border cell.
        online = np.flatnonzero(exact & ~is_county)
        if len(online):
            inside = shapely.contains_xy(self.province, lon[online], lat[online])
            region[online[inside]] = 1
        nb_name = np.full(n, None, dtype=object)
        rest = np.flatnonzero(region == 3)
        if len(rest) and neighbour_km > 0:
            on_grid = flat[rest] >= 0
            cy, cx = np.divmod(flat[rest[on_grid]], self.nx)
            lb = self._coarse_lower_bound_km(neighbour_km)[cy // _COARSE, cx // _COARSE]
            maybe = np.concatenate([rest[on_grid][lb <= neighbour_km], rest[~on_grid]])
            d = self.border_distance_km(lon[maybe], lat[maybe], max_km=neighbour_km)
            near = maybe[np.isfinite(d)]
            region[near] = 2
            if self.has_neighbours:
                k = idx[near]
                nb_name[near] = np.where(
                    k >= self.n_county,
                    self.neighbour_name[np.clip(k - self.n_county, 0, None)],
                    ABROAD,
                )
        out = df.copy()
        clash = [c for c in ATTRIBUTION_COLUMNS if c in out.columns]
        if clash:
            log.info("replacing existing column(s) %s", ", ".join(clash))

        # One take per column from a small table whose last entry is None (for no county).
        take = np.where(is_county, idx, self.n_county)

        def pick(table: NDArray[np.object_]) -> NDArray[np.object_]:
            ext = np.empty(len(table) + 1, dtype=object)  # the extra last entry stays None
            ext[:-1] = table
            return ext.take(take)

        values = {
            "city_code": pick(self.city_code),
            "city_name": pick(self.city_name),
            "county_code": pick(self.county_code),
            "county_name": pick(self.county_name),
            "region": _REGIONS[region],
            "neighbour_name": nb_name,
        }
        for col in ATTRIBUTION_COLUMNS:
            out[col] = values[col]  # positional: the arrays follow df row by row
        log.info(
            "attributed %d point(s): %d in a county, %d near the province, %d outside",
            n,
            int(is_county.sum()),
            int((region == 2).sum()),
            int((region == 3).sum()),
        )
        return out

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | Path) -> Path:
        """Save the index (grid and polygons) to an ``.npz`` file that :meth:`load` reads."""
        p = Path(path)
        b = self.boundaries
        meta = {
            "format": _FORMAT,
            "cell_deg": self.cell_deg,
            "levels": self.levels,
            "x0": self.x0,
            "y0": self.y0,
            "nx": self.nx,
            "ny": self.ny,
            "n_county": self.n_county,
            "county": b.county.drop(columns="geometry")
            .astype(object)
            .where(b.county.drop(columns="geometry").notna(), None)
            .to_dict(orient="list"),
            "city": b.city.drop(columns="geometry")
            .astype(object)
            .where(b.city.drop(columns="geometry").notna(), None)
            .to_dict(orient="list"),
            "neighbour": b.neighbours.drop(columns="geometry").to_dict(orient="list"),
            "neighbour_extent_km": b.neighbour_extent_km,
            "source": b.source,
            "datum": b.datum,
            "metadata": b.metadata,
        }
        arrays: dict[str, Any] = {
            "meta": np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8),
            **_wkb_arrays("polygons", self.polygons),
            **_wkb_arrays("city", np.asarray(b.city.geometry.to_numpy())),
            "grid": self.grid,
            "mixed_cells": self.mixed_cells,
            "mixed_ptr": self.mixed_ptr,
            "mixed_cand": self.mixed_cand,
        }
        tmp = p.with_name(p.name + ".tmp")
        with tmp.open("wb") as f:
            np.savez_compressed(f, **arrays)
        tmp.replace(p)
        return p

    @staticmethod
    def can_load(path: str | Path) -> bool:
        """Whether ``path`` is an index file in the layout this version of :meth:`load` reads.

        Only the small metadata entry is read.  An index saved by another firewatch version, or
        a damaged or missing file, gives ``False``: save the index again.
        """
        try:
            with np.load(Path(path), allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode())
        except (OSError, ValueError, KeyError):  # missing, not an npz, no or bad meta entry
            return False
        return isinstance(meta, dict) and meta.get("format") == _FORMAT

    @classmethod
    def load(cls, path: str | Path) -> CountyIndex:
        """Load an index written by :meth:`save`."""
        import geopandas as gpd

        # No pickles: an index file from elsewhere cannot run code when it is loaded.
        with np.load(Path(path), allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode())
            if meta.get("format") != _FORMAT:
                raise ValueError(
                    f"{path}: index format {meta.get('format')}, need {_FORMAT}; save it again"
                )
            polys = _from_wkb_arrays(z, "polygons")
            city_geom = _from_wkb_arrays(z, "city")
            arrays = {k: z[k] for k in ("grid", "mixed_cells", "mixed_ptr", "mixed_cand")}
        nc = meta["n_county"]
        county = gpd.GeoDataFrame(meta["county"], geometry=list(polys[:nc]), crs="EPSG:4326")
        city = gpd.GeoDataFrame(meta["city"], geometry=list(city_geom), crs="EPSG:4326")
        nb = gpd.GeoDataFrame(meta["neighbour"], geometry=list(polys[nc:]), crs="EPSG:4326")
        province = shapely.coverage_union_all(polys[:nc])
        boundaries = Boundaries(
            county=county,
            city=city,
            province=province,
            neighbours=nb,
            neighbour_extent_km=meta["neighbour_extent_km"],
            source=meta["source"],
            datum=meta["datum"],
            metadata=meta["metadata"],
        )
        self = cls.__new__(cls)
        self.boundaries = boundaries
        self.n_county = nc
        self.polygons = polys
        self.county_code = np.asarray(county["code"].astype(str), dtype=object)
        self.county_name = np.asarray(county["name"], dtype=object)
        self.city_code = np.asarray(county["parent_code"], dtype=object)
        names = boundaries.city_names
        self.city_name = np.array([names.get(str(c)) for c in self.city_code], dtype=object)
        self.neighbour_name = np.asarray(nb["name"], dtype=object)
        self.has_neighbours = len(nb) > 0
        self.neighbour_extent_km = meta["neighbour_extent_km"]
        self.cell_deg = meta["cell_deg"]
        self.levels = meta["levels"]
        self.x0, self.y0, self.nx, self.ny = meta["x0"], meta["y0"], meta["nx"], meta["ny"]
        self.grid = arrays["grid"]
        self.mixed_cells = arrays["mixed_cells"]
        self.mixed_ptr = arrays["mixed_ptr"]
        self.mixed_cand = arrays["mixed_cand"]
        shapely.prepare(self.polygons)
        self.province = province
        shapely.prepare(self.province)
        self._coarse_lb = None
        self._coarse_cap_km = 0.0
        self._build_outline()
        return self


def _wkb_arrays(name: str, geoms: NDArray[np.object_]) -> dict[str, NDArray[Any]]:
    """Geometries as one byte buffer of WKB and the length of each (plain arrays, no pickle)."""
    wkb = shapely.to_wkb(geoms)
    return {
        f"{name}_wkb": np.frombuffer(b"".join(wkb), dtype=np.uint8),
        f"{name}_wkb_len": np.fromiter((len(w) for w in wkb), dtype=np.int64, count=len(wkb)),
    }


def _from_wkb_arrays(z: Any, name: str) -> NDArray[np.object_]:
    buf = z[f"{name}_wkb"].tobytes()
    ends = np.cumsum(z[f"{name}_wkb_len"])
    starts = ends - z[f"{name}_wkb_len"]
    wkb = np.array([buf[a:b] for a, b in zip(starts, ends, strict=True)], dtype=object)
    return np.asarray(shapely.from_wkb(wkb), dtype=object)


@functools.lru_cache(maxsize=8)
def _cached_index(path: str, mtime_ns: int, size: int, datum: str, cell_deg: float) -> CountyIndex:
    return CountyIndex(load_boundaries(path, datum=datum), cell_deg=cell_deg)


def county_index(path: str | Path, *, datum: str = "wgs84", cell_deg: float = 0.01) -> CountyIndex:
    """The :class:`CountyIndex` of a boundary file, built once per process and file version.

    The cache key includes the file's modification time and size, so an edited file is
    re-read.  For a settings object: ``county_index(s.boundaries_path, datum=s.boundaries_datum)``.
    """
    p = Path(path).resolve()
    try:
        st = p.stat()
    except OSError:
        return CountyIndex(load_boundaries(p, datum=datum), cell_deg=cell_deg)  # raises
    return _cached_index(str(p), st.st_mtime_ns, st.st_size, datum, float(cell_deg))


def attribute_points(
    df: pd.DataFrame,
    boundaries: CountyIndex | Boundaries | str | Path,
    *,
    lat_col: str = "latitude",
    lon_col: str = "longitude",
    neighbour_km: float = 10.0,
    datum: str = "wgs84",
) -> pd.DataFrame:
    """Add city, county and region columns to a table of WGS-84 points.

    Parameters
    ----------
    df
        Any table with latitude and longitude columns (FIRMS detections, drone reports, ...).
        Its rows, index and columns are kept.
    boundaries
        A :class:`CountyIndex` (fastest when called repeatedly), :class:`Boundaries`, or the path
        of a boundary file (loaded with ``datum`` and cached).
    lat_col, lon_col
        Coordinate columns, WGS-84 degrees.
    neighbour_km
        Points outside the province but within this many kilometres of it (measured on the
        ellipsoid) are kept as ``region="neighbour"``, with ``neighbour_name`` the neighbouring
        province or 境外 (abroad).  0 disables the rule.
    datum
        Datum of the boundary file when ``boundaries`` is a path.

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with :data:`ATTRIBUTION_COLUMNS` added: ``city_code``, ``city_name``,
        ``county_code``, ``county_name`` (None outside every county), ``region`` (``province``,
        ``neighbour`` or ``outside``; None where a coordinate is missing) and ``neighbour_name``.
        A point exactly on a county border is ``province`` with no county, as with ``within``.

    Raises
    ------
    AttributionError
        If a coordinate column is missing or not numeric.
    ConfigError
        If ``neighbour_km`` is negative or beyond the reach of the neighbour outlines.
    """
    if isinstance(boundaries, CountyIndex):
        index = boundaries
    elif isinstance(boundaries, Boundaries):
        index = _index_for(boundaries)
    else:
        index = county_index(boundaries, datum=datum)
    return index.attribute(df, lat_col=lat_col, lon_col=lon_col, neighbour_km=neighbour_km)


def _index_for(boundaries: Boundaries) -> CountyIndex:
    # Keep one index per Boundaries object alive for its lifetime.
    cached = getattr(boundaries, "_firewatch_index", None)
    if cached is None:
        cached = CountyIndex(boundaries)
        object.__setattr__(boundaries, "_firewatch_index", cached)
    return cached
