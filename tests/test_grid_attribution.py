"""Village attribution of points and pixel footprints on the real-boundary demo grid."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from firewatch.spatial.footprint import footprint_angle, footprint_polygons, km_per_degree
from firewatch.spatial.grid import Grid, GridIndex, load_grid
from firewatch.spatial.grid_index import TileIndex
from tests.grid_support import DEMO, county_subset, write_grid

# An equal-area projection centred on Jixi: an independent way to measure areas.
LAEA = "+proj=laea +lat_0=45.7 +lon_0=132.2 +datum=WGS84 +units=m"


@pytest.fixture(scope="module")
def demo() -> GridIndex:
    return GridIndex(load_grid(DEMO))


def _random_points(grid: Grid, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    w, s, e, nn = shapely.total_bounds(grid.villages.geometry.to_numpy())
    rng = np.random.default_rng(seed)
    return rng.uniform(w - 0.05, e + 0.05, n), rng.uniform(s - 0.05, nn + 0.05, n)


def _near_boundaries(grid: Grid, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points within ~1 km of village boundaries (where footprints straddle cells)."""
    rng = np.random.default_rng(seed)
    rings = shapely.get_coordinates(grid.villages.boundary.to_numpy())
    pick = rings[rng.integers(0, len(rings), n)]
    return pick[:, 0] + rng.normal(0, 0.006, n), pick[:, 1] + rng.normal(0, 0.004, n)


def test_points_land_in_the_same_village_as_with_geopandas_sjoin(demo: GridIndex) -> None:
    lon, lat = _random_points(demo.grid, 20_000, 1)
    lon2, lat2 = _near_boundaries(demo.grid, 20_000, 2)
    lon, lat = np.r_[lon, lon2], np.r_[lat, lat2]
    got = demo.tiles.locate(lon, lat)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
    vil = demo.grid.villages[["code", "geometry"]]
    j = gpd.sjoin(pts, vil, predicate="within", how="left")
    assert not j.index.duplicated().any()
    expected = j["index_right"].fillna(-1).astype(int).to_numpy()
    assert (got == expected).all()
    assert (got >= 0).sum() > 20_000  # most of them are in the grid


def test_footprint_areas_match_polygon_intersections(demo: GridIndex) -> None:
    n = 4000
    lon, lat = _near_boundaries(demo.grid, n, 3)
    rng = np.random.default_rng(4)
    scan = rng.uniform(0.3, 4.8, n)
    track = rng.uniform(0.35, 2.0, n)
    angle = rng.uniform(-0.3, 0.3, n)
    fo = demo.tiles.footprint_overlaps(lon, lat, scan, track, angle)
    assert fo.fallback == 0
    # Independent: GEOS intersections in an equal-area projection.
    fp = gpd.GeoSeries(footprint_polygons(lon, lat, scan, track, angle), crs=4326).to_crs(LAEA)
    vil = demo.grid.villages.geometry.to_crs(LAEA)
    tree = shapely.STRtree(vil.to_numpy())
    qi, qv = tree.query(fp.to_numpy(), predicate="intersects")
    areas = shapely.area(shapely.intersection(fp.to_numpy()[qi], vil.to_numpy()[qv])) / 1e6
    ref = pd.Series(areas, index=pd.MultiIndex.from_arrays([qi, qv]))
    ref = ref[ref > 1e-9]
    got = pd.Series(fo.area_km2, index=pd.MultiIndex.from_arrays([fo.point, fo.polygon]))
    both = pd.concat([got.rename("got"), ref.rename("ref")], axis=1).fillna(0.0)
    # They differ by up to ~0.2 % of the pixel: the stored edges are straight in lon/lat (as
    # GEOS and firewatch read them), the projected ones straight in metres; over a few km the
    # two lines part by a metre or so.
    fpa = (scan * track)[both.index.get_level_values(0)]
    assert (np.abs(both["got"] - both["ref"]) <= 2e-3 * fpa + 1e-7).all()
    assert float(np.median(np.abs(both["got"] - both["ref"]) / fpa)) < 2e-4
    # A footprint inside the grid is shared out completely.
    inside = shapely.contains(
        shapely.union_all(demo.grid.layers["county"].geometry.to_numpy()),
        footprint_polygons(lon, lat, scan, track, angle),
    )
    total = got.groupby(level=0).sum().reindex(np.arange(n), fill_value=0.0)
    share = (total / (scan * track)).to_numpy()
    assert np.allclose(share[inside], 1.0, atol=1e-9)
    # The exact path agrees with firewatch's own GEOS reference to 1e-9 km².
    g = demo.tiles.geos_overlaps(lon, lat, scan, track, angle)
    geos = pd.Series(g.area_km2, index=pd.MultiIndex.from_arrays([g.point, g.polygon]))
    d = pd.concat([got, geos], axis=1).fillna(0.0)
    assert float((d[0] - d[1]).abs().max()) < 1e-9


