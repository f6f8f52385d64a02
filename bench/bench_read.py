"""Benchmark: reading a FIRMS CSV into canonical records vs plain pandas + geopandas points.

Builds an N-row FIRMS-like CSV (default 1,000,000) in a temporary folder by resampling the real
rows of ``tests/data/firms/global/`` (VIIRS S-NPP, 2019-04-07, global) -- each pass over the source
rows shifts ``acq_date`` by one day so every row is a distinct detection -- then times, in the same
run and on the same file:

* baseline: ``pandas.read_csv(path)`` + ``geopandas.points_from_xy(lon, lat)``
* ``firewatch.sources.firms.read_firms(path)`` (validation, UTC/Beijing times, products,
  normalised confidence, stable detection ids, line numbers)
* ``read_firms(path, bbox=Heilongjiang)`` (the region filter applied while reading)

Each is run ``--repeat`` times; the table shows the best time and the ratio to the baseline.
The issue's target: ``read_firms`` at most 1.5x the baseline.

Usage::

    python bench/bench_read.py [--n 1000000] [--repeat 3] [--single-thread]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "data" / "firms" / "global"
HLJ_BOX = (121.1, 43.3, 135.2, 53.6)


def make_csv(path: Path, n: int, *, seed: int = 0) -> int:
    """Write an ``n``-row FIRMS-like CSV resampled from real rows; returns the source row count."""
    src = next(SOURCE.glob("*.txt"))
    lines = src.read_text().splitlines()
    header, rows = lines[0], [r.split(",") for r in lines[1:] if r]
    rng = np.random.default_rng(seed)
    date_col = header.split(",").index("acq_date")
    out = [header]
    m = len(rows)
    for rep in range(n // m + 1):
        take = min(m, n - rep * m)
        if take <= 0:
            break
        for i in rng.permutation(m)[:take]:
            f = list(rows[i])
            day = dt.date.fromisoformat(f[date_col]) + dt.timedelta(days=rep)
            f[date_col] = day.isoformat()
            out.append(",".join(f))
    path.write_text("\n".join(out) + "\n")
    return m


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="rows in the generated CSV")
    parser.add_argument("--repeat", type=int, default=3, help="runs per method (best is shown)")
    parser.add_argument(
        "--single-thread",
        action="store_true",
        help="limit pyarrow to one thread (pandas.read_csv is single-threaded)",
    )
    args = parser.parse_args(argv)
    if args.single_thread:
        import pyarrow as pa

        pa.set_cpu_count(1)
        pa.set_io_thread_count(1)

    import geopandas as gpd
    import pandas as pd

    from firewatch.sources.firms import read_firms

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "VIIRS_SNPP_NRT_bench.csv"
        t0 = time.perf_counter()
        m = make_csv(path, args.n)
        made = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        print(f"{args.n:,} rows ({size_mb:.1f} MB) resampled from {m:,} real rows in {made:.1f} s")

        def baseline() -> object:
            df = pd.read_csv(path)
            return gpd.points_from_xy(df["longitude"], df["latitude"], crs="EPSG:4326")

        result = read_firms(path)
        assert result.loaded == args.n, (result.loaded, result.duplicates, result.quarantined[:3])
        boxed = read_firms(path, bbox=HLJ_BOX)

        # Interleave the methods so background load affects them alike.
        runs: dict[str, list[float]] = {"baseline": [], "read_firms": [], "read_firms+bbox": []}
        for _ in range(args.repeat):
            runs["baseline"].append(timed(baseline))
            runs["read_firms"].append(timed(lambda: read_firms(path)))
            runs["read_firms+bbox"].append(timed(lambda: read_firms(path, bbox=HLJ_BOX)))

    base = min(runs["baseline"])
    labels = {
        "baseline": "pandas.read_csv + geopandas.points_from_xy",
        "read_firms": f"read_firms -> canonical records ({result.loaded:,})",
        "read_firms+bbox": f"read_firms(bbox=Heilongjiang) ({boxed.loaded:,} kept)",
    }
    width = max(len(v) for v in labels.values())
    print()
    print(f"| {'method':<{width}} | best s | median s | ratio |")
    print(f"|{'-' * (width + 2)}|-------:|---------:|------:|")
    for key, label in labels.items():
        best, med = min(runs[key]), statistics.median(runs[key])
        print(f"| {label:<{width}} | {best:6.2f} | {med:8.2f} | {best / base:5.2f} |")
    ratio = min(runs["read_firms"]) / base
    verdict = "meets" if ratio <= 1.5 else "MISSES"
    print(f"\nread_firms / baseline = {ratio:.2f} ({verdict} the <= 1.5x target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
