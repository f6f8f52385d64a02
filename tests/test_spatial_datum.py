"""Datum conversion WGS-84 <-> GCJ-02 <-> BD-09 against published test vectors."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from firewatch.errors import ConfigError
from firewatch.spatial.datum import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    convert,
    gcj02_offset_m,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    normalise_datum,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# (wgs lat, wgs lon, gcj lat, gcj lon): googollee/eviltransform python/test.py (MIT).
EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]
# wandergis/coordtransform test/app.js (MIT): inputs (116.404, 39.915).
COORDTRANSFORM_WGS_TO_GCJ = (116.41024449916938, 39.91640428150164)
COORDTRANSFORM_GCJ_TO_BD = (116.41036949371029, 39.92133699351021)
COORDTRANSFORM_BD_TO_GCJ = (116.39762729119315, 39.90865673957631)  # closed-form approximation
GEOD = Geod(ellps="WGS84")


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM)
def test_wgs84_to_gcj02_matches_published_vectors(wlat, wlon, glat, glon):
    x, y = wgs84_to_gcj02(wlon, wlat)
    assert float(x) == pytest.approx(glon, abs=1e-9)
    assert float(y) == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM)
def test_gcj02_to_wgs84_recovers_published_inputs_below_1e7_degree(wlat, wlon, glat, glon):
    x, y = gcj02_to_wgs84(glon, glat)
    assert abs(float(x) - wlon) < 1e-7
    assert abs(float(y) - wlat) < 1e-7


def test_coordtransform_vectors():
    x, y = wgs84_to_gcj02(116.404, 39.915)
    assert (float(x), float(y)) == pytest.approx(COORDTRANSFORM_WGS_TO_GCJ, abs=1e-9)
    x, y = gcj02_to_bd09(116.404, 39.915)
    assert (float(x), float(y)) == pytest.approx(COORDTRANSFORM_GCJ_TO_BD, abs=1e-9)
    # Our BD-09 -> GCJ-02 is the exact inverse; the published closed form is within 1e-6 deg.
    x, y = bd09_to_gcj02(116.404, 39.915)
    assert (float(x), float(y)) == pytest.approx(COORDTRANSFORM_BD_TO_GCJ, abs=1e-6)
    bx, by = gcj02_to_bd09(x, y)
    assert (float(bx), float(by)) == pytest.approx((116.404, 39.915), abs=1e-9)


def test_round_trips_over_heilongjiang_are_exact():
    rng = np.random.default_rng(7)
    lon = rng.uniform(121.1, 135.2, 20_000)
    lat = rng.uniform(43.3, 53.6, 20_000)
    gx, gy = wgs84_to_gcj02(lon, lat)
    wx, wy = gcj02_to_wgs84(gx, gy)
    assert np.abs(wx - lon).max() < 1e-9
    assert np.abs(wy - lat).max() < 1e-9
    bx, by = wgs84_to_bd09(lon, lat)
    wx, wy = bd09_to_wgs84(bx, by)
    assert np.abs(wx - lon).max() < 1e-9
    assert np.abs(wy - lat).max() < 1e-9
    # and the round trip really moved the points in between
    assert metres(lon, lat, gx, gy).min() > 300


def test_offset_in_heilongjiang_is_several_hundred_metres_mostly_east():
    rng = np.random.default_rng(8)
    lon = rng.uniform(121.1, 135.2, 5_000)
    lat = rng.uniform(43.3, 53.6, 5_000)
    east, north = gcj02_offset_m(lon, lat)
    gx, gy = wgs84_to_gcj02(lon, lat)
    total = metres(lon, lat, gx, gy)
    assert np.allclose(np.hypot(east, north), total, rtol=1e-3)
    assert total.min() > 300 and total.max() < 800
    assert (east > north).all() and (east > 0).all()


def test_points_outside_china_are_not_shifted_and_nan_passes_through():
    x, y = wgs84_to_gcj02([10.0, 126.6, np.nan], [50.0, 45.7, 45.7])
    assert x[0] == 10.0 and y[0] == 50.0
    assert x[1] != 126.6
    assert np.isnan(x[2])
    wx, wy = gcj02_to_wgs84([10.0, np.nan], [50.0, 45.0])
    assert wx[0] == 10.0 and wy[0] == 50.0 and np.isnan(wx[1])


def test_convert_between_every_pair_and_aliases():
    lon, lat = np.array([126.6, 131.0]), np.array([45.7, 46.6])
    for src in ("wgs84", "gcj02", "bd09"):
        for dst in ("wgs84", "gcj02", "bd09"):
            x, y = convert(*convert(lon, lat, src=src, dst=dst), src=dst, dst=src)
            assert np.abs(x - lon).max() < 1e-9 and np.abs(y - lat).max() < 1e-9
    x, y = to_wgs84(*wgs84_to_gcj02(lon, lat), "GCJ-02")
    assert np.abs(x - lon).max() < 1e-9
    assert normalise_datum("CGCS2000") == "wgs84"
    assert normalise_datum("BD-09") == "bd09"
    with pytest.raises(ConfigError, match="unknown datum 'utm'"):
        normalise_datum("utm")