def test_a_pixel_across_a_village_border_goes_to_the_larger_share(demo: GridIndex) -> None:
    v = demo.grid.villages.set_index("code")
    a, b = "230302001201", "230302001202"
    edge = v.loc[a, "geometry"].intersection(v.loc[b, "geometry"])
    assert edge.length > 0.01
    mid = edge.interpolate(0.5, normalized=True)
    inside_a = v.loc[a, "geometry"].buffer(-0.001).intersection(mid.buffer(0.004))
    toward_a = shapely.Point(inside_a.centroid.x, inside_a.centroid.y)
    # 150 m from the border into A (along the line to A's side), a 0.75 km pixel.
    kx, ky = km_per_degree(mid.y)
    dx, dy = (toward_a.x - mid.x) * kx, (toward_a.y - mid.y) * ky
    k = 0.15 / float(np.hypot(dx, dy))
    p = pd.DataFrame(
        {
            "longitude": [mid.x + (toward_a.x - mid.x) * k],
            "latitude": [mid.y + (toward_a.y - mid.y) * k],
            "scan": [0.75],
            "track": [0.75],
            "satellite": ["NOAA-20"],
            "daynight": ["D"],
        }
    )
    r = demo.attribute(p).iloc[0]
    assert r["village_code"] == a and r["method"] == "footprint"
    assert "boundary_crossing" in r["grid_flags"]
    touched = json.loads(r["touched"])
    assert [t["code"] for t in touched][:2] == [a, b]
    assert 0.5 < touched[0]["share"] < 1.0
    assert abs(sum(t["share"] for t in touched) - 1.0) < 1e-3
    assert r["share"] == pytest.approx(touched[0]["share"], abs=1e-4)
    assert (r["township_code"], r["county_code"], r["city_code"]) == (
        "230302001000",
        "230302000000",
        "230300000000",
    )
    assert (r["township_name"], r["county_name"], r["city_name"]) == (
        "向阳街道",
        "鸡冠区",
        "鸡西市",
    )
    # The same point without a pixel size: the cell under the point, flagged point_only.
    q = demo.attribute(p.drop(columns=["scan", "track"])).iloc[0]
    assert q["village_code"] == a and q["grid_flags"] == "point_only" and q["method"] == "point"


def test_gaps_go_to_the_nearest_cell_within_tolerance(tmp_path: Path) -> None:
    lay = county_subset()
    v = lay["village"]
    hole = v.geometry.iloc[6]
    lay["village"] = v.drop(index=v.index[6])
    gi = GridIndex(load_grid(write_grid(tmp_path / "g.gpkg", lay)))
    # 200 m inside the hole from its edge, and the hole's middle (farther than 500 m).
    c = hole.representative_point()
    ring = hole.boundary
    near = shapely.shortest_line(c, ring).coords[1]
    near = shapely.Point(near)
    kx, ky = km_per_degree(near.y)
    dx, dy = (c.x - near.x) * kx, (c.y - near.y) * ky
    k = 0.2 / float(np.hypot(dx, dy))
    pts = pd.DataFrame(
        {
            "longitude": [near.x + (c.x - near.x) * k, hole.centroid.x],
            "latitude": [near.y + (c.y - near.y) * k, hole.centroid.y],
        }
    )
    assert shapely.contains_xy(hole, pts["longitude"], pts["latitude"]).all()
    assert hole.centroid.distance(ring) * min(kx, ky) > 0.5  # the middle is > 500 m inside
    r = gi.attribute(pts, gap_tolerance_m=500.0)
    assert r["method"].tolist() == ["nearest", "none"]
    assert "gap_nearest" in r["grid_flags"].iloc[0]
    assert r["gap_distance_m"].iloc[0] == pytest.approx(200.0, abs=10.0)
    assert r["village_code"].iloc[0] in set(v.loc[v.geometry.touches(hole), "code"])
    assert "outside_grid" in r["grid_flags"].iloc[1] and pd.isna(r["village_code"].iloc[1])


