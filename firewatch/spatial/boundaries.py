"""Administrative boundaries: load, convert to WGS-84, validate.

The bundled file ``boundaries/heilongjiang_counties.gpkg`` (built by
``boundaries/build_boundaries.py``) holds the layers ``province``, ``city``, ``county`` and
``neighbour`` (Jilin and Inner Mongolia near the province), already in WGS-84, and a
``metadata`` table.  Users can load their own file instead and declare its datum: a county
layer with a code and a name column is enough.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyproj
import shapely

from firewatch.errors import BoundaryError, ConfigError
from firewatch.spatial.datum import geometries_to_wgs84, normalise_datum

if TYPE_CHECKING:
    import geopandas as gpd

    from firewatch.config import Settings

__all__ = [
    "ABROAD",
    "Boundaries",
    "boundaries_from_settings",
    "lcc_crs",
    "load_boundaries",
]

log = logging.getLogger(__name__)

#: ``neighbour_name`` of a point near the province that lies in no Chinese province.
ABROAD = "境外"

_CODE_FLOAT = re.compile(r"^(\d+)\.0+$")


@dataclass(frozen=True, eq=False)
class Boundaries:
    """Administrative polygons in WGS-84 (EPSG:4326).

    Attributes
    ----------
    county
        One row per county-level unit: ``code``, ``name``, ``parent_code`` (the city's code),
        ``geometry``.
    city
        One row per city-level unit: ``code``, ``name``, ``geometry``.  Dissolved from the
        counties when the file has no city layer (names are then missing).
    province
        The union of the counties.
    neighbours
        Neighbouring provinces near the province (``code``, ``name``, ``geometry``); may be
        empty, and then points near the province cannot be named.
    neighbour_extent_km
        How far from the province the neighbour outlines reach (``None`` if unknown).
    source
        Where the polygons came from (a path).
    datum
        The datum the file was declared in (the geometries here are always WGS-84).
    """

    county: gpd.GeoDataFrame
    city: gpd.GeoDataFrame
    province: shapely.Geometry
    neighbours: gpd.GeoDataFrame
    neighbour_extent_km: float | None = None
    source: str = ""
    datum: str = "wgs84"
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def city_names(self) -> dict[str, str]:
        """City code -> city name."""
        return {str(c): n for c, n in zip(self.city["code"], self.city["name"], strict=True)}


def lcc_crs(bounds: Sequence[float]) -> pyproj.CRS:
    """A Lambert conformal conic projection fitted to ``(west, south, east, north)``.

    Standard parallels at 1/6 and 5/6 of the latitude range keep the scale error below about
    0.2% over Heilongjiang, so distances of a few kilometres measured in it are good to metres
    (firewatch still refines them on the ellipsoid).
    """
    w, s, e, n = (float(v) for v in bounds)
    span = n - s
    return pyproj.CRS.from_proj4(
        f"+proj=lcc +lat_0={(s + n) / 2:.6f} +lon_0={(w + e) / 2:.6f} "
        f"+lat_1={s + span / 6:.6f} +lat_2={n - span / 6:.6f} "
        "+x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
    )


# --------------------------------------------------------------------------- loading


def _import_gpd() -> Any:
    import geopandas as gpd

    return gpd


def _layers(path: Path) -> list[str]:
    import pyogrio

    try:
        info = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise BoundaryError(f"{path}: not a readable vector file ({exc})") from exc
    return [str(row[0]) for row in info]


def _read_layer(path: Path, layer: str) -> gpd.GeoDataFrame:
    import pyogrio

    try:
        return pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:
        raise BoundaryError(f"{path}: cannot read layer {layer!r} ({exc})") from exc


def _read_metadata(path: Path, layers: list[str]) -> dict[str, str]:
    if "metadata" not in layers:
        return {}
    import pyogrio

    df = pyogrio.read_dataframe(path, layer="metadata", read_geometry=False)
    if not {"key", "value"} <= set(df.columns):
        return {}
    return {str(k): str(v) for k, v in zip(df["key"], df["value"], strict=True)}


def _codes(values: pd.Series) -> pd.Series:
    """Codes as clean strings: 230102, 230102.0 and ' 230102 ' all become '230102'."""
    s = values.astype("string").str.strip()
    return s.str.replace(_CODE_FLOAT, r"\1", regex=True)


def _prepare(
    gdf: gpd.GeoDataFrame,
    *,
    what: str,
    code_col: str,
    name_col: str,
    datum: str,
    extra: Sequence[str] = (),
) -> gpd.GeoDataFrame:
    """Validate one layer and return ``code``, ``name``, extras and WGS-84 ``geometry``."""
    gpd_ = _import_gpd()
    if not isinstance(gdf, gpd_.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise BoundaryError(f"{what}: has no geometry column")
    missing = [c for c in (code_col, name_col) if c not in gdf.columns]
    if missing:
        have = [c for c in gdf.columns if c != gdf.geometry.name]
        raise BoundaryError(
            f"{what}: missing column(s) {', '.join(repr(c) for c in missing)} "
            f"(columns present: {', '.join(map(repr, have)) or 'none'}); "
            "name them with code_col= / name_col="
        )
    if len(gdf) == 0:
        raise BoundaryError(f"{what}: has no features")

    geom = gdf.geometry
    null = geom.isna() | geom.is_empty
    if null.any():
        rows = (np.flatnonzero(null.to_numpy()) + 1)[:10].tolist()
        raise BoundaryError(f"{what}: features without geometry (feature numbers {rows})")
    kinds = shapely.get_type_id(geom.to_numpy())
    bad_kind = ~np.isin(kinds, [3, 6])  # Polygon, MultiPolygon
    if bad_kind.any():
        rows = (np.flatnonzero(bad_kind) + 1)[:10].tolist()
        types = sorted(set(geom[bad_kind].geom_type))
        raise BoundaryError(
            f"{what}: boundaries must be polygons; features {rows} are {', '.join(types)}"
        )

    codes = _codes(gdf[code_col])
    names = gdf[name_col].astype("string").str.strip()
    no_code = codes.isna() | (codes == "")
    if no_code.any():
        rows = (np.flatnonzero(no_code.to_numpy()) + 1)[:10].tolist()
        raise BoundaryError(f"{what}: features without a code in {code_col!r}: {rows}")
    dup = codes[codes.duplicated(keep=False)]
    if len(dup):
        raise BoundaryError(
            f"{what}: duplicate codes in {code_col!r}: {sorted(set(dup))[:10]} "
            "(dissolve multi-part units into one feature each)"
        )

    # Coordinates must be longitude/latitude before a Chinese datum can be undone.
    crs = gdf.crs
    if crs is not None and not crs.is_geographic:
        if datum != "wgs84":
            raise BoundaryError(
                f"{what}: {datum} coordinates must be longitude/latitude, but the file's CRS "
                f"is projected ({crs.name})"
            )
        gdf = gdf.to_crs("EPSG:4326")
    elif crs is not None and crs.to_epsg() not in (4326, 4490, None):
        gdf = gdf.to_crs("EPSG:4326")
    w, s, e, n = gdf.total_bounds
    if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
        raise BoundaryError(
            f"{what}: coordinates ({w:.1f}, {s:.1f}, {e:.1f}, {n:.1f}) are not longitude/"
            "latitude and the file declares no CRS"
        )

    geoms = geometries_to_wgs84(gdf.geometry.to_numpy(), datum)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        log.warning(
            "%s: repaired %d invalid polygon(s): %s",
            what,
            int(invalid.sum()),
            ", ".join(codes[invalid].astype(str).tolist()[:10]),
        )
        fixed = shapely.make_valid(geoms[invalid])
        # make_valid may return a collection with slivers of lines: keep the polygonal part.
        fixed = np.array(
            [
                shapely.union_all(
                    [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
                )
                for g in fixed
            ],
            dtype=object,
        )
        geoms[invalid] = fixed
    data: dict[str, Any] = {"code": codes.astype(object).to_numpy(), "name": names.to_numpy()}
    for col in extra:
        if col in gdf.columns:
            data[col] = _codes(gdf[col]).astype(object).to_numpy()
    out = gpd_.GeoDataFrame(data, geometry=list(geoms), crs="EPSG:4326")
    out["name"] = out["name"].astype(object).where(out["name"].notna(), None)
    return out


def load_boundaries(
    path: str | Path,
    *,
    datum: str = "wgs84",
    layer: str | None = None,
    code_col: str = "code",
    name_col: str = "name",
    parent_col: str = "parent_code",
    city_layer: str | None = None,
    neighbour_layer: str | None = None,
) -> Boundaries:
    """Load county-level boundaries from a vector file, convert them to WGS-84 and validate.

    Parameters
    ----------
    path
        Any file GDAL reads (GeoPackage, shapefile, GeoJSON, ...).
    datum
        The datum of the coordinates in the file: ``wgs84`` (also CGCS2000), ``gcj02`` (AMap,
        Tencent) or ``bd09`` (Baidu).  GCJ-02 and BD-09 coordinates must be longitude/latitude.
    layer
        The county layer.  Default: ``county`` if the file has it, else its only layer.
    code_col, name_col
        Columns with each unit's code and name (in every layer read).
    parent_col
        Column with the city code of each county.  Without it, six-digit codes give their city
        as the first four digits + ``00``.
    city_layer, neighbour_layer
        Layers with city polygons and neighbouring-province outlines.  Default: ``city`` and
        ``neighbour`` if present.  Cities are dissolved from counties when there is no city
        layer.

    Returns
    -------
    Boundaries

    Raises
    ------
    BoundaryError
        When the file is missing or unreadable, the layer or a column is missing, a geometry is
        empty or not a polygon, codes are missing or duplicated, or the datum is unknown.
    """
    p = Path(path)
    if not p.exists():
        raise BoundaryError(f"{p}: no such boundary file")
    try:
        dat = normalise_datum(datum)
    except ConfigError as exc:
        raise BoundaryError(f"{p}: {exc}") from exc
    layers = _layers(p)
    meta = _read_metadata(p, layers)
    declared = meta.get("datum")
    if declared and normalise_datum(declared) != dat:
        raise BoundaryError(
            f"{p}: the file's metadata says its datum is {declared}, but {dat} was requested"
        )
    spatial = [name for name in layers if name != "metadata"]
    if layer is None:
        if "county" in spatial:
            layer = "county"
        elif len(spatial) == 1:
            layer = spatial[0]
        else:
            raise BoundaryError(
                f"{p}: several layers ({', '.join(spatial)}); name the county layer with layer="
            )
    if layer not in spatial:
        raise BoundaryError(f"{p}: no layer {layer!r} (layers: {', '.join(spatial) or 'none'})")
    county = _prepare(
        _read_layer(p, layer),
        what=f"{p.name}:{layer}",
        code_col=code_col,
        name_col=name_col,
        datum=dat,
        extra=[parent_col],
    )
    if parent_col in county.columns:
        county = county.rename(columns={parent_col: "parent_code"})
    else:
        six = county["code"].astype(str).str.fullmatch(r"\d{6}")
        county["parent_code"] = np.where(six, county["code"].astype(str).str[:4] + "00", None)
    county = county[["code", "name", "parent_code", "geometry"]]

    gpd_ = _import_gpd()

    def optional_layer(given: str | None, default: str) -> gpd.GeoDataFrame | None:
        """``code``, ``name``, ``geometry`` of the named (or default, if present) layer."""
        name = given if given is not None else (default if default in spatial else None)
        if name is None or (given is None and name == layer):
            return None
        if name not in spatial:
            raise BoundaryError(f"{p}: no layer {name!r} (layers: {', '.join(spatial)})")
        what = f"{p.name}:{name}"
        gdf = _prepare(
            _read_layer(p, name), what=what, code_col=code_col, name_col=name_col, datum=dat
        )
        return gdf[["code", "name", "geometry"]]

    city = optional_layer(city_layer, "city")
    if city is None:
        has_parent = county["parent_code"].notna()
        dissolved = county[has_parent].dissolve(by="parent_code", as_index=False)
        city = gpd_.GeoDataFrame(
            {"code": dissolved["parent_code"], "name": None},
            geometry=dissolved.geometry.to_numpy(),
            crs="EPSG:4326",
        )

    neighbours = optional_layer(neighbour_layer, "neighbour")
    if neighbours is None:
        neighbours = gpd_.GeoDataFrame(
            {"code": pd.Series(dtype=object), "name": pd.Series(dtype=object)},
            geometry=[],
            crs="EPSG:4326",
        )

    geoms = county.geometry.to_numpy()
    province = (
        shapely.coverage_union_all(geoms)
        if shapely.coverage_is_valid(geoms)
        else shapely.union_all(geoms)
    )
    extent = meta.get("neighbour_clip_km")
    log.info(
        "loaded %d counties, %d cities, %d neighbours from %s (datum %s)",
        len(county),
        len(city),
        len(neighbours),
        p,
        dat,
    )
    return Boundaries(
        county=county.reset_index(drop=True),
        city=city.reset_index(drop=True),
        province=province,
        neighbours=neighbours.reset_index(drop=True),
        neighbour_extent_km=float(extent) if extent and len(neighbours) else None,
        source=str(p),
        datum=dat,
        metadata=meta,
    )


def boundaries_from_settings(settings: Settings) -> Boundaries:
    """Load ``settings.boundaries_path`` in ``settings.boundaries_datum``."""
    return load_boundaries(settings.boundaries_path, datum=settings.boundaries_datum)
