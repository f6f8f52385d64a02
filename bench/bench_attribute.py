"""County attribution: firewatch's CountyIndex against geopandas.sjoin(predicate="within").

In one run, on the same points and the same county polygons (the bundled Heilongjiang file):

- ``sjoin``: ``geopandas.sjoin(points, counties, predicate="within")``, the baseline, timed on a
  ready GeoDataFrame of points (building the points is not counted against it);
- ``sjoin + points``: the same, counting ``geopandas.points_from_xy`` too (what a user starting
  from a latitude/longitude table pays);
- ``lookup``: ``CountyIndex.lookup(lon, lat)``, the county polygon of each point;
- ``attribute_points``: the full function (city, county, region, neighbour marking) on a
  DataFrame with latitude/longitude columns.

Points are uniform random inside the province (``--where province``, the issue's case) or in
its bounding box (``--where bbox``: ~60% fall outside, which exercises the neighbour rule).  The
county assigned to every point is checked to be identical between sjoin and firewatch.  Each
method is timed ``--repeat`` times and the best time is kept (the machine is shared).  The
index is built once before timing (its build time is printed).

Usage: ``python bench/bench_attribute.py [--n 1000000] [--where province|bbox] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from _common import best  # bench/ is on the path when a script runs

from firewatch.config import Settings
from firewatch.spatial import CountyIndex, attribute_points, load_boundaries


def sample_points(province: Any, n: int, *, where: str, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    w, s, e, nn = shapely.bounds(province)
    if where == "bbox":
        return rng.uniform(w, e, n), rng.uniform(s, nn, n)
    shapely.prepare(province)
    xs, ys, have = [], [], 0
    while have < n:  # rejection sampling: ~38% of the box is the province
        x = rng.uniform(w, e, 3 * n)
        y = rng.uniform(s, nn, 3 * n)
        keep = shapely.contains_xy(province, x, y)
        xs.append(x[keep])
        ys.append(y[keep])
        have += int(keep.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--where", choices=["province", "bbox"], default="province")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20250423)
    args = ap.parse_args()

    settings = Settings()
    b = load_boundaries(settings.boundaries_path, datum=settings.boundaries_datum)
    t = time.perf_counter()
    index = CountyIndex(b)
    build_s = time.perf_counter() - t
    lon, lat = sample_points(b.province, args.n, where=args.where, seed=args.seed)
    df = pd.DataFrame({"latitude": lat, "longitude": lon})
    counties = b.county[["code", "geometry"]]
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    # Warm-up: the first sjoin builds the polygon tree, the first attribute call the distance
    # bounds; both are one-off costs that neither side should be charged in a steady state.
    gpd.sjoin(points.iloc[:1000], counties, predicate="within", how="left")
    attribute_points(df.iloc[:1000], index)

    def sjoin() -> Any:
        return gpd.sjoin(points, counties, predicate="within", how="left")

    def sjoin_points() -> Any:
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
        return gpd.sjoin(pts, counties, predicate="within", how="left")

    rows = []
    t_sjoin, joined = best(sjoin, args.repeat)
    rows.append(("geopandas.sjoin(within)", t_sjoin))
    t_sjp, _ = best(sjoin_points, args.repeat)
    rows.append(("sjoin + points_from_xy", t_sjp))
    t_lookup, idx = best(lambda: index.lookup(lon, lat), args.repeat)
    rows.append(("CountyIndex.lookup", t_lookup))
    t_attr, out = best(lambda: attribute_points(df, index), args.repeat)
    rows.append(("attribute_points (all columns)", t_attr))

    assert not joined.index.duplicated().any()
    want = joined["code"].astype(object).where(joined["code"].notna(), None).to_numpy()
    got = out["county_code"].to_numpy()
    from_lookup = np.where(idx >= 0, index.county_code[np.clip(idx, 0, index.n_county - 1)], None)
    from_lookup = np.where(idx >= index.n_county, None, from_lookup)
    same = int((got == want).sum())
    same_lookup = int((from_lookup == want).sum())

    print(
        f"\nCounty attribution, {args.n:,} points ({args.where}), {len(counties)} counties, "
        f"best of {args.repeat}; index built once in {build_s:.2f} s "
        f"({index.nx}x{index.ny} cells of {index.cell_deg} deg, "
        f"{len(index.mixed_cells):,} border cells)"
    )
    print(f"{'method':32s} {'seconds':>9s} {'rows/s':>13s} {'vs sjoin':>9s}")
    for name, sec in rows:
        print(f"{name:32s} {sec:9.3f} {args.n / sec:13,.0f} {t_sjoin / sec:8.1f}x")
    region = out["region"].value_counts().to_dict()
    print(f"regions: {region}; in a county: {int(pd.notna(got).sum()):,}")
    print(
        f"identical county to sjoin: attribute_points {same:,}/{args.n:,}, "
        f"lookup {same_lookup:,}/{args.n:,}"
    )
    if same != args.n or same_lookup != args.n:
        raise SystemExit("assignments differ from sjoin")


if __name__ == "__main__":
    main()
