"""Helpers for the grid tests: the bundled Jixi demo grid, grids derived from it, registries.

The city and county cells of the demo grid are the real (WGS-84) county polygons of
``boundaries/heilongjiang_counties.gpkg``; broken grids are made from it by editing cells.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "grids" / "jixi_demo.gpkg"
REGISTRY_CSV = ROOT / "grids" / "jixi_demo_chiefs.csv"
REGISTRY_XLSX = ROOT / "grids" / "jixi_demo_chiefs.xlsx"
SERIES = ROOT / "tests" / "data" / "firms" / "viirs_noaa20_hlj_autumn2022"
LEVELS = ("city", "county", "township", "village")
HEADER = ["grid_code", "level", "role", "name", "phone", "on_duty_from", "on_duty_to"]


def demo_layers() -> dict[str, gpd.GeoDataFrame]:
    """The demo grid's layers as stored (a fresh copy each call)."""
    return {lv: pyogrio.read_dataframe(DEMO, layer=lv) for lv in LEVELS}


def demo_metadata() -> dict[str, str]:
    df = pyogrio.read_dataframe(DEMO, layer="metadata", read_geometry=False)
    return dict(zip(df["key"], df["value"], strict=True))


def county_subset(county: str = "230302000000") -> dict[str, gpd.GeoDataFrame]:
    """One county of the demo grid (鸡冠区 by default) with its townships and villages; the
    city cell is cut down to that county, so the subset is a complete grid of its own."""
    lay = demo_layers()
    town = lay["township"][lay["township"]["parent_code"] == county]
    vil = lay["village"][lay["village"]["parent_code"].isin(set(town["code"]))]
    cty = lay["county"][lay["county"]["code"] == county]
    city = lay["city"].copy()
    city.geometry = [cty.geometry.iloc[0]]
    return {
        "city": city,
        "county": cty,
        "township": town,
        "village": vil,
    }


def write_grid(
    path: Path, layers: dict[str, gpd.GeoDataFrame], meta: dict[str, str] | None = None
) -> Path:
    """Write layers (and a metadata table) as a GeoPackage."""
    path.unlink(missing_ok=True)
    for lv in LEVELS:
        if lv in layers:
            pyogrio.write_dataframe(
                layers[lv].reset_index(drop=True), path, layer=lv, driver="GPKG"
            )
    meta = {"datum": "wgs84", "synthetic": "true"} if meta is None else meta
    if meta:
        pyogrio.write_dataframe(
            pd.DataFrame({"key": list(meta), "value": list(meta.values())}),
            path,
            layer="metadata",
            driver="GPKG",
        )
    return path


def write_registry(
    path: Path, rows: Iterable[Iterable[object]], header: list[str] = HEADER
) -> Path:
    """A registry CSV (UTF-8) with ``header`` and ``rows``."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow(list(r))
    return path


def chiefs_for(
    layers: dict[str, gpd.GeoDataFrame], *, since: str = "2020-01-01"
) -> list[list[str]]:
    """A valid registry for ``layers``: a field chief for every cell and a grid member for
    every village, with fictional names and 138-0000-xxxx / 139-0000-xxxx phones."""
    rows = []
    n = 0
    for lv in LEVELS:
        for code in layers[lv]["code"]:
            n += 1
            rows.append(
                [code, lv, "field_chief", f"示例田长{n:04d}", f"138-0000-{n:04d}", since, ""]
            )
            if lv == "village":
                rows.append(
                    [code, lv, "grid_member", f"示例网格员{n:04d}", f"139-0000-{n:04d}", since, ""]
                )
    return rows
