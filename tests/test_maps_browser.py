"""Maps opened in a real headless Chromium: what a bureau chief and a report writer would check."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from firewatch.config import Settings
from firewatch.publish.maps import daily_map, load_boundaries, period_map, render_png
from firewatch.publish.maps.settings import MapSettings
from tests.browser import launch_chromium, open_page
from tests.maps_support import (
    SPRING_DAY,
    autumn_series_points,
    spring_day_points,
    with_fictional_chiefs,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as b:
        yield b


@pytest.fixture(scope="module")
def boundaries() -> Any:
    # Province, cities and counties only: the configured demo grid's thousands of villages
    # would make every page heavier and blur what the tests below count.
    return load_boundaries(Settings(), levels=("province", "city", "county"))


def _attrs(page: Any) -> dict[str, str]:
    return page.evaluate(
        """() => Object.fromEntries(Array.from(document.querySelector('.folium-map').attributes)
              .filter(a => a.name.startsWith('data-fw-'))
              .map(a => [a.name.slice(8), a.value]))"""
    )


def test_daily_map_offline_draws_every_point_without_network(
    browser: Any, boundaries: Any, tmp_path: Path, artifacts: Path
) -> None:
    pts = spring_day_points()
    fmap = daily_map(pts, day=SPRING_DAY, boundaries=boundaries, offline=True)
    files = fmap.save(tmp_path / "daily.html")
    page, log = open_page(browser, files.html)
    assert log.errors == []
    assert log.requests == [files.html.resolve().as_uri()]  # the page itself, nothing else
    a = _attrs(page)
    assert int(a["total"]) == int(a["shown"]) == int(a["drawn"]) == len(pts)
    assert int(a["markers"]) == len(pts) and a["clusters"] == "0"  # a day: every point alone
    # The county layer is there, all 122 of them, as polygons with a tooltip naming each.
    tips = page.evaluate(
        """() => Object.values(FW.layers[0]._map._layers)
              .filter(l => l.getTooltip && l.getTooltip())
              .map(l => l.getTooltip().getContent())"""
    )
    counties = boundaries.get("county")
    assert len(tips) == len(counties) == 122
    codes = [m.group(1) for t in tips if (m := re.search(r"<small>(\d{6})</small>", t))]
    assert sorted(codes) == sorted(counties["code"])
    page.screenshot(path=str(artifacts / "maps_daily_offline.png"))
    page.close()


def _isolated(points: pd.DataFrame, *, km: float = 3.0) -> int:
    """Position of a point with no other point within ``km``."""
    lat, lon = points["latitude"].to_numpy(), points["longitude"].to_numpy()
    dy = (lat[:, None] - lat[None, :]) * 111.0
    dx = (lon[:, None] - lon[None, :]) * 111.0 * np.cos(np.radians(lat[:, None]))
    d = np.hypot(dx, dy)
    np.fill_diagonal(d, np.inf)
    return int(np.flatnonzero(d.min(axis=1) > km)[0])


def _click_point(page: Any, lat: float, lon: float) -> str:
    """Centre the map on (lat, lon) at zoom 13, click there, return the popup's text."""
    page.evaluate(
        "([lat, lon]) => FW.layers[0]._map.setView([lat, lon], 13, {animate: false})", [lat, lon]
    )
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible")
    return str(popup.inner_text())


def test_a_popup_names_the_points_own_chief(browser: Any, tmp_path: Path, artifacts: Path) -> None:
    pts = with_fictional_chiefs(spring_day_points())
    i = _isolated(pts)
    row = pts.iloc[i]
    files = daily_map(pts, day=SPRING_DAY, offline=True).save(tmp_path / "chiefs.html")
    page, log = open_page(browser, files.html)
    text = _click_point(page, float(row["latitude"]), float(row["longitude"]))
    assert row["field_chief"] in text and row["field_chief_phone"] in text
    assert row["grid_member"] in text and row["village_name"] in text
    others = set(pts["field_chief"]) - {row["field_chief"]}
    assert not any(name in text for name in others)
    # What a chief needs to act on: when (Beijing time), which satellite, how strong.
    assert row["acq_time_bjt"].strftime("%Y-%m-%d %H:%M") in text
    assert "Terra" in text or "Aqua" in text
    assert f"{row['frp']:.1f} MW" in text
    assert "合成演示数据" in page.locator(".fw-title").inner_text()  # synthetic grid said so
    # Let the popup finish fading in for the screenshot (a condition, not a fixed sleep).
    page.wait_for_function(
        "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
    )
    page.screenshot(path=str(artifacts / "maps_popup_chief.png"))
    assert log.errors == [] and log.external == []
    page.close()


