"""The four-level burning-ban grid (四级禁烧网格): format, loading and attribution.

A grid is a GeoPackage with four polygon layers, ``city``, ``county``, ``township`` and
``village`` (市 → 县 → 乡/镇/街道 → 村), each with the columns ``code`` (the statistical division
code, written in its 12-digit form: ``230302001201``), ``name`` and ``parent_code``, plus a
``metadata`` table (``key``/``value``) declaring at least the ``datum`` (``wgs84``, ``gcj02``
or ``bd09``; firewatch converts to WGS-84) and whether the geometry is ``synthetic``.  The
format is documented in ``grids/README.md``; a county bureau replaces the file and everything
works.

Attribution puts every detection in a village cell: the cell its pixel footprint overlaps most
(:mod:`firewatch.spatial.grid_index`), with the whole chain village → township → county → city
and the people on duty there at the detection's acquisition time
(:mod:`firewatch.spatial.registry`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

import numpy as np
import pandas as pd
import shapely

from firewatch.errors import ConfigError, GridError
from firewatch.spatial.datum import normalise_datum, to_wgs84

if TYPE_CHECKING:
    import geopandas as gpd
    from sqlalchemy import Engine, Table

    from firewatch.config import Settings
    from firewatch.spatial.grid_index import TileIndex

__all__ = [
    "FLAGS",
    "GRID_COLUMNS",
    "LEVELS",
    "LEVEL_DIGITS",
    "POINT_GRID_COLUMNS",
    "TRUE_VALUES",
    "Grid",
    "GridDaySummary",
    "GridIndex",
    "GridRun",
    "Repair",
    "add_grid_columns",
    "ancestor",
    "attribute_grid",
    "attribute_stored",
    "code_level",
    "grid_from_settings",
    "grid_index",
    "is_true",
    "load_grid",
    "load_point_grid",
    "normalise_code",
    "read_grid_metadata",
    "refresh_people",
    "summarise_grid_day",
]

log = logging.getLogger(__name__)

#: Grid levels from the top down.
LEVELS: Final[tuple[str, ...]] = ("city", "county", "township", "village")
#: Significant digits of a code at each level (the rest of the 12 digits are zeros).
LEVEL_DIGITS: Final[dict[str, int]] = {"city": 4, "county": 6, "township": 9, "village": 12}
LEVEL_NAMES_ZH: Final[dict[str, str]] = {
    "city": "市",
    "county": "县",
    "township": "乡",
    "village": "村",
}

#: Flags an attribution can carry (``grid_flags``, comma-separated), in this order.
FLAGS: Final[dict[str, str]] = {
    "boundary_crossing": "the pixel footprint overlaps more than one village cell",
    "not_centre_cell": "the cell overlapped most is not the one containing the pixel centre",
    "centre_in_gap": "the pixel centre lies in no cell; the footprint overlaps one",
    "gap_nearest": "nothing overlaps the pixel; it went to the nearest cell within tolerance",
    "outside_grid": "no cell within the gap tolerance",
    "county_mismatch": "the grid's county differs from the county found in the boundaries",
    "no_chief": "no field chief (田长) of the village on duty at the acquisition time",
    "point_only": "no pixel size: attributed by the centre point only",
}

#: Columns :func:`attribute_grid` returns (besides the index).
GRID_COLUMNS: Final[tuple[str, ...]] = (
    "city_code",
    "city_name",
    "county_code",
    "county_name",
    "township_code",
    "township_name",
    "village_code",
    "village_name",
    "share",
    "touched",
    "method",
    "gap_distance_m",
    "grid_flags",
)

_DIGITS = re.compile(r"^\d+$")
_CODE_FLOAT = re.compile(r"^(\d+)\.0+$")


# --------------------------------------------------------------------------- codes


def normalise_code(code: object) -> str | None:
    """A division code in its 12-digit form, or ``None`` if it is not a code.

    ``2303`` → ``230300000000``; ``230302001`` → ``230302001000``; ``230302001201.0`` (Excel)
    → ``230302001201``.  Codes of 4, 6, 9 or 12 digits are accepted.
    """
    if code is None or (isinstance(code, float) and np.isnan(code)):
        return None
    s = str(code).strip()
    s = _CODE_FLOAT.sub(r"\1", s)
    if not _DIGITS.match(s) or len(s) not in (4, 6, 9, 12):
        return None
    return s.ljust(12, "0")


def code_level(code: str) -> str:
    """The level a 12-digit code denotes, read from its trailing zeros."""
    if code[4:] == "0" * 8:
        return "city"
    if code[6:] == "0" * 6:
        return "county"
    if code[9:] == "000":
        return "township"
    return "village"


def ancestor(code: str, level: str) -> str:
    """The 12-digit code of ``code``'s ancestor at ``level`` (by prefix)."""
    return code[: LEVEL_DIGITS[level]].ljust(12, "0")


# --------------------------------------------------------------------------- the grid


@dataclass(frozen=True)
class Repair:
    """An invalid cell geometry repaired on loading (``make_valid``).

    ``safe`` when the repair kept the cell's area within 1 % (e.g. a spike or a repeated
    vertex); otherwise the shape changed (e.g. a self-intersecting "bow-tie") and someone
    should look at it.  Areas in square degrees.
    """

    level: str
    code: str
    name: str | None
    reason: str
    area_before: float
    area_after: float
    safe: bool
    lon: float
    lat: float