def test_a_point_in_the_next_county_is_not_pulled_into_the_grid(demo: GridIndex) -> None:
    city = demo.grid.layers["city"].geometry.iloc[0]
    # Just outside Jixi's western border (in 七台河/牡丹江): within 500 m of a village.
    w = city.bounds[0]
    ring = shapely.get_coordinates(city.boundary)
    west = ring[np.argmin(ring[:, 0])]
    p = pd.DataFrame({"longitude": [west[0] - 0.003], "latitude": [west[1]]})
    assert not shapely.contains_xy(city, p["longitude"], p["latitude"]).any()
    assert w - 0.003 == pytest.approx(p["longitude"].iloc[0])
    r = demo.attribute(p).iloc[0]
    assert pd.isna(r["village_code"]) and "outside_grid" in r["grid_flags"]
    # ... unless the county attribution says it belongs to one of the grid's counties.
    p["county_code"] = "230302"
    assert demo.attribute(p)["method"].iloc[0] == "nearest"


def test_flags_on_a_small_synthetic_grid(tmp_path: Path) -> None:
    """Centre in a sliver cell, centre in a gap, county mismatch: hand-made squares."""
    x0, y0 = 130.0, 45.0
    d = 0.02  # ~1.6 km × 2.2 km cells
    cells = {
        "230302001201": shapely.box(x0, y0, x0 + d, y0 + d),
        "230302001202": shapely.box(x0 + d, y0, x0 + d + 0.001, y0 + d),  # an 80 m sliver
        "230302001203": shapely.box(x0 + d + 0.001, y0, x0 + 2 * d, y0 + d),
        # a 0.004° gap, then:
        "230302001204": shapely.box(x0 + 2 * d + 0.004, y0, x0 + 3 * d, y0 + d),
    }
    whole = shapely.box(x0, y0, x0 + 3 * d, y0 + d)
    layers = {
        "city": gpd.GeoDataFrame(
            {"code": ["230300000000"], "name": ["鸡西市"], "parent_code": [None]},
            geometry=[whole],
            crs=4326,
        ),
        "county": gpd.GeoDataFrame(
            {"code": ["230302000000"], "name": ["鸡冠区"], "parent_code": ["230300000000"]},
            geometry=[whole],
            crs=4326,
        ),
        "township": gpd.GeoDataFrame(
            {"code": ["230302001000"], "name": ["向阳街道"], "parent_code": ["230302000000"]},
            geometry=[whole],
            crs=4326,
        ),
        "village": gpd.GeoDataFrame(
            {
                "code": list(cells),
                "name": ["甲", "乙", "丙", "丁"],
                "parent_code": ["230302001000"] * 4,
            },
            geometry=list(cells.values()),
            crs=4326,
        ),
    }
    gi = GridIndex(load_grid(write_grid(tmp_path / "s.gpkg", layers)))
    mid = y0 + d / 2
    pts = pd.DataFrame(
        {
            # in the sliver; centre of the gap; inside 甲 but the boundary file says another
            # county; in 丁 with a pixel that reaches across the gap into 丙
            "longitude": [x0 + d + 0.0005, x0 + 2 * d + 0.002, x0 + 0.01, x0 + 2 * d + 0.0055],
            "latitude": [mid, mid, mid, mid],
            "scan": [1.0, 0.5, 0.5, 1.2],
            "track": [1.0, 0.5, 0.5, 0.6],
            "county_code": ["230302", "230302", "230303", "230302"],
        }
    )
    r = gi.attribute(pts)
    assert r["village_code"].iloc[0] in ("230302001201", "230302001203")
    assert set(r["grid_flags"].iloc[0].split(",")) == {"boundary_crossing", "not_centre_cell"}
    assert r["grid_flags"].iloc[1].split(",")[-1] == "centre_in_gap"
    assert r["method"].iloc[1] == "footprint"  # the 0.5 km pixel reaches both sides
    assert r["grid_flags"].iloc[2] == "county_mismatch"
    assert r["village_code"].iloc[3] == "230302001204"
    assert r["grid_flags"].iloc[3] == "boundary_crossing"
    assert [t["code"] for t in json.loads(r["touched"].iloc[3])] == ["230302001204", "230302001203"]