def test_public_edition_has_no_personal_data_anywhere(browser: Any, tmp_path: Path) -> None:
    pts = with_fictional_chiefs(spring_day_points())
    internal = daily_map(pts, day=SPRING_DAY, offline=True).save(tmp_path / "internal.html")
    public = daily_map(pts, day=SPRING_DAY, offline=True, edition="public").save(
        tmp_path / "public.html"
    )
    internal_text = internal.html.read_text(encoding="utf-8")
    public_text = public.html.read_text(encoding="utf-8")
    people = [*pts["field_chief"], *pts["field_chief_phone"], *pts["grid_member"]]
    people += list(pts["grid_member_phone"])
    assert all(p in internal_text for p in people)  # the search below can find them
    assert [p for p in people if p in public_text] == []
    assert "田长" not in public_text.split("<body>")[1].replace("田长制", "")
    # And the public popup of the same point shows the place but no person.
    row = pts.iloc[_isolated(pts)]
    page, log = open_page(browser, public.html)
    text = _click_point(page, float(row["latitude"]), float(row["longitude"]))
    assert row["village_name"] in text
    assert row["field_chief"] not in text and "田长" not in text
    assert page.locator(".leaflet-popup-content tr[data-key=field_chief]").count() == 0
    assert log.errors == []
    page.close()


def test_the_slider_changes_which_days_are_drawn(
    browser: Any, tmp_path: Path, artifacts: Path
) -> None:
    pts = autumn_series_points()
    first, last = dt.date(2022, 10, 3), dt.date(2022, 10, 10)
    per_day = pts["acq_time_bjt"].dt.date.value_counts()
    days = [first + dt.timedelta(d) for d in range((last - first).days + 1)]
    counts = [int(per_day.get(d, 0)) for d in days]
    assert sum(counts) == len(pts) and len([c for c in counts if c]) >= 4

    fmap = period_map(pts, first=first, last=last, name="autumn", offline=True)
    files = fmap.save(tmp_path / "period.html")
    page, log = open_page(browser, files.html)
    a = _attrs(page)
    assert int(a["shown"]) == int(a["drawn"]) == len(pts) and a["mode"] == "cum"

    slider = page.locator(".fw-range")
    slider.focus()
    page.keyboard.press("Home")  # the first day, cumulative
    assert int(_attrs(page)["shown"]) == counts[0]
    for k in range(1, 4):
        page.keyboard.press("ArrowRight")
        a = _attrs(page)
        assert a["day"] == days[k].isoformat()
        assert int(a["shown"]) == int(a["drawn"]) == sum(counts[: k + 1])

    page.locator(".fw-slider input[value=day]").check()  # per-day view of the same day
    assert int(_attrs(page)["shown"]) == counts[3]
    busiest = int(np.argmax(counts))
    slider.focus()
    page.keyboard.press("Home")
    for _ in range(busiest):
        page.keyboard.press("ArrowRight")
    a = _attrs(page)
    assert (a["day"], a["mode"]) == (days[busiest].isoformat(), "day")
    assert int(a["shown"]) == int(a["drawn"]) == counts[busiest]
    assert page.locator(".fw-shown").inner_text().startswith(str(counts[busiest]))
    page.screenshot(path=str(artifacts / "maps_period_slider.png"))

    page.locator(".fw-slider input[value=all]").check()
    assert int(_attrs(page)["shown"]) == len(pts)
    assert log.errors == [] and log.external == []
    page.close()


def test_legend_ticks_hide_a_class(browser: Any, tmp_path: Path) -> None:
    pts = spring_day_points()
    pts["fp_class"] = np.where(pts["frp"] >= 30, "industrial", "straw")
    pts["p_straw"] = np.where(pts["frp"] >= 30, 0.2, 0.8)
    pts["review_status"] = np.where(pts["frp"] < 10, "pending", None)
    n_ind = int((pts["frp"] >= 30).sum())
    assert 0 < n_ind < len(pts)
    files = daily_map(pts, day=SPRING_DAY, offline=True).save(tmp_path / "legend.html")
    page, log = open_page(browser, files.html)
    legend = page.locator(".fw-legend")
    assert f"({n_ind})" in legend.locator("label", has_text="industrial").inner_text()
    legend.locator("label", has_text="industrial").locator("input").uncheck()
    assert int(_attrs(page)["shown"]) == len(pts) - n_ind
    legend.locator("label", has_text="pending").locator("input").uncheck()
    expected = int(((pts["frp"] < 30) & ~(pts["frp"] < 10)).sum())
    assert int(_attrs(page)["shown"]) == expected
    assert log.errors == []
    page.close()


