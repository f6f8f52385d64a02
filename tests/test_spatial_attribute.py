"""County attribution: identical to geopandas.sjoin(predicate="within"), neighbour marking."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from firewatch.config import PROJECT_ROOT
from firewatch.errors import ConfigError
from firewatch.spatial.attribute import (
    ATTRIBUTION_COLUMNS,
    AttributionError,
    CountyIndex,
    attribute_points,
    county_index,
)
from firewatch.spatial.boundaries import load_boundaries

GPKG = PROJECT_ROOT / "boundaries" / "heilongjiang_counties.gpkg"
FIRMS = Path(__file__).parent / "data" / "spatial" / "firms_hlj_box_points.csv"
GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def boundaries():
    return load_boundaries(GPKG)


@pytest.fixture(scope="module")
def index(boundaries):
    return CountyIndex(boundaries)


@pytest.fixture(scope="module")
def firms() -> pd.DataFrame:
    return pd.read_csv(FIRMS)


def sjoin_codes(boundaries, lon, lat) -> np.ndarray:
    """County code per point from geopandas.sjoin(predicate="within"); None where none."""
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    j = gpd.sjoin(pts, boundaries.county[["code", "geometry"]], how="left", predicate="within")
    assert not j.index.duplicated().any()  # the counties do not overlap
    return j["code"].astype(object).where(j["code"].notna(), None).to_numpy()


def border_points(boundaries, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points on, and within centimetres to ~100 m of, the county borders."""
    rng = np.random.default_rng(seed)
    xy = shapely.get_coordinates(shapely.boundary(boundaries.county.geometry.to_numpy()))
    pick = xy[rng.choice(len(xy), n, replace=False)]
    exact = pick[: n // 4]  # vertices themselves: on a border, so in no county
    jitter = pick[n // 4 :] + rng.normal(0, 1, (n - n // 4, 2)) * rng.choice(
        [1e-7, 1e-6, 1e-5, 1e-4, 1e-3], (n - n // 4, 1)
    )
    pts = np.vstack([exact, jitter])
    return pts[:, 0], pts[:, 1]


# --------------------------------------------------------------------------- identical to sjoin


def test_real_firms_points_identical_to_sjoin(index, boundaries, firms):
    out = attribute_points(firms, index)
    want = sjoin_codes(boundaries, firms["longitude"], firms["latitude"])
    assert (out["county_code"].to_numpy() == want).all()
    # the fixture really exercises the province: thousands inside, thousands outside
    assert (out["region"] == "province").sum() > 10_000
    assert (out["region"] == "outside").sum() > 10_000


def test_random_points_identical_to_sjoin(index, boundaries):
    rng = np.random.default_rng(11)
    lon = rng.uniform(119.5, 136.5, 200_000)
    lat = rng.uniform(42.0, 55.0, 200_000)
    got = attribute_points(pd.DataFrame({"latitude": lat, "longitude": lon}), index)
    assert (got["county_code"].to_numpy() == sjoin_codes(boundaries, lon, lat)).all()


def test_points_on_and_near_borders_identical_to_sjoin(index, boundaries):
    lon, lat = border_points(boundaries, 40_000, seed=12)
    got = attribute_points(pd.DataFrame({"latitude": lat, "longitude": lon}), index)
    want = sjoin_codes(boundaries, lon, lat)
    assert (got["county_code"].to_numpy() == want).all()
    on_border = np.arange(len(lon)) < 10_000
    assert pd.isna(want[on_border]).all()  # a vertex is in no county, as with `within`
    assert (got["county_code"].notna() & ~on_border).sum() > 15_000


def test_lookup_covers_neighbour_polygons_like_sjoin(index):
    rng = np.random.default_rng(13)
    lon = rng.uniform(119.5, 136.5, 50_000)
    lat = rng.uniform(42.0, 55.0, 50_000)
    polys = gpd.GeoDataFrame(
        {"i": np.arange(len(index.polygons))}, geometry=list(index.polygons), crs="EPSG:4326"
    )
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    j = gpd.sjoin(pts, polys, how="left", predicate="within")
    assert (index.lookup(lon, lat) == j["i"].fillna(-1).astype(int).to_numpy()).all()
    assert (index.lookup(lon, lat) >= index.n_county).sum() > 1_000  # in Jilin / Inner Mongolia


# --------------------------------------------------------------------------- what users check


def test_known_places(index):
    places = pd.DataFrame(
        {
            "place": ["Harbin, Central Street", "Heihe", "Mohe", "Fuyuan", "Jiagedaqi"],
            "latitude": [45.7732, 50.2453, 52.9720, 48.3640, 50.4200],
            "longitude": [126.6187, 127.4900, 122.5380, 134.2890, 124.1200],
        },
        index=[10, 20, 30, 40, 50],
    )
    out = attribute_points(places, index)
    assert list(out.index) == [10, 20, 30, 40, 50]
    assert list(out.columns) == [*places.columns, *ATTRIBUTION_COLUMNS]
    assert list(out["county_name"]) == ["道里区", "爱辉区", "漠河市", "抚远市", "加格达奇区"]
    assert list(out["county_code"]) == ["230102", "231102", "232701", "230883", "232761"]
    assert list(out["city_name"]) == [
        "哈尔滨市",
        "黑河市",
        "大兴安岭地区",
        "佳木斯市",
        "大兴安岭地区",
    ]
    assert list(out["city_code"]) == ["230100", "231100", "232700", "230800", "232700"]
    assert (out["region"] == "province").all()
    assert out["neighbour_name"].isna().all()


def test_neighbour_marking_across_the_amur_and_far_away(index):
    pts = pd.DataFrame(
        {
            "latitude": [50.2900, 48.4800, 43.8800],
            "longitude": [127.5270, 135.0700, 125.3200],
        }
    )  # Blagoveshchensk and Khabarovsk (Russia, across the border rivers), Changchun (Jilin)
    out = attribute_points(pts, index, neighbour_km=10)
    assert list(out["region"]) == ["neighbour", "neighbour", "outside"]
    assert list(out["neighbour_name"]) == ["境外", "境外", None]
    assert out["county_code"].isna().all()
    far = attribute_points(pts, index, neighbour_km=0)
    assert list(far["region"]) == ["outside"] * 3


def brute_distance_km(province, lon, lat) -> np.ndarray:
    """Geodesic distance to a densely resampled outline (an upper bound within metres)."""
    ring = shapely.get_coordinates(shapely.segmentize(shapely.boundary(province), 0.002))
    out = np.empty(len(lon))
    for i, (x, y) in enumerate(zip(lon, lat, strict=True)):
        # only vertices that can be nearest: within 0.5 degree
        near = ring[(np.abs(ring[:, 0] - x) < 0.7) & (np.abs(ring[:, 1] - y) < 0.5)]
        d = GEOD.inv(np.full(len(near), x), np.full(len(near), y), near[:, 0], near[:, 1])[2]
        out[i] = np.min(d) / 1000.0
    return out


def test_neighbours_within_the_distance_measured_on_the_ellipsoid(index, boundaries):
    rng = np.random.default_rng(14)
    lon = rng.uniform(119.5, 136.5, 60_000)
    lat = rng.uniform(42.0, 55.0, 60_000)
    out = attribute_points(pd.DataFrame({"latitude": lat, "longitude": lon}), index)
    nb = (out["region"] == "neighbour").to_numpy()
    outside = (out["region"] == "outside").to_numpy()
    assert nb.sum() > 1_000
    # A sample of points either side of the 10 km line, checked by brute force.
    d_nb = brute_distance_km(boundaries.province, lon[nb][:150], lat[nb][:150])
    assert d_nb.max() <= 10.0 + 0.01
    cand = np.flatnonzero(outside)
    d_all = index.border_distance_km(lon[cand], lat[cand])
    close = cand[(d_all > 10.0) & (d_all < 14.0)][:150]
    d_out = brute_distance_km(boundaries.province, lon[close], lat[close])
    assert d_out.min() > 10.0 - 0.01
    ours = index.border_distance_km(lon[close], lat[close])
    assert np.abs(ours - d_out).max() < 0.02  # within 20 m of the brute-force distance
    names = set(out.loc[nb, "neighbour_name"])
    assert names == {"吉林省", "内蒙古自治区", "境外"}
    # every neighbour point lies in the polygon it is named after (or in none: abroad)
    k = index.lookup(lon[nb], lat[nb])
    expected = np.array(
        [index.neighbour_name[i - index.n_county] if i >= index.n_county else "境外" for i in k]
    )
    assert (out.loc[nb, "neighbour_name"].to_numpy() == expected).all()


def test_point_on_an_inner_county_border_is_in_the_province_in_no_county(index, boundaries):
    a = boundaries.county.geometry.iloc[0]
    touching = boundaries.county[boundaries.county.geometry.touches(a)].geometry.iloc[0]
    shared = shapely.get_coordinates(shapely.intersection(a.boundary, touching.boundary))[0]
    out = attribute_points(pd.DataFrame({"latitude": [shared[1]], "longitude": [shared[0]]}), index)
    assert out["region"].iloc[0] == "province"
    assert out["county_code"].iloc[0] is None


def test_missing_coordinates_and_custom_columns(index):
    df = pd.DataFrame({"LAT": [45.7732, None, 50.29], "LON": [126.6187, 126.0, 127.527]})
    out = attribute_points(df, index, lat_col="LAT", lon_col="LON")
    assert list(out["region"]) == ["province", None, "neighbour"]
    assert out["county_code"].iloc[1] is None


def test_refusals(index):
    with pytest.raises(AttributionError, match="no column 'latitude'"):
        attribute_points(pd.DataFrame({"lat": [45.0], "longitude": [126.0]}), index)
    with pytest.raises(AttributionError, match="non-numeric coordinates"):
        attribute_points(pd.DataFrame({"latitude": ["north"], "longitude": [126.0]}), index)
    with pytest.raises(ConfigError, match="exceeds the 100 km"):
        attribute_points(
            pd.DataFrame({"latitude": [45.0], "longitude": [126.0]}), index, neighbour_km=150
        )


# --------------------------------------------------------------------------- reuse


def test_saved_index_gives_the_same_answers(index, tmp_path, firms):
    p = index.save(tmp_path / "index.npz")
    # Plain arrays only: loading an index file must not unpickle (i.e. run) anything.
    with np.load(p, allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)
    assert CountyIndex.can_load(p)
    again = CountyIndex.load(p)
    a = attribute_points(firms, index)
    b = attribute_points(firms, again)
    pd.testing.assert_frame_equal(a, b)


def test_an_index_file_of_another_layout_is_not_loadable(tmp_path):
    old = tmp_path / "old.npz"
    meta = np.frombuffer(b'{"format": 1}', dtype=np.uint8)
    np.savez_compressed(old, meta=meta, polygons=np.array([b"x"], dtype=object))
    assert not CountyIndex.can_load(old)
    assert not CountyIndex.can_load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    assert not CountyIndex.can_load(tmp_path / "junk.npz")
    with pytest.raises(ValueError, match="format 1"):
        CountyIndex.load(old)


def test_county_index_is_cached_per_file_version(tmp_path):
    p = tmp_path / "b.gpkg"
    shutil.copy(GPKG, p)
    coarse = 0.1  # the cache is what is tested: a coarse grid builds in a fraction of the time
    first = county_index(p, cell_deg=coarse)
    assert county_index(p, cell_deg=coarse) is first
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    again = county_index(p, cell_deg=coarse)
    assert again is not first
    assert county_index(p, cell_deg=coarse) is again


def test_a_path_works_as_boundaries(firms):
    out = attribute_points(firms.head(500), GPKG)
    assert (out["region"] == "province").any()