def test_footprint_orientation_follows_the_orbit() -> None:
    lat = np.full(6, 46.0)
    sat = ["NOAA-20", "NOAA-20", "Aqua", "Terra", "Terra", None]
    dn = ["D", "N", "D", "D", "N", "D"]
    deg = np.degrees(footprint_angle(lat, sat, dn))
    # Ascending passes (afternoon satellites by day, Terra by night) tilt the scan axis
    # counter-clockwise from east by ~15° over Heilongjiang; descending ones clockwise.
    assert 12 < deg[0] < 18 and -18 < deg[1] < -12
    assert 12 < deg[2] < 18 and -18 < deg[3] < -12 and 12 < deg[4] < 18
    assert deg[5] == 0.0
    poly = footprint_polygons(np.array([131.0]), np.array([46.0]), [0.8], [0.4], [0.0])[0]
    kx, ky = km_per_degree(46.0)
    w = (poly.bounds[2] - poly.bounds[0]) * kx
    h = (poly.bounds[3] - poly.bounds[1]) * ky
    assert w == pytest.approx(0.8, rel=1e-9) and h == pytest.approx(0.4, rel=1e-9)


def test_the_tile_index_refuses_what_it_cannot_index() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        TileIndex(np.array([], dtype=object))
    with pytest.raises(ValueError, match="polygons"):
        TileIndex(np.array([shapely.Point(0, 0)], dtype=object))


def test_touched_lists_match_the_footprint_overlaps_largest_first(demo: GridIndex) -> None:
    # Large MODIS-like pixels near borders touch 2, 3 or more cells: every list must hold each
    # overlapped cell once, largest share first, with the responsible cell at its head.
    x, y = _near_boundaries(demo.grid, 3000, seed=5)
    rng = np.random.default_rng(5)
    scan = rng.choice([0.4, 1.0, 2.5, 4.0], len(x))
    frame = pd.DataFrame(
        {
            "longitude": x,
            "latitude": y,
            "scan": scan,
            "track": scan * 0.8,
            "satellite": "Aqua",
            "daynight": "D",
        }
    )
    att = demo.attribute(frame)
    angle = footprint_angle(y, frame["satellite"], frame["daynight"])
    ref = demo.tiles.geos_overlaps(x, y, scan, scan * 0.8, angle)
    codes = demo.grid.villages["code"].to_numpy()
    sizes = []
    for i, r in enumerate(att.itertuples()):
        got = json.loads(r.touched)
        shares = [t["share"] for t in got]
        assert shares == sorted(shares, reverse=True)
        rows = ref.point == i
        want = ref.area_km2[rows] / ref.footprint_km2[i]
        want_codes = set(codes[ref.polygon[rows][want > 1e-6]])
        assert want_codes <= {t["code"] for t in got}
        if got:
            assert got[0]["code"] == r.village_code
            assert r.share == pytest.approx(want.max(), abs=1e-9)
        sizes.append(len(got))
    assert {2, 3} <= set(sizes) and max(sizes) >= 4


def test_footprint_results_do_not_depend_on_the_order_of_the_points(demo: GridIndex) -> None:
    # The index works through points in blocks of nearby tiles; the caller's order comes back.
    x, y = _near_boundaries(demo.grid, 3000, seed=6)
    rng = np.random.default_rng(6)
    scan, track, angle = rng.uniform(0.3, 4.8, 3000), rng.uniform(0.3, 2.0, 3000), 0.2
    fo = demo.tiles.footprint_overlaps(x, y, scan, track, angle)
    perm = rng.permutation(3000)
    fq = demo.tiles.footprint_overlaps(x[perm], y[perm], scan[perm], track[perm], angle)
    # A point's rows are consecutive, largest area first.
    assert len(np.unique(fq.point)) == 1 + int((np.diff(fq.point) != 0).sum())
    same = np.diff(fq.point) == 0
    assert (np.diff(fq.area_km2)[same] <= 0).all()
    inv = np.argsort(perm)
    assert np.array_equal(fq.centre[inv], fo.centre)
    assert np.array_equal(fq.footprint_km2[inv], fo.footprint_km2)
    rows = pd.Series(fo.area_km2, index=pd.MultiIndex.from_arrays([fo.point, fo.polygon]))
    back = pd.Series(fq.area_km2, index=pd.MultiIndex.from_arrays([perm[fq.point], fq.polygon]))
    pd.testing.assert_series_equal(back.sort_index(), rows.sort_index(), rtol=0, atol=1e-12)


