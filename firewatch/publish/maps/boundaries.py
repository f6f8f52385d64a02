"""Boundary and grid layers for maps: read, convert to WGS-84, simplify, encode compactly."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from firewatch.errors import ConfigError, GridError
from firewatch.spatial.datum import geometries_to_wgs84, normalise_datum
from firewatch.spatial.grid import TRUE_VALUES, is_true, read_grid_metadata

if TYPE_CHECKING:
    import geopandas as gpd

    from firewatch.config import Settings

__all__ = [
    "BoundarySet",
    "cells_with_points",
    "encode_boundaries",
    "grid_datum",
    "grid_is_synthetic",
    "load_boundaries",
    "read_layer",
]

log = logging.getLogger(__name__)

#: Levels drawn on maps, coarse to fine, with their line style.
LEVEL_STYLES: dict[str, dict[str, Any]] = {
    "province": {
        "color": "#252525",
        "weight": 2.2,
        "fill": False,
        "opacity": 0.9,
        "interactive": False,
    },
    "city": {
        "color": "#4d4d4d",
        "weight": 1.6,
        "fill": False,
        "opacity": 0.85,
        "interactive": False,
    },
    "county": {
        "color": "#636363",
        "weight": 1.1,
        "fill": False,
        "opacity": 0.8,
        "dashArray": "4 3",
    },
    "township": {"color": "#2171b5", "weight": 1.0, "fill": False, "opacity": 0.75},
    "village": {"color": "#6baed6", "weight": 0.7, "fill": False, "opacity": 0.7},
    "cell": {"color": "#08519c", "weight": 1.2, "fillColor": "#c6dbef", "fillOpacity": 0.12},
}

LEVEL_NAMES: dict[str, str] = {
    "province": "省界 Province",
    "city": "市界 Cities",
    "county": "县界 Counties",
    "township": "乡镇 Townships",
    "village": "村 Villages (with fire points)",
    "cell": "网格 Grid cells",
}


@dataclass
class BoundarySet:
    """Boundary layers by level (``province`` … ``village``), all in WGS-84."""

    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    #: The grid file says its geometry is synthetic (a demo): maps must say so.
    synthetic_grid: bool = False

    def get(self, level: str) -> gpd.GeoDataFrame | None:
        """The layer of ``level``, or ``None`` when it was not loaded."""
        return self.layers.get(level)


def read_layer(
    path: str | Path,
    layer: str,
    *,
    datum: str = "wgs84",
    bbox: tuple[float, float, float, float] | None = None,
    codes: Sequence[str] | None = None,
) -> gpd.GeoDataFrame | None:
    """One layer of a boundary or grid GeoPackage in WGS-84, or ``None`` if it is not there.

    Parameters
    ----------
    path, layer
        The file and layer (``province``, ``city``, ``county``, ``township``, ``village``).
    datum
        The file's datum (``wgs84``, ``gcj02``, ``bd09``); geometry is converted to WGS-84.
    bbox
        West, south, east, north in WGS-84: only features touching it are kept.
    codes
        Keep features whose ``code`` starts with one of these prefixes (a grid subtree).
    """
    import geopandas as gpd
    import pyogrio

    path = Path(path)
    if not path.is_file():
        return None
    names = {str(row[0]) for row in pyogrio.list_layers(path)}
    if layer not in names:
        return None
    read_bbox: Any = None
    if bbox is not None:
        pad = 0.02  # the datum offset is a few hundred metres: read a little more, clip after
        read_bbox = (bbox[0] - pad, bbox[1] - pad, bbox[2] + pad, bbox[3] + pad)
        if pyogrio.read_info(path, layer=layer).get("crs"):
            # As a WGS-84 GeoSeries, geopandas reprojects the box into a projected file's CRS
            # (a tuple would be read as metres there, and select nothing).
            read_bbox = gpd.GeoSeries([shapely.box(*read_bbox)], crs=4326)
    gdf = gpd.read_file(path, layer=layer, bbox=read_bbox)
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    if normalise_datum(datum) != "wgs84":
        gdf = gdf.set_geometry(geometries_to_wgs84(gdf.geometry.to_numpy(), datum), crs=4326)
    for col in ("code", "name"):
        if col not in gdf.columns:
            gdf[col] = None
    gdf["code"] = gdf["code"].astype("string")
    if codes:
        keep = np.zeros(len(gdf), dtype=bool)
        for prefix in codes:
            keep |= gdf["code"].fillna("").str.startswith(str(prefix)).to_numpy()
        gdf = gdf.loc[keep]
    if bbox is not None and len(gdf):
        gdf = gdf.loc[gdf.intersects(shapely.box(*bbox))]
    return gdf.reset_index(drop=True)


def grid_datum(settings: Settings) -> str:
    """The datum of the configured grid file: what its metadata declares, else the setting.

    The same rule as the grid stage (:func:`firewatch.spatial.grid.grid_from_settings`), so
    that cells are drawn where the points were attributed.

    Raises
    ------
    GridError
        If the file declares one datum and a non-default ``grids_datum`` setting another.
    """
    declared = read_grid_metadata(settings.grids_path).get("datum")
    if not declared:
        return settings.grids_datum
    try:
        dat, setting = normalise_datum(declared), normalise_datum(settings.grids_datum)
    except ConfigError as exc:
        raise GridError(f"{Path(settings.grids_path).name}: {exc}") from exc
    if setting != "wgs84" and setting != dat:
        raise GridError(
            f"{Path(settings.grids_path).name}: the file's metadata says its datum is "
            f"{declared}, but grids_datum is {settings.grids_datum}"
        )
    return dat


def grid_is_synthetic(path: Path, cells: Sequence[gpd.GeoDataFrame] = ()) -> bool:
    """Whether a grid is synthetic: its metadata says so, or any of ``cells`` does.

    The rule of the grid format (and of the grid stage): a true ``synthetic`` entry in the
    ``metadata`` table, or a true ``synthetic`` column on any cell.
    """
    if is_true(read_grid_metadata(path).get("synthetic", "")):
        return True
    for gdf in cells:
        if "synthetic" in gdf.columns:
            flags = gdf["synthetic"].astype("string").str.strip().str.lower()
            if flags.isin(TRUE_VALUES).any():
                return True
    return False


def load_boundaries(
    settings: Settings,
    *,
    levels: Sequence[str] = ("province", "city", "county", "township", "village"),
    bbox: tuple[float, float, float, float] | None = None,
    codes: Sequence[str] | None = None,
) -> BoundarySet:
    """Read the configured boundaries (province, city, county) and grid (township, village).

    Layers whose file or layer is missing are left out (the grid is optional).
    """
    out = BoundarySet()
    grid_path = Path(settings.grids_path)
    for level in levels:
        if level in ("province", "city", "county"):
            gdf = read_layer(
                settings.boundaries_path, level, datum=settings.boundaries_datum, bbox=bbox,
                codes=codes if level == "county" else None,
            )  # fmt: skip
        else:
            gdf = read_layer(grid_path, level, datum=grid_datum(settings), bbox=bbox, codes=codes)
        if gdf is not None and len(gdf):
            out.layers[level] = gdf
    cells = [out.layers[lv] for lv in ("township", "village") if lv in out.layers]
    if cells:
        out.synthetic_grid = grid_is_synthetic(grid_path, cells)
    return out


def cells_with_points(
    cells: gpd.GeoDataFrame, lon: np.ndarray, lat: np.ndarray
) -> gpd.GeoDataFrame:
    """The cells (e.g. villages) that contain at least one of the points.

    A province has about 10,000 villages: a daily map draws those where fires were, not all.
    """
    if not len(cells) or not len(lon):
        return cells.iloc[:0]
    tree = shapely.STRtree(cells.geometry.values)
    _, hit = tree.query(shapely.points(lon, lat), predicate="within")
    return cells.iloc[np.unique(hit)].reset_index(drop=True)


def _polyline_chunks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Google polyline characters of integer ``values`` (vectorised), and chars per value."""
    v = values.astype(np.int64)
    z = np.where(v < 0, ~(v << 1), v << 1)
    k = np.arange(7, dtype=np.int64)
    chunks = (z[:, None] >> (5 * k)) & 31
    nbits = np.maximum(1, np.floor(np.log2(np.maximum(z, 1))).astype(np.int64) + 1)
    nchunks = (nbits + 4) // 5
    used = k[None, :] < nchunks[:, None]
    more = k[None, :] < (nchunks - 1)[:, None]
    chars = (chunks | np.where(more, 0x20, 0)) + 63
    return chars[used].astype(np.uint8), nchunks


