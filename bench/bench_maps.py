#!/usr/bin/env python
"""Benchmark: firewatch's canvas map vs folium's FastMarkerCluster, same points, same run.

For each size (default 1,000 / 10,000 / 100,000 points) it measures

* build + save: firewatch's period map (slider, legend, heat layer, popups with every field,
  Leaflet inlined for offline use) vs ``folium.Map`` + ``FastMarkerCluster`` + ``Map.save``;
* the HTML file size;
* time from navigation start to the ``load`` event in headless Chromium.  Both pages are loaded
  from local files with Leaflet (and Leaflet.markercluster) inlined, so neither waits on a CDN;
  folium's other default CDN files (jQuery, Bootstrap, Font Awesome, awesome-markers) are
  dropped from the baseline page, and its per-marker ``L.AwesomeMarkers.icon()`` is answered by
  a stand-in returning Leaflet's default icon: the baseline is only made faster, if anything.

The issue's targets: at 100,000 points, build+save ≤ 2× FastMarkerCluster, file ≤ 5 MB, load
event ≥ 2× faster.  Points are synthetic (real FIRMS positions from the bundled sample, jittered
and repeated over 50 days) with the columns a fully installed firewatch shows in popups.

Usage: ``python bench/bench_maps.py [--n 1000 10000 100000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "firewatch" / "data" / "samples" / "MODIS_C61_NRT_hlj_2025-04-23_to_2025-04-24.csv"
FIRST = dt.date(2022, 10, 4)
DAYS = 50


def make_points(n: int, *, seed: int = 0) -> pd.DataFrame:
    """``n`` points around real FIRMS positions with every column a popup can show."""
    rng = np.random.default_rng(seed)
    base = pd.read_csv(SAMPLE)
    pick = rng.integers(0, len(base), n)
    lat = base["latitude"].to_numpy()[pick] + rng.normal(0, 0.05, n)
    lon = base["longitude"].to_numpy()[pick] + rng.normal(0, 0.05, n)
    day = rng.integers(0, DAYS, n)
    minute = rng.choice([13 * 60 + 5, 13 * 60 + 12, 13 * 60 + 50, 1 * 60 + 30], n)
    bjt = (
        pd.Timestamp(FIRST, tz="Asia/Shanghai")
        + pd.to_timedelta(day, unit="D")
        + pd.to_timedelta(minute, unit="min")
    )
    village = rng.integers(0, 3000, n)
    cls = rng.choice(
        ["straw", "other_vegetation", "industrial", "spurious"], n, p=[0.6, 0.2, 0.1, 0.1]
    )
    return pd.DataFrame(
        {
            "detection_id": [f"{i:016x}" for i in rng.integers(0, 2**63, n)],
            "product": "VIIRS_NOAA20_NRT",
            "instrument": "VIIRS",
            "satellite": "NOAA-20",
            "acq_time_utc": bjt.tz_convert("UTC"),
            "acq_time_bjt": bjt,
            "latitude": lat.round(5),
            "longitude": lon.round(5),
            "frp": rng.gamma(1.5, 4.0, n).round(2),
            "confidence_level": rng.choice(["low", "nominal", "high"], n),
            "region": "province",
            "city_name": "佳木斯市",
            "county_name": rng.choice(["桦川县", "汤原县", "富锦市", "同江市"], n),
            "neighbour_name": None,
            "fp_class": cls,
            "p_straw": rng.random(n).round(3),
            "fp_explanation": rng.choice(
                [
                    "耕地上，禁烧期内，同一像元 30 天内未复现 cropland, ban season, no recurrence",
                    "距已知工业热源 0.8 km，同一像元反复出现 0.8 km from a known industrial site",
                    "林地/草地 forest or grassland",
                    "单次低置信度探测 single low-confidence detection",
                ],
                n,
            ),
            "model_version": "fp-2025.1",
            "township_name": pd.Series(village // 30).map(lambda v: f"镇{v:03d}"),
            "village_name": pd.Series(village).map(lambda v: f"村{v:04d}"),
            "village_code": pd.Series(village).map(lambda v: f"230800{v:06d}"),
            "field_chief": pd.Series(village).map(lambda v: f"田长{v:04d}"),
            "field_chief_phone": pd.Series(village).map(lambda v: f"1380000{v:04d}"),
            "grid_member": pd.Series(village).map(lambda v: f"网格员{v:04d}"),
            "grid_member_phone": pd.Series(village).map(lambda v: f"1390000{v:04d}"),
            "review_status": rng.choice(["pending", "answered", "overdue", "escalated"], n),
        }
    )


def build_firewatch(points: pd.DataFrame, path: Path) -> float:
    from firewatch.publish.maps import period_map

    t0 = time.perf_counter()
    fmap = period_map(
        points, first=FIRST, last=FIRST + dt.timedelta(DAYS - 1), name="autumn", offline=True
    )
    fmap.save(path, assets="inline", iframe=False)
    return time.perf_counter() - t0


def build_fmc(points: pd.DataFrame, path: Path) -> float:
    import folium
    from folium.plugins import FastMarkerCluster

    t0 = time.perf_counter()
    m = folium.Map(location=[47.5, 128.0], zoom_start=6, tiles=None)
    m.options["max_zoom"] = 18  # markercluster needs it; a tile layer would normally set it
    FastMarkerCluster(points[["latitude", "longitude"]].to_numpy().tolist()).add_to(m)
    m.save(str(path))
    return time.perf_counter() - t0


def offline_fmc(path: Path, out: Path) -> None:
    """The FastMarkerCluster page with Leaflet and markercluster inlined (no CDN wait)."""
    import re

    from firewatch.publish.maps.assets import bundle_html

    page = path.read_text(encoding="utf-8")
    # Drop folium's defaults that FastMarkerCluster does not use (and we have not vendored).
    for url in re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', page):
        if not any(k in url for k in ("leaflet@", "markercluster")):
            page = re.sub(rf'<script src="{re.escape(url)}"></script>', "", page)
            page = re.sub(rf'<link rel="stylesheet" href="{re.escape(url)}"\s*/>', "", page)
    # FastMarkerCluster's default callback gives every marker an awesome-markers icon.  That
    # plugin is not vendored (it also needs Bootstrap's glyph font); a stand-in creates a
    # default Leaflet icon per marker instead, which costs the same order of work.
    stub = (
        "<script>L.AwesomeMarkers = {icon: function () { return new L.Icon.Default(); }};</script>"
    )
    page = page.replace("</head>", stub + "\n</head>", 1)
    out.write_text(bundle_html(page, mode="inline"), encoding="utf-8")


def load_time(browser, path: Path) -> tuple[float, dict[str, str | None]]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
    page.goto(path.as_uri(), wait_until="load", timeout=300_000)
    ms = page.evaluate(
        "() => { const e = performance.getEntriesByType('navigation')[0];"
        " return e.loadEventStart - e.startTime; }"
    )
    attrs = page.evaluate(
        "() => { const m = document.querySelector('.folium-map');"
        " return {drawn: m.getAttribute('data-fw-drawn'), total: m.getAttribute('data-fw-total')}; }"
    )
    context.close()
    return ms / 1000.0, attrs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3, help="page loads per map (median)")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()

    from firewatch.publish.maps.embed import chromium

    rows = []
    with tempfile.TemporaryDirectory() as tmp, chromium(args.chromium) as browser:
        d = Path(tmp)
        for n in args.n:
            pts = make_points(n)
            fw, fmc, fmc_off = d / f"fw_{n}.html", d / f"fmc_{n}.html", d / f"fmc_off_{n}.html"
            build_firewatch(pts.head(100), d / "warm.html")  # imports and caches, not timed
            t_fw = statistics.median(build_firewatch(pts, fw) for _ in range(3))
            t_fmc = statistics.median(build_fmc(pts, fmc) for _ in range(3))
            offline_fmc(fmc, fmc_off)
            fw_loads, fmc_loads = [], []
            for _ in range(args.repeat):
                s, attrs = load_time(browser, fw)
                if attrs["drawn"] != str(n):
                    raise SystemExit(f"firewatch page drew {attrs['drawn']} of {n} points")
                fw_loads.append(s)
                fmc_loads.append(load_time(browser, fmc_off)[0])
            rows.append(
                {
                    "n": n,
                    "build_fw": t_fw,
                    "build_fmc": t_fmc,
                    "size_fw": fw.stat().st_size / 1e6,
                    "size_fmc": fmc.stat().st_size / 1e6,
                    "size_fmc_off": fmc_off.stat().st_size / 1e6,
                    "load_fw": statistics.median(fw_loads),
                    "load_fmc": statistics.median(fmc_loads),
                }
            )
            print(f"  {n:>7,} points measured", flush=True)

    head = (
        f"{'points':>8} | {'build+save s':>12} {'FMC s':>7} {'ratio':>6} (≤2) | "
        f"{'file MB':>7} {'FMC MB':>7} (≤5) | {'load s':>7} {'FMC s':>7} {'speedup':>8} (≥2)"
    )
    print()
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['n']:>8,} | {r['build_fw']:>12.3f} {r['build_fmc']:>7.3f} "
            f"{r['build_fw'] / r['build_fmc']:>6.2f}      | "
            f"{r['size_fw']:>7.2f} {r['size_fmc']:>7.2f}      | "
            f"{r['load_fw']:>7.3f} {r['load_fmc']:>7.3f} {r['load_fmc'] / r['load_fw']:>7.1f}×"
        )
    print(
        "\nfirewatch: period map (slider, legend, heat, popups with every field), Leaflet inlined."
        "\nFMC: folium.Map + FastMarkerCluster + save (CDN links); its load time is measured with"
        "\nLeaflet + markercluster inlined (FMC MB is the CDN-linked file folium writes)."
    )


if __name__ == "__main__":
    main()