def test_a_footprint_over_hundreds_of_cells_is_measured_with_geos() -> None:
    # 6,400 cells of ~80 × 110 m: a 4.8 × 2 km MODIS pixel covers over 1,000 of them, more than the
    # compiled path sums per pixel, so GEOS measures it; a small pixel stays on the fast path.
    side = 0.001
    cells = np.array(
        [shapely.box(131 + i * side, 46 + j * side, 131 + (i + 1) * side, 46 + (j + 1) * side)
         for j in range(80) for i in range(80)],
        dtype=object,
    )  # fmt: skip
    index = TileIndex(cells)
    x, y = np.array([131.04, 131.0123]), np.array([46.04, 46.0171])
    scan, track, angle = np.array([4.8, 0.4]), np.array([2.0, 0.35]), np.array([0.26, -0.1])
    fo = index.footprint_overlaps(x, y, scan, track, angle)
    assert fo.fallback == 1
    ref = index.geos_overlaps(x, y, scan, track, angle)
    got = pd.Series(fo.area_km2, index=pd.MultiIndex.from_arrays([fo.point, fo.polygon]))
    want = pd.Series(ref.area_km2, index=pd.MultiIndex.from_arrays([ref.point, ref.polygon]))
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), rtol=0, atol=1e-9)
    assert (fo.point == 0).sum() > 256
    assert 1 < (fo.point == 1).sum() < 30
    # Each pixel is shared out completely (both lie inside the block of cells).
    assert np.allclose(np.bincount(fo.point, weights=fo.area_km2), scan * track, rtol=1e-9)


def test_overlapping_cells_are_measured_exactly() -> None:
    # Two cells that overlap (a broken grid that `grids check` reports): where the tiles
    # cannot tell a pixel's centre cell, GEOS places it, and areas still match GEOS.
    cells = np.array(
        [
            shapely.box(131.00, 46.00, 131.03, 46.03),
            shapely.box(131.02, 46.00, 131.05, 46.03),
            shapely.box(131.00, 46.03, 131.05, 46.06),
        ],
        dtype=object,
    )
    index = TileIndex(cells)
    rng = np.random.default_rng(8)
    x, y = rng.uniform(131.015, 131.035, 400), rng.uniform(46.02, 46.04, 400)
    scan, track, angle = rng.uniform(0.3, 1.0, 400), rng.uniform(0.3, 0.8, 400), 0.25
    fo = index.footprint_overlaps(x, y, scan, track, angle)
    ref = index.geos_overlaps(x, y, scan, track, angle)
    got = pd.Series(fo.area_km2, index=pd.MultiIndex.from_arrays([fo.point, fo.polygon]))
    want = pd.Series(ref.area_km2, index=pd.MultiIndex.from_arrays([ref.point, ref.polygon]))
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), rtol=0, atol=1e-9)
    in_both = (x > 131.02) & (x < 131.03) & (y < 46.03)
    assert in_both.any() and (fo.centre[in_both] >= 0).all()
    assert 0 < fo.fallback < 400  # both paths ran: the compiled one for pixels clear of both
    assert np.array_equal(fo.top, ref.top) and np.array_equal(fo.cells, ref.cells)


def test_a_frame_mixing_pixels_and_bare_points_matches_row_by_row(demo: GridIndex) -> None:
    # Rows with and without a pixel size (and one without coordinates) in one frame: each row
    # is attributed as it would be alone.
    x, y = _near_boundaries(demo.grid, 60, seed=9)
    rng = np.random.default_rng(9)
    scan = np.where(rng.random(60) < 0.5, rng.uniform(0.4, 2.0, 60), np.nan)
    frame = pd.DataFrame(
        {"longitude": x, "latitude": y, "scan": scan, "track": scan * 0.8,
         "satellite": "Aqua", "daynight": "D"}
    )  # fmt: skip
    frame.loc[7, "longitude"] = np.nan
    together = demo.attribute(frame)
    alone = pd.concat([demo.attribute(frame.iloc[[i]]) for i in range(len(frame))])
    assert set(together["method"]) == {"footprint", "point", "none"}
    pd.testing.assert_frame_equal(together, alone)
