#!/usr/bin/env python
"""Evidence, from data in this repository, that the AMap boundaries were GCJ-02.

Run ``python boundaries/datum_evidence.py``; boundaries/README.md quotes its output.

1. **Border-river gap.**  Along the Amur and the Ussuri the province's outline is the
   China-Russia border, which runs in the river (the main channel).  Satellites see fires on
   the banks, never in the water, so real detections (WGS-84) leave a gap along the true
   border line.  We slide the outline between the converted position (alpha = 0, what
   firewatch ships) and beyond the position AMap published (alpha = 1: the shipped outline
   moved back by the GCJ-02 offset) and count the VIIRS 375 m detections within 250 m and
   400 m of it.  The position with the fewest detections in the water is the right datum.
2. **Industrial heat sources** (secondary).  Offsets between VIIRS Nightfire gas flares / WRI
   power plants (WGS-84) and nearby FIRMS detections, against the GCJ-02 offset there.  Few
   sites have detections in the bundled sample, so this only shows that FIRMS is not itself
   shifted by several hundred metres.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import shapely

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from firewatch.spatial.boundaries import lcc_crs, load_boundaries  # noqa: E402
from firewatch.spatial.datum import gcj02_offset_m, wgs84_to_gcj02  # noqa: E402

FIRMS = ROOT / "tests" / "data" / "spatial" / "firms_hlj_box_points.csv"
FLARES = ROOT / "firewatch" / "data" / "industrial" / "vnf_flares_2017_hlj.csv"
PLANTS = ROOT / "firewatch" / "data" / "industrial" / "gppd_power_plants_hlj.csv"


def shifted(geom: shapely.Geometry, alpha: float) -> shapely.Geometry:
    """Move every vertex by ``alpha`` times the local GCJ-02 offset."""

    def fn(xy: np.ndarray) -> np.ndarray:
        gx, gy = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack(
            [xy[:, 0] + alpha * (gx - xy[:, 0]), xy[:, 1] + alpha * (gy - xy[:, 1])]
        )

    return shapely.transform(geom, fn)


def river_gap() -> None:
    b = load_boundaries(HERE / "heilongjiang_counties.gpkg")
    neighbours = shapely.union_all(b.neighbours.geometry.to_numpy())
    # The Russian border: the outline away from Jilin and Inner Mongolia.
    russia = shapely.difference(shapely.boundary(b.province), shapely.buffer(neighbours, 0.01))
    crs = lcc_crs(shapely.bounds(b.province))
    fwd = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)

    def proj(g: shapely.Geometry) -> shapely.Geometry:
        return shapely.transform(g, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))

    pts = pd.read_csv(FIRMS)
    viirs = pts[pts["sensor"] == "V"]
    x, y = fwd.transform(viirs["longitude"].to_numpy(), viirs["latitude"].to_numpy())
    p = shapely.points(x, y)
    km = shapely.length(proj(russia)) / 1000
    print(f"1. VIIRS detections near the Russian border ({km:,.0f} km of outline), by position")
    print("   of the outline: alpha=0 as shipped (converted to WGS-84), alpha=1 as AMap has it")
    print(f"   {'alpha':>6s} {'<=250 m':>8s} {'<=400 m':>8s} {'<=3 km':>7s}")
    for alpha in (-1.5, -1.0, -0.5, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5):
        d = shapely.distance(p, proj(shifted(russia, alpha)))
        mark = "  <- shipped" if alpha == 0 else ("  <- AMap (GCJ-02)" if alpha == 1 else "")
        print(
            f"   {alpha:6.2f} {int((d <= 250).sum()):8d} {int((d <= 400).sum()):8d} "
            f"{int((d <= 3000).sum()):7d}{mark}"
        )
    ex, ny = gcj02_offset_m(*shapely.get_coordinates(russia).T)
    print(
        f"   GCJ-02 offset along this border: east {ex.min():.0f}-{ex.max():.0f} m, "
        f"north {ny.min():.0f}-{ny.max():.0f} m"
    )


def industrial() -> None:
    pts = pd.read_csv(FIRMS)
    print("\n2. FIRMS detections around WGS-84 industrial sites (mean offset of detections")
    print("   within 2 km of a site, averaged over sites; +- standard error)")
    sites = {
        "VIIRS Nightfire flares 2017": pd.read_csv(FLARES),
        "WRI power plants (coal, gas, oil)": pd.read_csv(PLANTS).query(
            "primary_fuel in ['Coal', 'Gas', 'Oil']"
        ),
    }
    for name, s in sites.items():
        east, north = [], []
        for lon, lat in zip(s["longitude"], s["latitude"], strict=True):
            kx = 111_320.0 * np.cos(np.radians(lat))
            e = (pts["longitude"].to_numpy() - lon) * kx
            n = (pts["latitude"].to_numpy() - lat) * 111_132.0
            near = np.hypot(e, n) < 2000
            if near.any():
                east.append(e[near].mean())
                north.append(n[near].mean())
        ea, na = np.array(east), np.array(north)
        ge, gn = gcj02_offset_m(s["longitude"], s["latitude"])
        se = ea.std(ddof=1) / np.sqrt(len(ea)) if len(ea) > 1 else float("nan")
        sn = na.std(ddof=1) / np.sqrt(len(na)) if len(na) > 1 else float("nan")
        print(
            f"   {name}: {len(ea)} of {len(s)} sites; east {ea.mean():+.0f} +- {se:.0f} m, "
            f"north {na.mean():+.0f} +- {sn:.0f} m (GCJ-02 would add east "
            f"{np.median(ge):+.0f}, north {np.median(gn):+.0f})"
        )


if __name__ == "__main__":
    river_gap()
    industrial()