@dataclass(frozen=True, eq=False)
class Grid:
    """A loaded grid: four levels of cells in WGS-84.

    Attributes
    ----------
    layers
        Level -> GeoDataFrame with ``code`` (12 digits), ``name``, ``parent_code``,
        ``synthetic`` (bool) and ``geometry``, in file order.
    metadata
        The file's ``metadata`` table.
    synthetic
        True when the metadata or any cell says the geometry is synthetic.
    repairs
        Invalid geometries made valid on loading.
    """

    layers: dict[str, gpd.GeoDataFrame]
    metadata: dict[str, str]
    path: str
    datum: str
    sha256: str
    synthetic: bool
    repairs: list[Repair] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.metadata.get("name") or Path(self.path).stem

    @property
    def villages(self) -> gpd.GeoDataFrame:
        return self.layers["village"]

    def names(self) -> dict[str, str]:
        """Code -> name over all levels."""
        out: dict[str, str] = {}
        for level in LEVELS:
            lay = self.layers[level]
            out.update(zip(lay["code"], lay["name"].fillna(""), strict=True))
        return out

    def level_of(self) -> dict[str, str]:
        """Code -> level over all levels."""
        return {c: level for level in LEVELS for c in self.layers[level]["code"]}


def _read_metadata(path: Path, layers: list[str]) -> dict[str, str]:
    if "metadata" not in layers:
        return {}
    import pyogrio

    df = pyogrio.read_dataframe(path, layer="metadata", read_geometry=False)
    if not {"key", "value"} <= set(df.columns):
        raise GridError(f"{path}: the metadata table needs 'key' and 'value' columns")
    return {
        str(k): "" if v is None else str(v) for k, v in zip(df["key"], df["value"], strict=True)
    }


#: Values of the grid format's yes/no fields (``synthetic``) that mean yes.
TRUE_VALUES: Final = frozenset({"1", "true", "yes", "y", "t", "是"})


def is_true(value: object) -> bool:
    """Whether a yes/no field of the grid format says yes."""
    return str(value).strip().lower() in TRUE_VALUES


def read_grid_metadata(path: str | Path) -> dict[str, str]:
    """A grid file's ``metadata`` table as a dict (empty when the file or table is missing)."""
    import pyogrio

    p = Path(path)
    if not p.is_file():
        return {}
    return _read_metadata(p, [str(r[0]) for r in pyogrio.list_layers(p)])


def _polygonal(g: Any) -> Any:
    if g is None:
        return None
    if shapely.get_type_id(g) in (3, 6):
        return g
    parts = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
    return shapely.union_all(parts) if parts else None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_grid(path: str | Path, *, datum: str | None = None) -> Grid:
    """Load a grid GeoPackage (or any GDAL file with the four layers), in WGS-84.

    Parameters
    ----------
    path
        The grid file.
    datum
        The datum of its coordinates when the file's metadata does not declare one
        (default ``wgs84``).  If both are given they must agree.

    Raises
    ------
    GridError
        If the file is unreadable, a layer or column is missing, a code is not a 4/6/9/12-digit
        division code or is repeated, a geometry is missing or not a polygon, or the datum is
        unknown or contradicts the file's declaration.  Invalid polygons are not an error: they
        are repaired (``make_valid``) and listed in :attr:`Grid.repairs`.
    """
    import geopandas as gpd_
    import pyogrio

    p = Path(path)
    if not p.is_file():
        raise GridError(f"{p}: no such grid file")
    try:
        layers = [str(r[0]) for r in pyogrio.list_layers(p)]
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise GridError(f"{p}: not a readable grid file ({exc})") from exc
    meta = _read_metadata(p, layers)
    declared = meta.get("datum")
    try:
        dat = normalise_datum(declared or datum or "wgs84")
        if declared and datum and normalise_datum(datum) != dat:
            raise GridError(
                f"{p}: the file's metadata says its datum is {declared}, but {datum} was given"
            )
    except ConfigError as exc:
        raise GridError(f"{p}: {exc}") from exc
    missing = [lv for lv in LEVELS if lv not in layers]
    if missing:
        raise GridError(
            f"{p}: missing layer(s) {', '.join(missing)}; a grid has the layers "
            f"{', '.join(LEVELS)} (layers found: {', '.join(layers) or 'none'})"
        )
    meta_synth = is_true(meta.get("synthetic", "false"))
    repairs: list[Repair] = []
    out: dict[str, gpd.GeoDataFrame] = {}
    for level in LEVELS:
        try:
            gdf = pyogrio.read_dataframe(p, layer=level)
        except Exception as exc:
            raise GridError(f"{p}: cannot read layer {level!r} ({exc})") from exc
        what = f"{p.name}:{level}"
        cols = [c for c in ("code", "name", "parent_code") if c not in gdf.columns]
        if level == "city" and cols == ["parent_code"]:
            gdf["parent_code"] = None
            cols = []
        if cols:
            raise GridError(f"{what}: missing column(s) {', '.join(cols)}")
        if gdf.crs is not None and not gdf.crs.is_geographic:
            if dat != "wgs84":
                raise GridError(f"{what}: {dat} coordinates must be longitude/latitude")
            gdf = gdf.to_crs("EPSG:4326")
        raw = gdf["code"].astype(object)
        codes = raw.map(normalise_code)
        bad = codes.isna()
        if bad.any():
            rows = (np.flatnonzero(bad.to_numpy()) + 1)[:10].tolist()
            vals = raw[bad].astype(str).tolist()[:5]
            raise GridError(
                f"{what}: features {rows} have no valid division code (4, 6, 9 or 12 digits): "
                f"{vals}"
            )
        dup = codes[codes.duplicated(keep=False)]
        if len(dup):
            raise GridError(
                f"{what}: duplicate codes {sorted(set(dup))[:10]} "
                "(one feature per cell: dissolve multi-part cells)"
            )
        parents = gdf["parent_code"].astype(object).map(normalise_code)
        geoms = np.asarray(gdf.geometry.to_numpy(), dtype=object)
        empty = pd.isna(pd.Series(geoms)).to_numpy() | shapely.is_empty(geoms)
        if empty.any():
            bad_codes = codes[empty].tolist()[:10]
            raise GridError(f"{what}: cells without geometry: {bad_codes}")
        kinds = shapely.get_type_id(geoms)
        if not np.isin(kinds, [3, 6]).all():
            bad_codes = codes[~np.isin(kinds, [3, 6])].tolist()[:10]
            raise GridError(f"{what}: cells must be polygons; these are not: {bad_codes}")
        if dat != "wgs84":

            def fn(xy: np.ndarray) -> np.ndarray:
                x, y = to_wgs84(xy[:, 0], xy[:, 1], dat)
                return np.column_stack([x, y])

            geoms = shapely.transform(geoms, fn)
        invalid = ~shapely.is_valid(geoms)
        for i in np.flatnonzero(invalid):
            reason = str(shapely.is_valid_reason(geoms[i]))
            fixed = _polygonal(shapely.make_valid(geoms[i]))
            if fixed is None or shapely.is_empty(fixed):
                raise GridError(
                    f"{what}: cell {codes.iloc[i]} has an invalid geometry ({reason}) that "
                    "cannot be repaired"
                )
            # The ring area before (signed shoelace sum: a bow-tie's lobes cancel) and after.
            before = abs(float(shapely.area(geoms[i])))
            after = float(shapely.area(fixed))
            x, y = shapely.get_coordinates(shapely.point_on_surface(fixed))[0]
            repairs.append(
                Repair(
                    level=level,
                    code=str(codes.iloc[i]),
                    name=gdf["name"].iloc[i],
                    reason=reason,
                    area_before=before,
                    area_after=after,
                    safe=abs(after - before) <= 0.01 * max(after, 1e-30),
                    lon=float(x),
                    lat=float(y),
                )
            )
            geoms[i] = fixed
        synth = (
            gdf["synthetic"].map(is_true).to_numpy(dtype=bool)
            if "synthetic" in gdf.columns
            else np.full(len(gdf), meta_synth, dtype=bool)
        )
        out[level] = gpd_.GeoDataFrame(
            {
                "code": codes.to_numpy(dtype=object),
                "name": gdf["name"].astype(object).where(gdf["name"].notna(), None).to_numpy(),
                "parent_code": parents.to_numpy(dtype=object),
                "synthetic": synth,
            },
            geometry=list(geoms),
            crs="EPSG:4326",
        )
    synthetic = meta_synth or any(bool(out[lv]["synthetic"].any()) for lv in LEVELS)
    if repairs:
        log.warning("%s: %d invalid geometries repaired", p, len(repairs))
    return Grid(
        layers=out,
        metadata=meta,
        path=str(p),
        datum=dat,
        sha256=_sha256(p),
        synthetic=synthetic,
        repairs=repairs,
    )