def test_clusters_only_where_points_pile_up(browser: Any, tmp_path: Path) -> None:
    pts = spring_day_points()
    cfg = MapSettings(cluster_min_points=5, cluster_max_zoom=9)
    files = daily_map(pts, day=SPRING_DAY, offline=True, settings=cfg, cluster=True).save(
        tmp_path / "cluster.html"
    )
    page, log = open_page(browser, files.html)
    a = _attrs(page)
    assert int(a["clusters"]) > 0 and int(a["markers"]) > 0
    assert int(a["markers"]) + int(a["clustered"]) == int(a["drawn"]) == len(pts)
    # Zoomed in past cluster_max_zoom every point stands alone again.
    page.evaluate("() => FW.layers[0]._map.setZoom(10, {animate: false})")
    a = _attrs(page)
    assert a["clusters"] == "0" and int(a["markers"]) == int(a["drawn"]) > 0
    assert log.errors == []
    page.close()


def test_heat_layer_can_be_switched_on(browser: Any, tmp_path: Path) -> None:
    files = daily_map(spring_day_points(), day=SPRING_DAY, offline=True).save(tmp_path / "h.html")
    page, log = open_page(browser, files.html)
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 0  # off when it opens
    page.locator(".leaflet-control-layers").hover()
    page.locator(".leaflet-control-layers-overlays label", has_text="Heat").locator("input").check()
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 1
    assert log.errors == [] and log.external == []
    page.close()


def test_alongside_assets_load_from_the_folder(browser: Any, tmp_path: Path) -> None:
    fmap = daily_map(spring_day_points(), day=SPRING_DAY, offline=True)
    files = fmap.save(tmp_path / "along.html", assets="alongside")
    page, log = open_page(browser, files.html)
    assert log.errors == [] and log.external == []
    assert any(u.endswith("along_files/leaflet/leaflet.js") for u in log.requests)
    assert int(_attrs(page)["drawn"]) == fmap.n_points
    page.close()


def test_online_map_loads_leaflet_and_tiles_from_the_internet(browser: Any, tmp_path: Path) -> None:
    # Network blocked by the test: we only look at what the page asks for.
    fmap = daily_map(spring_day_points(), day=SPRING_DAY, tianditu_key="TESTKEY", base="tianditu")
    files = fmap.save(tmp_path / "online.html")
    page, log = open_page(browser, files.html, wait_until="domcontentloaded")
    hosts = {re.sub(r"^https?://([^/]+)/.*$", r"\1", u) for u in log.external}
    assert "cdn.jsdelivr.net" in hosts
    page.close()

    # With Leaflet served locally, the Tianditu base asks for vector + annotation tiles.
    files = fmap.save(tmp_path / "online2.html", assets="inline")
    page, log = open_page(browser, files.html)
    tiles = [u for u in log.external if "tianditu.gov.cn" in u]
    assert any("/vec_w/" in u for u in tiles) and any("/cva_w/" in u for u in tiles)
    assert all("tk=TESTKEY" in u for u in tiles)
    assert not [u for u in log.external if re.search(r"autonavi|amap|gtimg|bdimg", u)]
    page.close()


def test_png_of_the_same_map_renders_without_internet(
    browser: Any, boundaries: Any, tmp_path: Path, artifacts: Path
) -> None:
    pts = spring_day_points()
    # Saved for online use (CDN links, OSM base): the image is still made offline.
    files = daily_map(pts, day=SPRING_DAY, boundaries=boundaries).save(tmp_path / "png.html")
    png = render_png(
        files.html, artifacts / "maps_daily.png", width=1000, height=800, scale=2, browser=browser
    )
    with Image.open(png) as im:
        assert im.size == (2000, 1600)
        rgb = np.asarray(im.convert("RGB")).reshape(-1, 3).astype(int)
    fill = np.array([0xF0, 0x3B, 0x20])  # the "not classified" fire-point colour
    assert int((np.abs(rgb - fill).sum(axis=1) < 30).sum()) > 50 * len(pts)
    background = np.array([0xEE, 0xF0, 0xEA])  # no tiles: the plain background
    assert (np.abs(rgb - background).sum(axis=1) < 10).mean() > 0.3
