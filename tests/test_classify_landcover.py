"""Land-cover sampling reads the right pixel, in any CRS, and agrees with rasterio's sample()."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from firewatch.classify.features import FeatureContext, build_features, feature_names
from firewatch.classify.landcover import LandCoverRaster, sample_raster
from firewatch.config import Settings
from tests.classify_support import load_series


def _write(path: Path, data: np.ndarray, *, crs: str, transform, nodata=255) -> Path:  # type: ignore[no-untyped-def]
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype="uint8",
        crs=crs,
        transform=transform,
        tiled=True,
        blockxsize=128,
        blockysize=128,
        compress="deflate",
        nodata=nodata,
    ) as ds:
        ds.write(data, 1)
    return path


@pytest.fixture
def lonlat_raster(tmp_path: Path) -> Path:
    # 0.01° pixels over lon 126–130, lat 45–48; value = 10 * (column // 50 % 10) + row // 100 % 10
    h, w = 300, 400
    r, c = np.mgrid[0:h, 0:w]
    data = ((c // 50 % 10) * 10 + (r // 100 % 10)).astype("uint8")
    data[:10, :10] = 255  # nodata corner
    return _write(
        tmp_path / "lc.tif", data, crs="EPSG:4326", transform=Affine(0.01, 0, 126, 0, -0.01, 48)
    )


def test_values_match_rasterio_sample(lonlat_raster: Path) -> None:
    rng = np.random.default_rng(0)
    lon = rng.uniform(125.5, 130.5, 3000)  # some outside the raster
    lat = rng.uniform(44.5, 48.5, 3000)
    got = sample_raster(lonlat_raster, lon, lat)
    with rasterio.open(lonlat_raster) as ds:
        ref = np.array(
            [v[0] for v in ds.sample(zip(lon, lat, strict=True), masked=True)], dtype=object
        )
        inside = (lon >= 126) & (lon < 130) & (lat > 45) & (lat <= 48)
        exp = np.where(inside, [np.nan if v is np.ma.masked else float(v) for v in ref], np.nan)
    np.testing.assert_array_equal(got, exp.astype(float))
    assert np.isnan(got[~inside]).all()
    assert np.isfinite(got[inside]).sum() > 1000


def test_known_pixels(lonlat_raster: Path) -> None:
    # (lon 126.005, lat 47.995) is row 0 col 0: nodata; (127.255, 46.995): row 100, col 125 -> 21
    got = sample_raster(lonlat_raster, [126.005, 127.255, 131.0], [47.995, 46.995, 46.0])
    assert np.isnan(got[0])
    assert got[1] == 21.0
    assert np.isnan(got[2])


def test_projected_raster_is_sampled_in_its_crs(tmp_path: Path) -> None:
    # UTM 52N, 100 m pixels; each pixel's value is its column modulo 200
    h, w = 400, 600
    data = np.tile((np.arange(w) % 200).astype("uint8"), (h, 1))
    x0, y0 = 400_000.0, 5_200_000.0
    path = _write(
        tmp_path / "utm.tif", data, crs="EPSG:32652", transform=Affine(100, 0, x0, 0, -100, y0)
    )
    from pyproj import Transformer

    to_ll = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True)
    cols = np.array([5, 150, 333, 599])
    xs = x0 + (cols + 0.5) * 100
    lon, lat = to_ll.transform(xs, np.full(4, y0 - 150.0))
    assert sample_raster(path, lon, lat).tolist() == (cols % 200).astype(float).tolist()


def test_landcover_features_need_their_classes(lonlat_raster: Path) -> None:
    lc = LandCoverRaster(lonlat_raster, cropland_values=[21, 22], builtup_values=[0])
    f = lc.features([127.255, 127.255, 126.25, 126.005], [46.995, 46.005, 47.5, 47.995])
    # values 21, 22, 0 (row 50 col 25), nodata
    assert f["lc_cropland"][:3].tolist() == [1.0, 1.0, 0.0]
    assert f["lc_builtup"][:3].tolist() == [0.0, 0.0, 1.0]
    assert np.isnan(f["lc_cropland"][3]) and np.isnan(f["lc_builtup"][3])


def test_configured_raster_adds_landcover_features(lonlat_raster: Path) -> None:
    series = load_series().iloc[:500]
    settings = Settings(
        classify={"landcover_path": lonlat_raster, "landcover_cropland_values": [21]}
    )
    f = build_features(series, context=FeatureContext.from_settings(settings))
    assert list(f.columns) == feature_names(landcover=True)
    direct = sample_raster(lonlat_raster, series.longitude, series.latitude)
    np.testing.assert_array_equal(f["lc_cropland"].isna().to_numpy(), np.isnan(direct))
    assert (
        f["lc_cropland"].fillna(-1).to_numpy() == np.where(np.isnan(direct), -1, direct == 21)
    ).all()


def test_missing_raster_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="land-cover raster not found"):
        LandCoverRaster(tmp_path / "none.tif")