def encode_boundaries(gdf: gpd.GeoDataFrame, *, simplify_m: float = 30.0) -> dict[str, Any]:
    """Polygons as Google encoded polylines (1e-5 degree), simplified to ``simplify_m`` metres.

    An encoded ring takes about a fifth of the bytes of the same ring in GeoJSON text, and the
    browser decodes it in a few lines (``FW.boundary``).

    Returns
    -------
    dict
        ``{"f": [{"code", "name", "g": [[ring, ...] per polygon]}]}`` with each ring a polyline
        string of (lat, lon) vertices, exterior first.
    """
    geom = gdf.geometry.values
    if simplify_m > 0:
        geom = shapely.simplify(geom, simplify_m / 111_320.0, preserve_topology=True)
    parts, feat_of_part = shapely.get_parts(geom, return_index=True)
    is_poly = shapely.get_type_id(parts) == 3  # polygons only (stray lines/points dropped)
    polys, feat_of_poly = parts[is_poly], feat_of_part[is_poly]
    rings, poly_of_ring = shapely.get_rings(polys, return_index=True)
    coords, ring_of_vertex = shapely.get_coordinates(rings, return_index=True)
    # (lat, lon) as 1e-5 degree integers; the closing vertex is implied.
    q = np.round(coords[:, ::-1] * 1e5).astype(np.int64)
    last_of_ring = np.r_[ring_of_vertex[1:] != ring_of_vertex[:-1], True]
    keep = ~last_of_ring
    q, ring_of_vertex = q[keep], ring_of_vertex[keep]
    first_of_ring = np.r_[True, ring_of_vertex[1:] != ring_of_vertex[:-1]]
    d = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    d[first_of_ring] = q[first_of_ring]
    chars, per_value = _polyline_chunks(d.ravel())
    per_vertex = per_value.reshape(-1, 2).sum(axis=1)
    ring_chars = np.bincount(ring_of_vertex, weights=per_vertex, minlength=len(rings))
    ends = np.cumsum(ring_chars.astype(np.int64))
    text = chars.tobytes().decode("ascii")
    starts = np.r_[0, ends[:-1]]
    ring_text = [text[a:b] for a, b in zip(starts, ends, strict=True)]
    features: list[dict[str, Any]] = [
        {
            "code": None if pd.isna(c) else str(c),
            "name": None if pd.isna(nm) else str(nm),
            "g": [],
        }
        for c, nm in zip(gdf["code"], gdf["name"], strict=True)
    ]
    poly_rings: list[list[str]] = [[] for _ in range(len(polys))]
    for r, p in enumerate(poly_of_ring):
        if ring_text[r]:
            poly_rings[p].append(ring_text[r])
    for p, f in enumerate(feat_of_poly):
        if poly_rings[p]:
            features[f]["g"].append(poly_rings[p])
    return {"f": [f for f in features if f["g"]]}
