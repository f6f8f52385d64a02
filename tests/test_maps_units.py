"""Map building blocks without a browser: encoding, editions, boundaries, assets, base layers."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from firewatch.config import Settings
from firewatch.errors import ConfigError, GridError
from firewatch.publish.maps import OfflineAssetError, bundle_html, daily_map, iframe_snippet
from firewatch.publish.maps.boundaries import encode_boundaries, read_layer
from firewatch.publish.maps.boundaries import load_boundaries as map_boundaries
from firewatch.publish.maps.build import base_layers
from firewatch.publish.maps.encode import encode_points
from firewatch.publish.maps.settings import MapSettings, TileSource
from firewatch.publish.maps.store import grid_level, period_window
from firewatch.spatial.datum import wgs84_to_gcj02
from tests.maps_support import BOUNDARIES, SPRING_DAY, spring_day_points, with_fictional_chiefs


def _decode(col: dict) -> np.ndarray:
    dtype = {"u8": "<u1", "u16": "<u2", "u32": "<u4", "i32": "<i4"}[col["t"]]
    return np.frombuffer(base64.b64decode(col["b"]), dtype=dtype)


def _field(payload: dict, key: str) -> dict:
    return next(f for f in payload["fields"] if f["key"] == key)


def test_points_keep_their_exact_coordinates_and_times() -> None:
    pts = spring_day_points()
    enc = encode_points(pts)
    lat = _decode(enc.payload["lat"]) / 1e5
    lon = _decode(enc.payload["lon"]) / 1e5
    # FIRMS publishes 5 decimals: the map carries them exactly (as a set: points are re-ordered).
    sent = sorted(zip(lat.round(5), lon.round(5), strict=True))
    assert sent == sorted(zip(pts["latitude"].round(5), pts["longitude"].round(5), strict=True))
    # Each point's Beijing time travels with it through the re-ordering.
    time = _field(enc.payload, "time")
    shown = np.array(time["dict"])[_decode(time["v"])]
    by_pos = dict(zip(zip(lat.round(5), lon.round(5), strict=True), shown, strict=True))
    for r in pts.head(30).itertuples():
        assert by_pos[(round(r.latitude, 5), round(r.longitude, 5))] == r.acq_time_bjt.strftime(
            "%Y-%m-%d %H:%M"
        )


def test_public_edition_carries_no_names_or_phones() -> None:
    pts = with_fictional_chiefs(spring_day_points())
    internal = json.dumps(encode_points(pts).payload, ensure_ascii=False)
    public = json.dumps(encode_points(pts, edition="public").payload, ensure_ascii=False)
    for name, phone in zip(pts["field_chief"], pts["field_chief_phone"], strict=True):
        assert name in internal and phone in internal
        assert name not in public and phone not in public
    assert "虚构网格员" in internal and "虚构网格员" not in public
    # Place names stay: the public needs to know where the fires were.
    assert "虚构村000" in public


def test_the_map_shows_what_exists_without_area_columns() -> None:
    canonical = spring_day_points()
    enc = encode_points(canonical)
    keys = {f["key"] for f in enc.payload["fields"]}
    assert {"time", "satellite", "frp", "location", "admin"} <= keys
    assert not keys & {"class", "p_straw", "grid", "field_chief", "status"}
    assert enc.classes_present == [None]  # all drawn as "not classified"

    classified = canonical.assign(
        fp_class=np.where(canonical["frp"] > 20, "industrial", "straw"),
        p_straw=np.where(canonical["frp"] > 20, 0.1, 0.9),
        fp_explanation="test",
    )
    enc2 = encode_points(classified)
    assert {"class", "p_straw", "explanation"} <= {f["key"] for f in enc2.payload["fields"]}
    cls = _decode(enc2.payload["cls"])
    keys_of = [c["key"] for c in enc2.payload["classes"]]
    assert int((np.array(keys_of)[cls] == "industrial").sum()) == int((canonical["frp"] > 20).sum())


def test_area_columns_as_the_stores_return_them() -> None:
    """Missing values as None/NaT/NA in object, string and nullable columns (a join's output)."""
    pts = spring_day_points().head(40).copy()
    n = len(pts)
    status = np.array(["pending", "answered", "overdue", None] * (n // 4), dtype=object)
    pts["review_status"] = pd.Series(status, index=pts.index, dtype="string")
    pts["verdict"] = np.where(status == "answered", "industrial", None)
    pts["deadline"] = pd.Series(pd.NaT, index=pts.index, dtype="datetime64[ns, UTC]")
    pts.loc[pts.index[:5], "deadline"] = pd.Timestamp("2025-04-25 04:00", tz="UTC")
    pts["answered_at"] = pd.NaT
    pts["grid_synthetic"] = pd.Series([None] * n, index=pts.index, dtype=object)
    pts["p_straw"] = pd.array([0.5] * (n - 1) + [None], dtype="Float64")
    pts["fp_class"] = pd.Series(["straw"] * (n - 1) + [None], index=pts.index, dtype=object)
    enc = encode_points(pts)
    assert not enc.synthetic_grid
    deadline = _field(enc.payload, "deadline")
    assert "2025-04-25 12:00" in deadline["dict"]  # shown in Beijing time
    assert _field(enc.payload, "verdict")["dict"][1:] == ["工业热源 industrial"]
    p = _field(enc.payload, "p_straw")
    values = _decode(p["v"])
    assert int((values == p["na"]).sum()) == 1 and int((values == 50).sum()) == n - 1
    statuses = [s["key"] for s in enc.payload["statuses"] if s["present"]]
    assert sorted(statuses, key=str) == sorted(["pending", "answered", "overdue", None], key=str)


def test_points_without_coordinates_are_counted_not_hidden() -> None:
    pts = spring_day_points()
    pts.loc[pts.index[:3], "latitude"] = np.nan
    enc = encode_points(pts)
    assert enc.n == len(pts) - 3 and enc.dropped == 3
    fmap = daily_map(pts, day=SPRING_DAY, offline=True)
    assert "3 个无坐标未绘" in fmap.html()


def _decode_polyline(text: str) -> list[tuple[int, int]]:
    """Independent decoder of Google's encoded polyline format."""
    out, lat, lon, i = [], 0, 0, 0
    values = []
    while i < len(text):
        result, shift = 0, 0
        while True:
            b = ord(text[i]) - 63
            i += 1
            result |= (b & 0x1F) << shift
            shift += 5
            if b < 0x20:
                break
        values.append(~(result >> 1) if result & 1 else result >> 1)
    for k in range(0, len(values), 2):
        lat += values[k]
        lon += values[k + 1]
        out.append((lat, lon))
    return out


def test_boundaries_survive_the_compact_encoding() -> None:
    counties = read_layer(BOUNDARIES, "county")
    assert counties is not None and len(counties) == 122
    data = encode_boundaries(counties, simplify_m=0)
    assert [f["code"] for f in data["f"]] == counties["code"].tolist()
    for feat, geom in zip(data["f"], counties.geometry, strict=True):
        polys = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
        assert len(feat["g"]) == len(polys)
        for rings, poly in zip(feat["g"], polys, strict=True):
            expected = [poly.exterior, *poly.interiors]
            assert len(rings) == len(expected)
            for text, ring in zip(rings, expected, strict=True):
                xy = np.round(np.asarray(ring.coords)[:-1] * 1e5).astype(int)
                assert _decode_polyline(text) == [(int(y), int(x)) for x, y in xy]


def test_simplified_boundaries_stay_close_and_small() -> None:
    counties = read_layer(BOUNDARIES, "county")
    assert counties is not None
    full = json.dumps(encode_boundaries(counties, simplify_m=0))
    small = json.dumps(encode_boundaries(counties, simplify_m=50))
    assert len(full) < len(counties.to_json()) / 5
    assert len(small) < 0.8 * len(full)
    # Every simplified vertex is on the original outline, within the tolerance.
    feat = encode_boundaries(counties.head(5), simplify_m=50)["f"]
    for f, geom in zip(feat, counties.head(5).geometry, strict=True):
        pts = np.array([p for rings in f["g"] for r in rings for p in _decode_polyline(r)]) / 1e5
        d = shapely.distance(geom.boundary, shapely.points(pts[:, 1], pts[:, 0]))
        assert d.max() < 50 / 111_320 * 1.01 + 1e-5


def test_offline_bundle_inlines_every_asset(tmp_path: Path) -> None:
    fmap = daily_map(spring_day_points(), day=SPRING_DAY, offline=True)
    page = fmap.html(assets="inline")
    assert not re.findall(r'<script src="|<link rel="stylesheet" href="', page)
    assert "cdn.jsdelivr" not in page and "firewatch-asset:" not in page
    assert "data:image/png;base64," in page  # Leaflet's control images
    cdn = fmap.html(assets="cdn")
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js" in cdn
    assert "firewatch-asset:" not in cdn  # firewatch's own script has no CDN: always inline


def test_alongside_bundle_copies_the_files(tmp_path: Path) -> None:
    fmap = daily_map(spring_day_points(), day=SPRING_DAY, offline=True)
    files = fmap.save(tmp_path / "day.html", assets="alongside")
    page = files.html.read_text(encoding="utf-8")
    links = re.findall(r'(?:src|href)="(day_files/[^"]+)"', page)
    assert "day_files/leaflet/leaflet.js" in links
    for link in links:
        assert (tmp_path / link).is_file(), link
    assert (tmp_path / "day_files/leaflet/images/layers.png").is_file()


def test_bundling_refuses_a_cdn_file_it_does_not_have() -> None:
    page = folium.Map(tiles=None).get_root().render()  # folium's defaults include Bootstrap
    with pytest.raises(OfflineAssetError) as err:
        bundle_html(page, mode="inline")
    assert any("bootstrap" in u for u in err.value.urls)
    assert bundle_html(page, mode="cdn") == page


def test_tianditu_layers_are_web_mercator_with_the_key() -> None:
    layers = base_layers(settings=MapSettings(), tianditu_key="KEY123")
    names = [layer.layer_name for layer in layers]
    assert names[0] == "OpenStreetMap" and names[-1] == "无底图 No tiles"
    urls = [t["url_js"] for layer in layers for t in layer.tiles]
    tdt = [u for u in urls if "tianditu" in u]
    # vector + annotation, imagery + annotation, all "_w" (web mercator, CGCS2000 = WGS-84)
    services = [m.group(1) for u in tdt if (m := re.search(r"/(\w+)/wmts", u))]
    assert services == ["vec_w", "cva_w", "img_w", "cia_w"]
    assert all("tk=KEY123" in u and "TILEMATRIXSET=w" in u for u in tdt)
    assert sum(layer.show for layer in layers) == 1
    no_key = base_layers(settings=MapSettings())
    assert not any("tianditu" in t["url_js"] for layer in no_key for t in layer.tiles)
    with pytest.raises(ConfigError, match="Tianditu key"):
        base_layers(settings=MapSettings(), base="tianditu")


def test_offline_maps_open_without_tiles() -> None:
    layers = base_layers(settings=MapSettings(), tianditu_key="K", offline=True)
    assert [layer.layer_name for layer in layers if layer.show] == ["无底图 No tiles"]


@pytest.mark.parametrize(
    "url",
    [
        "https://webrd01.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}&style=8",
        "https://rt0.map.gtimg.com/tile?z={z}&x={x}&y={y}",
        "https://maponline0.bdimg.com/tile/?qt=vtile&x={x}&y={y}&z={z}",
    ],
)
def test_gcj02_and_bd09_base_maps_are_refused(url: str) -> None:
    cfg = MapSettings(extra_tiles=[TileSource(name="shifted", url=url, attribution="x")])
    with pytest.raises(ConfigError, match="GCJ-02"):
        base_layers(settings=cfg)


def test_an_intranet_tile_mirror_is_offered() -> None:
    cfg = MapSettings(
        extra_tiles=[
            TileSource(
                name="内网天地图",
                url="http://10.1.2.3/vec_w/{z}/{x}/{y}.png",
                overlay_url="http://10.1.2.3/cva_w/{z}/{x}/{y}.png",
                attribution="天地图 mirror",
            )
        ],
        base="内网天地图",
    )
    layers = base_layers(settings=cfg)
    chosen = [layer for layer in layers if layer.show]
    assert [layer.layer_name for layer in chosen] == ["内网天地图"]
    assert len(chosen[0].tiles) == 2


def test_an_unknown_base_map_is_a_settings_error() -> None:
    with pytest.raises(ValueError, match="gaode"):
        MapSettings(base="gaode")


def test_grid_codes_name_their_level() -> None:
    assert grid_level("230882") == ("county", "230882")
    assert grid_level("230882000000") == ("county", "230882")
    assert grid_level("230882101") == ("township", "230882101")
    assert grid_level("230882101000") == ("township", "230882101")
    with pytest.raises(GridError, match="village"):
        grid_level("230882101203")
    with pytest.raises(GridError):
        grid_level("23088")


def test_period_windows_come_from_settings() -> None:
    s = Settings()
    assert period_window(s, "spring", 2025) == (dt.date(2025, 3, 10), dt.date(2025, 5, 15))
    assert period_window(s, "autumn", 2022) == (dt.date(2022, 9, 15), dt.date(2022, 12, 10))
    with pytest.raises(ConfigError, match="summer"):
        period_window(s, "summer", 2025)


def test_iframe_snippet_escapes_and_points_at_the_page() -> None:
    html = iframe_snippet('map "a".html', title="黑龙江 <火点>")
    assert 'src="map &quot;a&quot;.html"' in html
    assert "&lt;火点&gt;" in html and "<火点>" not in html


def test_grid_map_keeps_only_points_inside_the_unit() -> None:
    from firewatch.publish.maps import grid_map

    pts = spring_day_points()
    counties = gpd.read_file(BOUNDARIES, layer="county")
    busiest = pts.loc[pts["region"] == "province", "county_code"].value_counts().index[0]
    unit = counties.loc[counties["code"] == busiest]
    fmap = grid_map(pts, unit=unit, first=SPRING_DAY, last=SPRING_DAY, offline=True)
    inside = gpd.sjoin(
        gpd.GeoDataFrame(pts, geometry=gpd.points_from_xy(pts.longitude, pts.latitude), crs=4326),
        unit[["geometry"]],
        predicate="within",
    )
    assert fmap.n_points == len(inside) > 0


def _grid_file(path: Path, villages: gpd.GeoDataFrame, meta: dict[str, str]) -> Path:
    villages.to_file(path, layer="village", driver="GPKG")
    pyogrio.write_dataframe(
        pd.DataFrame({"key": list(meta), "value": list(meta.values())}), path, layer="metadata"
    )
    return path


def _villages(n: int = 3) -> gpd.GeoDataFrame:
    """Small squares in Jixi with village codes (the geometry is made up for the test)."""
    boxes = [shapely.box(131.0 + 0.02 * k, 45.3, 131.01 + 0.02 * k, 45.31) for k in range(n)]
    codes = [f"230302100{200 + k}" for k in range(n)]
    return gpd.GeoDataFrame({"code": codes, "name": codes}, geometry=boxes, crs=4326)


def test_a_grid_in_gcj02_is_drawn_in_wgs84(tmp_path: Path) -> None:
    wgs = _villages()

    def shift(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))

    gcj = wgs.set_geometry(shapely.transform(wgs.geometry.to_numpy(), shift), crs=4326)
    path = _grid_file(tmp_path / "g.gpkg", gcj, {"datum": "gcj02", "synthetic": "false"})
    # The file declares its datum, as the grid stage reads it: the map follows the file.
    settings = Settings(grids_path=path)
    drawn = map_boundaries(settings, levels=("village",)).get("village")
    assert drawn is not None
    assert (
        shapely.hausdorff_distance(drawn.geometry.to_numpy(), wgs.geometry.to_numpy()).max() < 1e-7
    )
    with pytest.raises(GridError, match="datum"):
        map_boundaries(Settings(grids_path=path, grids_datum="bd09"), levels=("village",))


@pytest.mark.parametrize(
    ("meta", "cell_flag", "synthetic"),
    [
        ({"name": "real grid, not synthetic", "synthetic": "false"}, None, False),
        ({"name": "a grid", "synthetic": "no"}, None, False),
        ({"synthetic": "是"}, None, True),
        ({"name": "a grid"}, "true", True),  # one cell says so
        ({"name": "a grid"}, "false", False),
    ],
)
def test_the_synthetic_flag_follows_the_grid_format(
    tmp_path: Path, meta: dict[str, str], cell_flag: str | None, synthetic: bool
) -> None:
    cells = _villages()
    if cell_flag is not None:
        cells["synthetic"] = ["false", cell_flag, "false"]
    path = _grid_file(tmp_path / "g.gpkg", cells, meta)
    got = map_boundaries(Settings(grids_path=path), levels=("village",))
    assert got.synthetic_grid is synthetic


def test_a_bbox_selects_the_same_features_from_a_projected_file(tmp_path: Path) -> None:
    counties = gpd.read_file(BOUNDARIES, layer="county")
    projected = tmp_path / "mercator.gpkg"
    counties.to_crs(3857).to_file(projected, layer="county")
    box = (126.3, 45.5, 127.0, 46.0)  # around Harbin, in WGS-84 as callers give it
    wanted = read_layer(BOUNDARIES, "county", bbox=box)
    got = read_layer(projected, "county", bbox=box)
    assert wanted is not None and got is not None and len(wanted) > 5
    assert sorted(got["code"]) == sorted(wanted["code"])