@functools.lru_cache(maxsize=4)
def _cached_grid(path: str, mtime_ns: int, size: int, datum: str) -> Grid:
    return load_grid(path, datum=datum or None)


def grid_from_settings(settings: Settings) -> Grid | None:
    """The configured grid (``settings.grids_path``), or ``None`` when there is no file."""
    p = Path(settings.grids_path)
    if not p.is_file():
        return None
    st = p.stat()
    # The file's own declaration wins; the setting is for files that declare none (a
    # non-default setting that contradicts the file is refused by load_grid).
    datum = settings.grids_datum if normalise_datum(settings.grids_datum) != "wgs84" else ""
    return _cached_grid(str(p), st.st_mtime_ns, st.st_size, datum)


# --------------------------------------------------------------------------- attribution


class GridIndex:
    """Village cells of a grid, indexed for attribution, with each village's chain of codes.

    Parameters
    ----------
    grid
        A loaded grid.
    """

    def __init__(self, grid: Grid) -> None:
        from firewatch.spatial.grid_index import TileIndex

        self.grid = grid
        v = grid.layers["village"]
        codes = v["code"].to_numpy(dtype=object)
        names = grid.names()
        levels = {lv: set(grid.layers[lv]["code"]) for lv in LEVELS}
        parent = {
            c: p
            for lv in LEVELS
            for c, p in zip(grid.layers[lv]["code"], grid.layers[lv]["parent_code"], strict=True)
        }

        def up(child: str, level: str) -> str:
            # The declared parent when it is a cell of that level, else the code prefix.
            p = parent.get(child)
            return p if isinstance(p, str) and p in levels[level] else ancestor(child, level)

        township = [up(c, "township") for c in codes]
        county = [up(t, "county") for t in township]
        city = [up(c, "city") for c in county]
        self.chain = pd.DataFrame(
            {
                "village_code": codes,
                "village_name": [names.get(c) for c in codes],
                "township_code": township,
                "township_name": [names.get(c) for c in township],
                "county_code": county,
                "county_name": [names.get(c) for c in county],
                "city_code": city,
                "city_name": [names.get(c) for c in city],
            }
        )
        # JSON pieces of each village for the ``touched`` lists (built once, not per point).
        self._json_whole = np.array(
            [f'[{{"code": "{c}", "share": 1.0}}]' for c in codes], dtype=object
        )
        self._json_point = np.array([f'[{{"code": "{c}"}}]' for c in codes], dtype=object)
        self._json_item = _text_table([f'{{"code": "{c}", "share": ' for c in codes])
        self.tiles: TileIndex = TileIndex(v.geometry.to_numpy())
        self._tree: shapely.STRtree | None = None
        county = grid.layers["county"]
        self.county_codes = set(county["code"])
        self.counties = shapely.union_all(county.geometry.to_numpy())
        shapely.prepare(self.counties)

    @property
    def tree(self) -> shapely.STRtree:
        if self._tree is None:
            self._tree = shapely.STRtree(self.tiles.polygons)
        return self._tree

    def nearest(
        self, lon: np.ndarray, lat: np.ndarray, *, tolerance_m: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Nearest village within ``tolerance_m`` of each point (-1 if none) and the distance
        in metres (on a local tangent plane, good to < 0.1 % at these distances)."""
        from firewatch.spatial.footprint import km_per_degree

        n = len(lon)
        best = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.nan)
        if n == 0 or tolerance_m <= 0:
            return best, dist
        kx, ky = km_per_degree(lat)
        reach = tolerance_m / 1000.0 / np.minimum(kx, ky)  # degrees, generous in latitude
        pts = shapely.points(lon, lat)
        qi, qv = self.tree.query(
            pts, predicate="dwithin", distance=float(np.nanmax(reach)) if n else 0.0
        )
        if not len(qi):
            return best, dist
        line = shapely.shortest_line(pts[qi], self.tiles.polygons[qv])
        xy = shapely.get_coordinates(line).reshape(-1, 2, 2)
        d = 1000.0 * np.hypot(
            (xy[:, 1, 0] - xy[:, 0, 0]) * kx[qi], (xy[:, 1, 1] - xy[:, 0, 1]) * ky[qi]
        )
        order = np.lexsort((qv, d, qi))
        qi, qv, d = qi[order], qv[order], d[order]
        first = np.r_[True, qi[1:] != qi[:-1]]
        qi, qv, d = qi[first], qv[first], d[first]
        ok = d <= tolerance_m
        best[qi[ok]] = qv[ok]
        dist[qi[ok]] = d[ok]
        return best, dist

    def attribute(
        self,
        frame: pd.DataFrame,
        *,
        footprint: bool = True,
        gap_tolerance_m: float = 500.0,
    ) -> pd.DataFrame:
        """Attribute points (canonical detections, or any frame with ``longitude`` and
        ``latitude``) to village cells.

        With ``footprint`` and the columns ``scan`` and ``track`` (km), each detection's pixel
        footprint is overlapped with the cells and the cell with the largest overlap is
        responsible; otherwise the cell containing the point is.  ``satellite`` and
        ``daynight`` orient the footprint (:mod:`firewatch.spatial.footprint`).

        Returns
        -------
        pandas.DataFrame
            Indexed like ``frame``, with :data:`GRID_COLUMNS`: the chain of codes and names,
            ``share`` (the responsible cell's share of the footprint; ``NaN`` for point-only),
            ``touched`` (JSON list of ``{"code", "share"}`` of every cell the footprint
            overlaps, largest first), ``method`` (``footprint``, ``point``, ``nearest`` or
            ``none``), ``gap_distance_m`` and ``grid_flags``.
        """
        from firewatch.spatial.footprint import footprint_angle

        n = len(frame)
        lon = pd.to_numeric(frame["longitude"], errors="coerce").to_numpy(dtype="float64")
        lat = pd.to_numeric(frame["latitude"], errors="coerce").to_numpy(dtype="float64")
        located = np.isfinite(lon) & np.isfinite(lat)
        vid = np.full(n, -1, dtype=np.int64)
        share = np.full(n, np.nan)
        method = _filled(n, "none")
        touched = _filled(n, "[]")
        flag = {name: np.zeros(n, dtype=bool) for name in FLAGS}
        has_fp = np.zeros(n, dtype=bool)
        scan = track = np.full(n, np.nan)
        if footprint and {"scan", "track"} <= set(frame.columns):
            scan = pd.to_numeric(frame["scan"], errors="coerce").to_numpy(dtype="float64")
            track = pd.to_numeric(frame["track"], errors="coerce").to_numpy(dtype="float64")
            has_fp = np.isfinite(scan) & np.isfinite(track) & (scan > 0) & (track > 0)
        has_fp &= located
        fp_rows = np.flatnonzero(has_fp)
        if len(fp_rows):

            def rows_of(values: np.ndarray) -> np.ndarray:
                return values if len(fp_rows) == n else values[fp_rows]  # usually all rows

            sat = rows_of(frame["satellite"].to_numpy()) if "satellite" in frame else None
            dn = rows_of(frame["daynight"].to_numpy()) if "daynight" in frame else None
            angle = footprint_angle(rows_of(lat), sat, dn)
            # The responsible cell: the largest overlap; ties go to the centre's cell, then to
            # the lower cell number.  Each pixel's cells come in that order, for ``touched``.
            fo = self.tiles.footprint_overlaps(
                rows_of(lon), rows_of(lat), rows_of(scan), rows_of(track), angle
            )
            resp = fo.top
            placed = fp_rows[resp >= 0]
            vid[placed] = resp[resp >= 0]
            share[placed] = (fo.top_km2 / fo.footprint_km2)[resp >= 0]
            method[placed] = "footprint"
            # touched: the single-cell lists in one look-up, the others joined per pixel.
            one = fo.cells == 1
            touched[fp_rows[one]] = self._json_whole[resp[one]]
            multi = np.flatnonzero(fo.cells[fo.point] >= 2)
            if len(multi):
                mp, mv = fo.point[multi], fo.polygon[multi]
                ms = fo.area_km2[multi] / fo.footprint_km2[mp]
                m_starts = np.flatnonzero(np.r_[True, mp[1:] != mp[:-1]])
                touched[fp_rows[mp[m_starts]]] = _json_lists(self._json_item, mv, ms, m_starts)
            centre = fo.centre
            flag["boundary_crossing"][fp_rows] = fo.cells >= 2
            flag["not_centre_cell"][fp_rows] = (resp >= 0) & (centre >= 0) & (resp != centre)
            flag["centre_in_gap"][fp_rows] = (resp >= 0) & (centre < 0)
        pt_rows = np.flatnonzero(~has_fp & located)
        if len(pt_rows):
            every = len(pt_rows) == n  # usually all rows or none
            loc = self.tiles.locate(lon if every else lon[pt_rows], lat if every else lat[pt_rows])
            got = loc >= 0
            vid[pt_rows[got]] = loc[got]
            method[pt_rows[got]] = "point"
            touched[pt_rows[got]] = self._json_point[loc[got]]
            flag["point_only"][pt_rows] = True
        gap_dist = np.full(n, np.nan)
        lost = np.flatnonzero((vid < 0) & located)
        if len(lost):
            # Only points of this grid's counties may be pulled across a gap: a point in the
            # next county over is that county's, however close the grid's edge is.
            ours = shapely.contains_xy(self.counties, lon[lost], lat[lost])
            if "county_code" in frame.columns:
                cc = frame["county_code"].to_numpy(dtype=object)[lost]
                ours |= pd.Series(cc).map(normalise_code).isin(self.county_codes).to_numpy()
            flag["outside_grid"][lost[~ours]] = True
            lost = lost[ours]
        if len(lost):
            near, d = self.nearest(lon[lost], lat[lost], tolerance_m=gap_tolerance_m)
            got = near >= 0
            vid[lost[got]] = near[got]
            gap_dist[lost[got]] = d[got]
            method[lost[got]] = "nearest"
            flag["gap_nearest"][lost[got]] = True
            flag["outside_grid"][lost[~got]] = True
        out = pd.DataFrame(index=frame.index)
        chain = self.chain.reindex(np.where(vid >= 0, vid, -1))
        for col in (
            "city_code",
            "city_name",
            "county_code",
            "county_name",
            "township_code",
            "township_name",
            "village_code",
            "village_name",
        ):
            out[col] = chain[col].to_numpy(dtype=object)
        out["share"] = share
        out["touched"] = touched
        out["method"] = method
        out["gap_distance_m"] = gap_dist
        if "county_code" in frame.columns:
            theirs = frame["county_code"].map(normalise_code).to_numpy(dtype=object)
            ours = out["county_code"].to_numpy(dtype=object)
            flag["county_mismatch"] = pd.notna(theirs) & pd.notna(ours) & (theirs != ours)
        out["grid_flags"] = join_flags(flag, n)
        return out


def join_flags(flag: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Comma-separated flag names per row, in :data:`FLAGS` order."""
    text = _filled(n, "")
    empty = np.ones(n, dtype=bool)
    for name in FLAGS:
        m = flag.get(name)
        if m is None or not m.any():
            continue
        text[m & empty] = name
        more = m & ~empty
        if more.any():
            text[more] = text[more] + ("," + name)
        empty &= ~m
    return text


def _filled(n: int, value: str) -> np.ndarray:
    """An object array of ``n`` times ``value`` (``np.full`` is ~20× slower for objects)."""
    out = np.empty(n, dtype=object)
    out[:] = value
    return out


def _text_table(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Texts as one UTF-8 buffer and the offsets of each (for compiled string building)."""
    raw = [t.encode("utf-8") for t in texts]
    off = np.zeros(len(raw) + 1, dtype=np.int64)
    off[1:] = np.cumsum([len(r) for r in raw])
    return np.frombuffer(b"".join(raw), dtype=np.uint8), off


#: JSON text of the shares 0.0000 .. 1.0000 (a look-up is much faster than formatting floats).
_SHARE_BYTES: Final = _text_table([json.dumps(round(i / 10_000, 4)) for i in range(10_001)])


def _json_lists(
    items: tuple[np.ndarray, np.ndarray], poly: np.ndarray, shares: np.ndarray, starts: np.ndarray
) -> np.ndarray:
    """``[{"code": ..., "share": ...}, ...]`` per group of consecutive rows (groups start at
    ``starts``); ``items`` holds each polygon's ``{"code": "...", "share": `` text
    (:func:`_text_table`).  Written as one buffer by compiled code, decoded once, split."""
    from firewatch.spatial import _kernels  # numba: imported when first needed

    out = np.empty(len(starts), dtype=object)
    if not len(poly):
        return out
    q = np.clip(np.rint(shares * 10_000), 0, 10_000).astype(np.int64)
    share_buf, share_off = _SHARE_BYTES
    buf = np.empty(_kernels.json_size(poly, q, starts, items[1], share_off), dtype=np.uint8)
    _kernels.json_lists(poly, q, starts, items[0], items[1], share_buf, share_off, buf)
    out[:] = buf.tobytes().decode("utf-8").split("\x00")[:-1]
    return out


@functools.lru_cache(maxsize=2)
def _cached_index(grid_id: int, grid: Grid) -> GridIndex:
    return GridIndex(grid)


def grid_index(grid: Grid) -> GridIndex:
    """A (cached) :class:`GridIndex` for ``grid``."""
    return _cached_index(id(grid), grid)


def attribute_grid(
    frame: pd.DataFrame,
    settings: Settings,
    *,
    footprint: bool | None = None,
) -> pd.DataFrame | None:
    """Attribute ``frame``'s points to the configured grid; ``None`` when no grid is set up.

    See :meth:`GridIndex.attribute` for the columns.
    """
    grid = grid_from_settings(settings)
    if grid is None:
        return None
    gs = settings.grid
    return grid_index(grid).attribute(
        frame,
        footprint=gs.footprint if footprint is None else footprint,
        gap_tolerance_m=gs.gap_tolerance_m,
    )


# --------------------------------------------------------------------------- the store

#: Columns :func:`load_point_grid` returns (indexed by ``detection_id``).
POINT_GRID_COLUMNS: Final[tuple[str, ...]] = (
    "township_code",
    "township_name",
    "village_code",
    "village_name",
    "grid_flags",
    "field_chief",
    "field_chief_phone",
    "grid_member",
    "grid_member_phone",
    "grid_synthetic",
)

_CHUNK: Final = 500


@dataclass
class GridRun:
    """What a grid attribution run did."""

    grid_name: str
    synthetic: bool
    attributed: int  # detections given a village cell
    outside: int  # detections near the grid but in no cell within tolerance
    flags: dict[str, int]


def _chunks(seq: Sequence[str], n: int = _CHUNK) -> list[Sequence[str]]:
    return [seq[i : i + n] for i in range(0, len(seq), n)]


def _people_for(engine: Engine, att: pd.DataFrame, days: pd.Series) -> pd.DataFrame:
    """People on duty at every level of each attribution's chain on its Beijing day."""
    from firewatch.spatial.registry import load_duties, people_on_duty

    duties = load_duties(engine)
    parts = []
    for level in LEVELS:
        col = f"{level}_code"
        ok = att[col].notna()
        parts.append(
            pd.DataFrame(
                {
                    "item": att.loc[ok, "detection_id"].to_numpy(),
                    "level": level,
                    "grid_code": att.loc[ok, col].to_numpy(),
                    "day": days[ok].to_numpy(),
                }
            )
        )
    cells = pd.concat(parts, ignore_index=True)
    return people_on_duty(duties, cells)


def _with_no_chief(flags: pd.Series, att: pd.DataFrame, people: pd.DataFrame) -> pd.Series:
    """``flags`` with ``no_chief`` set where a village has no field chief on duty (and cleared
    elsewhere), the flags kept in :data:`FLAGS` order."""
    chiefs = people[(people["level"] == "village") & (people["role"] == "field_chief")]
    has = att["detection_id"].isin(set(chiefs["item"]))
    missing = (att["village_code"].notna() & ~has).to_numpy()
    text = flags.fillna("").astype(str)
    flag = {
        name: text.str.contains(rf"(?:^|,){name}(?:,|$)", regex=True).to_numpy()
        for name in FLAGS
        if name != "no_chief"
    }
    flag["no_chief"] = missing
    return pd.Series(join_flags(flag, len(text)), index=flags.index)


def _write(engine: Engine, rows: pd.DataFrame, people: pd.DataFrame, ids: Sequence[str]) -> None:
    from sqlalchemy import delete, insert

    from firewatch.spatial.grid_models import GridAttribution, GridAttributionPerson

    recs = rows.astype(object).where(rows.notna(), None).to_dict("records")
    ppl = people.rename(columns={"item": "detection_id"})
    prec = ppl.astype(object).where(ppl.notna(), None).to_dict("records")
    with engine.begin() as conn:
        for chunk in _chunks(list(ids)):
            conn.execute(
                delete(GridAttributionPerson).where(GridAttributionPerson.detection_id.in_(chunk))
            )
            conn.execute(delete(GridAttribution).where(GridAttribution.detection_id.in_(chunk)))
        for i in range(0, len(recs), 2000):
            conn.execute(insert(GridAttribution), recs[i : i + 2000])
        for i in range(0, len(prec), 2000):
            conn.execute(insert(GridAttributionPerson), prec[i : i + 2000])


def attribute_stored(
    engine: Engine,
    settings: Settings,
    *,
    first: dt.date | None = None,
    last: dt.date | None = None,
    ids: Sequence[str] | None = None,
) -> GridRun | None:
    """Attribute stored detections (Beijing days ``first``..``last``, or ``ids``) to the
    configured grid and store the cells, chains and people on duty.  Idempotent: earlier
    attributions of these detections are replaced.  ``None`` when no grid is configured.
    """
    from firewatch.schema import BEIJING_TZ
    from firewatch.store import repo

    grid = grid_from_settings(settings)
    if grid is None:
        return None
    det = repo.load_detections(engine, first=first, last=last, region=None)
    if ids is not None:
        det = det[det["detection_id"].isin(set(ids))]
    all_ids = det["detection_id"].tolist()
    gs = settings.grid
    # Only detections near the grid are its business.
    from firewatch.spatial.footprint import km_per_degree

    w, s, e, n = shapely.total_bounds(grid.villages.geometry.to_numpy())
    kx, ky = km_per_degree((s + n) / 2.0)
    pad_x = (gs.gap_tolerance_m / 1000.0 + 5.0) / float(kx)  # + the largest pixel
    pad_y = (gs.gap_tolerance_m / 1000.0 + 5.0) / float(ky)
    near = det["longitude"].between(w - pad_x, e + pad_x) & det["latitude"].between(
        s - pad_y, n + pad_y
    )
    det = det[near].reset_index(drop=True)
    att = grid_index(grid).attribute(
        det, footprint=gs.footprint, gap_tolerance_m=gs.gap_tolerance_m
    )
    att.insert(0, "detection_id", det["detection_id"].to_numpy())
    days = pd.Series(
        [t.date() for t in pd.to_datetime(det["acq_time_utc"], utc=True).dt.tz_convert(BEIJING_TZ)],
        index=att.index,
        dtype=object,
    )
    people = _people_for(engine, att, days)
    att["grid_flags"] = _with_no_chief(att["grid_flags"], att, people)
    rows = pd.DataFrame(
        {
            "detection_id": att["detection_id"],
            "grid_name": grid.name,
            "grid_sha256": grid.sha256,
            "synthetic": grid.synthetic,
            **{c: att[c] for c in GRID_COLUMNS if c not in ("grid_flags",)},
            "flags": att["grid_flags"],
            "attributed_at": pd.Timestamp.now(tz="UTC").to_pydatetime(),
        }
    )
    _write(engine, rows, people, all_ids)
    counts: dict[str, int] = {}
    for f in att["grid_flags"]:
        for x in filter(None, f.split(",")):
            counts[x] = counts.get(x, 0) + 1
    run = GridRun(
        grid_name=grid.name,
        synthetic=grid.synthetic,
        attributed=int(att["village_code"].notna().sum()),
        outside=int(att["village_code"].isna().sum()),
        flags=counts,
    )
    log.info(
        "grid %s: %d detections attributed, %d outside, flags %s",
        grid.name,
        run.attributed,
        run.outside,
        counts,
    )
    return run


def refresh_people(engine: Engine) -> int:
    """Re-resolve the people on duty for every stored attribution (after a registry import).

    Returns the number of attributions refreshed.
    """
    from sqlalchemy import select

    from firewatch.schema import BEIJING_TZ
    from firewatch.spatial.grid_models import GridAttribution
    from firewatch.store.models import Detection

    table = cast("Table", GridAttribution.__table__)
    stmt = select(*table.columns, Detection.acq_time_utc).join(
        Detection, Detection.detection_id == GridAttribution.detection_id
    )
    with engine.connect() as conn:
        res = conn.execute(stmt)
        att = pd.DataFrame(res.all(), columns=list(res.keys()))
    if att.empty:
        return 0
    days = pd.to_datetime(att["acq_time_utc"], utc=True).dt.tz_convert(BEIJING_TZ).dt.date
    people = _people_for(engine, att, days)
    att["flags"] = _with_no_chief(att["flags"], att, people)
    rows = att.drop(columns=["acq_time_utc"])
    _write(engine, rows, people, att["detection_id"].tolist())
    return len(att)


def load_point_grid(engine: Engine, ids: Sequence[str]) -> pd.DataFrame:
    """The grid cell and the village's people on duty for detections ``ids``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``detection_id`` (only detections that have an attribution), with
        :data:`POINT_GRID_COLUMNS`: ``field_chief``/``field_chief_phone`` the village's field
        chief (田长) on duty at the acquisition time, ``grid_member``/``grid_member_phone`` its
        grid members (网格员, joined with 、), ``grid_synthetic`` whether the grid geometry is
        synthetic.  Names and phones are internal data: public editions drop them.
    """
    from sqlalchemy import select

    from firewatch.spatial.grid_models import GridAttribution, GridAttributionPerson

    ids = [str(i) for i in ids]
    a = GridAttribution
    cols = [
        a.detection_id,
        a.township_code,
        a.township_name,
        a.village_code,
        a.village_name,
        a.flags,
        a.synthetic,
    ]
    p = GridAttributionPerson
    att_rows: list[Any] = []
    ppl_rows: list[Any] = []
    with engine.connect() as conn:
        for chunk in _chunks(ids):
            att_rows += conn.execute(select(*cols).where(a.detection_id.in_(chunk))).all()
            ppl_rows += conn.execute(
                select(p.detection_id, p.role, p.name, p.phone)
                .where(p.detection_id.in_(chunk), p.level == "village")
                .order_by(p.detection_id, p.id)
            ).all()
    att = pd.DataFrame(
        att_rows,
        columns=[
            "detection_id",
            "township_code",
            "township_name",
            "village_code",
            "village_name",
            "grid_flags",
            "grid_synthetic",
        ],
    ).set_index("detection_id")
    ppl = pd.DataFrame(ppl_rows, columns=["detection_id", "role", "name", "phone"])

    def joined(role: str, col: str) -> pd.Series:
        sel = ppl[ppl["role"] == role]
        return sel.groupby("detection_id")[col].agg("、".join)

    att["field_chief"] = joined("field_chief", "name")
    att["field_chief_phone"] = joined("field_chief", "phone")
    att["grid_member"] = joined("grid_member", "name")
    att["grid_member_phone"] = joined("grid_member", "phone")
    att["grid_synthetic"] = att["grid_synthetic"].astype(bool)
    out = att.loc[:, list(POINT_GRID_COLUMNS)]
    return out.astype(object).where(out.notna(), None).astype({"grid_synthetic": bool})


@dataclass
class GridDaySummary:
    """Fire points of a Beijing day per township, village and field chief."""

    day: dt.date
    grid_name: str
    synthetic: bool
    total: int  # points with a village cell
    per_township: pd.DataFrame  # county_name, township_code, township_name, points
    per_village: pd.DataFrame  # township_name, village_code, village_name, field_chief, points
    per_chief: pd.DataFrame  # field_chief, field_chief_phone, villages, points
    points: pd.DataFrame  # one row per point with its chain and chiefs
    flags: dict[str, int]


def summarise_grid_day(engine: Engine, settings: Settings, day: dt.date) -> GridDaySummary | None:
    """Per-grid summary of a Beijing day's stored detections; ``None`` without a grid."""
    from sqlalchemy import select

    from firewatch.spatial.grid_models import GridAttribution
    from firewatch.store import repo

    grid = grid_from_settings(settings)
    if grid is None:
        return None
    det = repo.load_detections(engine, first=day, last=day, region=None)
    ids = det["detection_id"].tolist()
    pg = load_point_grid(engine, ids)
    a = GridAttribution
    extra: list[Any] = []
    with engine.connect() as conn:
        for chunk in _chunks(ids):
            extra += conn.execute(
                select(a.detection_id, a.county_name, a.share, a.method).where(
                    a.detection_id.in_(chunk)
                )
            ).all()
    ex = pd.DataFrame(extra, columns=["detection_id", "grid_county", "share", "method"])
    pts = (
        det[["detection_id", "acq_time_bjt", "latitude", "longitude", "satellite"]]
        .merge(pg.reset_index(), on="detection_id")
        .merge(ex, on="detection_id")
    )
    pts = pts[pts["village_code"].notna()].reset_index(drop=True)
    per_township = (
        pts.groupby(["grid_county", "township_code", "township_name"], dropna=False)
        .size()
        .rename("points")
        .reset_index()
        .rename(columns={"grid_county": "county_name"})
        .sort_values(["points", "township_code"], ascending=[False, True], ignore_index=True)
    )
    per_village = (
        pts.fillna({"field_chief": "—"})
        .groupby(["township_name", "village_code", "village_name", "field_chief"], dropna=False)
        .size()
        .rename("points")
        .reset_index()
        .sort_values(["points", "village_code"], ascending=[False, True], ignore_index=True)
    )
    chiefs = pts[pts["field_chief"].notna()]
    per_chief = (
        chiefs.groupby(["field_chief", "field_chief_phone"])
        .agg(villages=("village_code", "nunique"), points=("detection_id", "size"))
        .reset_index()
        .sort_values(["points", "field_chief"], ascending=[False, True], ignore_index=True)
    )
    counts: dict[str, int] = {}
    for f in pts["grid_flags"].fillna(""):
        for x in filter(None, str(f).split(",")):
            counts[x] = counts.get(x, 0) + 1
    return GridDaySummary(
        day=day,
        grid_name=grid.name,
        synthetic=grid.synthetic,
        total=len(pts),
        per_township=per_township,
        per_village=per_village,
        per_chief=per_chief,
        points=pts,
        flags=counts,
    )


def _table_days(table: pd.DataFrame) -> pd.Series:
    """Beijing day of each row of an arbitrary table: ``acq_time_bjt``, or FIRMS's
    ``acq_date`` (+ ``acq_time``, UTC), else today."""
    from firewatch.schema import BEIJING_TZ

    today = pd.Timestamp.now(tz=BEIJING_TZ).date()
    if "acq_time_bjt" in table.columns:
        t = pd.to_datetime(table["acq_time_bjt"], errors="coerce", utc=True)
    elif "acq_date" in table.columns:
        hhmm = (
            table["acq_time"].astype(str).str.replace(":", "", regex=False).str.zfill(4)
            if "acq_time" in table.columns
            else pd.Series("0000", index=table.index)
        )
        t = pd.to_datetime(
            table["acq_date"].astype(str) + " " + hhmm, errors="coerce", format="mixed", utc=True
        )
    else:
        return pd.Series(today, index=table.index, dtype=object)
    bjt = t.dt.tz_convert(BEIJING_TZ)
    return pd.Series(
        [d.date() if pd.notna(d) else today for d in bjt], index=table.index, dtype=object
    )


def _duties_if_stored(settings: Settings) -> pd.DataFrame | None:
    """The stored registry, or ``None`` without a store (never creates one)."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from firewatch.spatial.registry import load_duties
    from firewatch.store import connect

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        db = url.database
        if not db or db == ":memory:" or not Path(db).expanduser().is_file():
            return None
    engine = connect(settings.database_url)
    try:
        if "grid_duties" not in inspect(engine).get_table_names():
            return None
        return load_duties(engine)
    finally:
        engine.dispose()


def add_grid_columns(table: pd.DataFrame, points: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Add the grid levels and the village's people on duty to a table of points
    (``firewatch attribute``).

    Parameters
    ----------
    table
        The table being attributed (indexed like ``points``' superset); its ``county_code``,
        ``scan``/``track``/``satellite``/``daynight`` and time columns are used when present.
    points
        WGS-84 ``longitude``/``latitude`` of the rows that have usable coordinates.
    settings
        The grid and the store come from here.

    Returns
    -------
    pandas.DataFrame
        ``table`` with ``township_code``, ``township_name``, ``village_code``, ``village_name``,
        ``grid_flags``, ``field_chief``, ``field_chief_phone``, ``grid_member``,
        ``grid_member_phone`` (people on duty on the row's Beijing day: ``acq_time_bjt``, or
        ``acq_date``/``acq_time`` in UTC, else today) and ``grid_synthetic``.
    """
    from firewatch.spatial.registry import people_on_duty

    grid = grid_from_settings(settings)
    if grid is None:
        return table
    frame = points[["longitude", "latitude"]].copy()
    for col in ("county_code", "scan", "track", "satellite", "daynight"):
        if col in table.columns:
            frame[col] = table.loc[points.index, col]
    if "satellite" in frame.columns:  # FIRMS tables say T, A, N, 1, N20 ...
        from firewatch.schema import normalise_satellite

        frame["satellite"] = normalise_satellite(frame["satellite"])
    att = grid_index(grid).attribute(
        frame, footprint=settings.grid.footprint, gap_tolerance_m=settings.grid.gap_tolerance_m
    )
    out = table.copy()
    for col in ("township_code", "township_name", "village_code", "village_name"):
        out[col] = att[col].reindex(out.index)
    duties = _duties_if_stored(settings)
    days = _table_days(table.loc[points.index])
    has_v = att["village_code"].notna()
    cells = pd.DataFrame(
        {
            "item": att.index[has_v],
            "level": "village",
            "grid_code": att.loc[has_v, "village_code"].to_numpy(),
            "day": days[has_v].to_numpy(),
        }
    )
    people = (
        people_on_duty(duties, cells)
        if duties is not None
        else pd.DataFrame(columns=["item", "role", "name", "phone"])
    )
    for role, col in (("field_chief", "field_chief"), ("grid_member", "grid_member")):
        sel = people[people["role"] == role]
        out[col] = sel.groupby("item")["name"].agg("、".join).reindex(out.index)
        out[f"{col}_phone"] = sel.groupby("item")["phone"].agg("、".join).reindex(out.index)
    chief_items = set(people.loc[people["role"] == "field_chief", "item"])
    no_chief = has_v & ~att.index.isin(list(chief_items))
    order = list(FLAGS)
    flags = [
        ",".join(
            sorted({*filter(None, f.split(",")), *(["no_chief"] if m else [])}, key=order.index)
        )
        for f, m in zip(att["grid_flags"], no_chief, strict=True)
    ]
    out["grid_flags"] = pd.Series(flags, index=att.index, dtype=object).reindex(out.index)
    out["grid_synthetic"] = grid.synthetic
    return out
