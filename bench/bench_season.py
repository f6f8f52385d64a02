"""Season cubes: 1,000,000 detections into both cubes, against a plain pandas groupby.

In one run, on the same detections:

- ``groupby (date, county) count`` / ``groupby (date, y, x) count``: the baseline the issue names,
  ``DataFrame.groupby([...]).size()`` (the day and cell columns are computed inside the timing,
  as the cube builders compute theirs);
- ``groupby ... 8 sums`` / ``4 sums``: the same groupby summing every variable the cube carries
  (count, FRP, FRE and dry matter with ranges), a like-for-like comparison;
- ``county cube`` / ``grid cube``: :func:`county_cube` and :func:`grid_cube` from detections that
  already carry FRE (a dense ``xarray.Dataset`` over every date and county / 0.05° cell of the
  87-day autumn window);
- ``events + FRE``: :func:`estimate_fre` (clustering into fire events, overpass counting, diurnal
  scaling), the one-off step before the cubes, shown for scale; the resampled data are ~35 times
  denser than the real season, so it is also timed on the real series itself.

Detections are the real NOAA-20 autumn 2022 series of ``tests/data/firms`` resampled to ``--n``
rows: each copy keeps a real detection's time of day, FRP, satellite and county, moved by up to
±0.02° and to a random day of the same week (so density stays realistic).  County codes are
carried from the source detection (the jitter can cross a border; it does not matter for timing).
Each step is timed ``--repeat`` times and the best time kept (the machine is shared).

Usage: ``python bench/bench_season.py [--n 1000000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import best  # bench/ is on the path when a script runs

from firewatch.config import Settings
from firewatch.pipeline import attribute_frame
from firewatch.publish.season.cubes import county_cube, grid_cube, season_window
from firewatch.publish.season.fre import estimate_fre
from firewatch.sources.firms import combine_reads, read_firms

SERIES = Path(__file__).resolve().parent.parent / "tests/data/firms/viirs_noaa20_hlj_autumn2022"


def detections(
    n: int, settings: Settings, seed: int = 7, *, real_only: bool = False
) -> pd.DataFrame:
    files = sorted(SERIES.glob("*.csv"))
    real, _ = attribute_frame(
        combine_reads([read_firms(f) for f in files], origin="bench").frame, settings
    )
    if real_only:
        return real
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(real), n)
    src = real.iloc[pick].reset_index(drop=True)
    shift_days = pd.to_timedelta(rng.integers(-3, 4, n), unit="D")
    t = src["acq_time_utc"] + shift_days
    out = pd.DataFrame(
        {
            "acq_time_utc": t,
            "acq_time_bjt": t.dt.tz_convert("Asia/Shanghai"),
            "latitude": src["latitude"].to_numpy() + rng.uniform(-0.02, 0.02, n),
            "longitude": src["longitude"].to_numpy() + rng.uniform(-0.02, 0.02, n),
            "frp": src["frp"].to_numpy(),
            "satellite": src["satellite"].to_numpy(),
            "daynight": src["daynight"].to_numpy(),
            "instrument": src["instrument"].to_numpy(),
            "county_code": src["county_code"].to_numpy(),
            "county_name": src["county_name"].to_numpy(),
            "city_code": src["city_code"].to_numpy(),
            "city_name": src["city_name"].to_numpy(),
        }
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    settings = Settings()
    cfg = settings.season
    season = season_window(settings, year=2022, season="autumn")
    t = time.perf_counter()
    raw = detections(args.n, settings)
    print(f"{len(raw):,} detections prepared in {time.perf_counter() - t:.1f} s")

    t_fre, det = best(lambda: estimate_fre(raw, cfg), 1)
    real = detections(0, settings, real_only=True)
    t_fre_real, _ = best(lambda: estimate_fre(real, cfg), args.repeat)
    print(f"{det['event_id'].nunique():,} fire events")
    first = pd.Timestamp(season.first)
    last = pd.Timestamp(season.last)
    west, south, _, _ = settings.region.bbox
    res = cfg.grid_resolution_deg

    def gb_county_count() -> pd.Series:
        d = det.loc[det["county_code"].notna()]
        day = d["acq_time_bjt"].dt.tz_localize(None).dt.floor("D")
        d = d.assign(day=day).loc[(day >= first) & (day <= last)]
        return d.groupby(["day", "county_code"]).size()

    sums = [
        "frp",
        "fre_mj",
        "fre_mj_low",
        "fre_mj_high",
        "dry_matter_t",
        "dry_matter_t_low",
        "dry_matter_t_high",
    ]

    def gb_county_sums() -> pd.DataFrame:
        d = det.loc[det["county_code"].notna()]
        day = d["acq_time_bjt"].dt.tz_localize(None).dt.floor("D")
        d = d.assign(day=day).loc[(day >= first) & (day <= last)]
        return d.groupby(["day", "county_code"]).agg(
            n=("frp", "size"), **{c: (c, "sum") for c in sums}
        )

    def cells(d: pd.DataFrame) -> pd.DataFrame:
        day = d["acq_time_bjt"].dt.tz_localize(None).dt.floor("D")
        iy = np.floor((d["latitude"] - south) / res).astype(np.int64)
        ix = np.floor((d["longitude"] - west) / res).astype(np.int64)
        return d.assign(day=day, iy=iy, ix=ix).loc[(day >= first) & (day <= last)]

    def gb_grid_count() -> pd.Series:
        return cells(det).groupby(["day", "iy", "ix"]).size()

    def gb_grid_sums() -> pd.DataFrame:
        return (
            cells(det)
            .groupby(["day", "iy", "ix"])
            .agg(
                n=("frp", "size"),
                frp=("frp", "sum"),
                fre=("fre_mj", "sum"),
                dm=("dry_matter_t", "sum"),
            )
        )

    rows = []
    t_gc, counts = best(gb_county_count, args.repeat)
    t_gcs, _ = best(gb_county_sums, args.repeat)
    t_cc, cc = best(lambda: county_cube(det, season, settings=cfg), args.repeat)
    t_gg, gcounts = best(gb_grid_count, args.repeat)
    t_ggs, _ = best(gb_grid_sums, args.repeat)
    t_gr, gr = best(
        lambda: grid_cube(det, season, settings=cfg, bbox=settings.region.bbox), args.repeat
    )

    # same counts, checked
    assert int(cc["fire_count"].sum()) == int(counts.sum())
    assert int(gr["fire_count"].sum()) == int(gcounts.sum())
    nonzero = cc["fire_count"].to_series()
    nonzero = nonzero[nonzero > 0].rename_axis(["day", "county_code"]).astype(np.int64)
    assert nonzero.sort_index().equals(counts.sort_index().astype(np.int64))

    rows = [
        ("groupby (date, county) count  [baseline]", t_gc, t_gc),
        ("groupby (date, county), 8 sums", t_gcs, t_gc),
        ("county cube (dense, 8 variables)", t_cc, t_gc),
        ("groupby (date, y, x) count  [baseline]", t_gg, t_gg),
        ("groupby (date, y, x), 4 sums", t_ggs, t_gg),
        ("grid cube 0.05° (dense, 4 variables)", t_gr, t_gg),
        ("events + FRE (once, before both cubes)", t_fre, t_gc),
        (f"events + FRE, the real series ({len(real):,} rows)", t_fre_real, t_gc),
    ]
    print(
        f"\n{args.n:,} detections; county cube {dict(cc.sizes)}, grid cube {dict(gr.sizes)}; "
        f"best of {args.repeat}\n"
    )
    print(f"| {'step':<44} | {'time s':>7} | {'× its baseline':>14} |")
    print(f"|{'-' * 46}|{'-' * 9}|{'-' * 16}|")
    for name, secs, base in rows:
        print(f"| {name:<44} | {secs:7.3f} | {secs / base:14.2f} |")
    print("\nSame counts in cube and groupby: checked.")


if __name__ == "__main__":
    main()
