"""Backfill: single process against a 2-worker dask LocalCluster, rows/s and peak memory.

Generates FIRMS-like CSVs of N rows (real rows of the bundled 2025-04-23 file, resampled with
jittered positions inside the province's box and spread over a year), then times, in the same
run, on the same file:

- ``single``: the ``firewatch ingest`` path without the store write: ``read_firms`` of the whole
  file + county attribution + one GeoParquet file;
- ``dask``: ``firewatch backfill --engine dask --no-store`` with a 2-worker LocalCluster.

Peak memory is the largest resident set of this process plus its children (the workers), sampled
every 50 ms.  Usage: ``python bench/bench_backfill.py [--sizes 1e6,1e7] [--blocksize-mb 64]``.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from firewatch.config import Settings
from firewatch.pipeline import attribute_frame, region_bbox
from firewatch.scale import backfill
from firewatch.sources.firms import as_geodataframe, read_firms

SAMPLE = (
    Path(__file__).parent.parent
    / "firewatch/data/samples/MODIS_C61_NRT_hlj_2025-04-23_to_2025-04-24.csv"
)


def make_csv(path: Path, n: int, seed: int = 7) -> None:
    real = pd.read_csv(SAMPLE, dtype=str)
    rng = np.random.default_rng(seed)
    chunk = 1_000_000
    with path.open("w", newline="") as f:
        f.write(",".join(real.columns) + "\n")
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            rows = real.iloc[rng.integers(0, len(real), m)].reset_index(drop=True)
            rows["latitude"] = np.round(rng.uniform(43.4, 53.5, m), 5).astype(str)
            rows["longitude"] = np.round(rng.uniform(121.2, 135.1, m), 5).astype(str)
            days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 366, m), unit="D")
            rows["acq_date"] = days.strftime("%Y-%m-%d")
            rows["acq_time"] = [
                f"{h:02d}{mi:02d}"
                for h, mi in zip(rng.integers(0, 24, m), rng.integers(0, 60, m), strict=True)
            ]
            rows.to_csv(f, header=False, index=False)


class PeakRSS:
    """Largest RSS of this process and its children while the block runs."""

    def __enter__(self) -> PeakRSS:
        self.peak = 0
        self._stop = threading.Event()
        self._proc = psutil.Process()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for p in [self._proc, *self._proc.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            self.peak = max(self.peak, total)
            time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def single(path: Path, settings: Settings, out: Path) -> int:
    read = read_firms(path, bbox=region_bbox(settings))
    frame, _ = attribute_frame(read.frame, settings)
    as_geodataframe(frame.drop(columns=["acq_time_bjt"])).to_parquet(out / "single.parquet")
    return read.rows_read


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e6,1e7", help="comma-separated row counts")
    ap.add_argument("--blocksize-mb", type=int, default=64)
    args = ap.parse_args()
    settings = Settings()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        for n in (int(float(s)) for s in args.sizes.split(",")):
            csv = tmpd / f"firms_{n}.csv"
            make_csv(csv, n)
            mb = csv.stat().st_size / 2**20
            with PeakRSS() as mem:
                t0 = time.perf_counter()
                read = single(csv, settings, tmpd)
                t_single = time.perf_counter() - t0
            peak_single = mem.peak
            with PeakRSS() as mem:
                t0 = time.perf_counter()
                rep = backfill(
                    None,
                    settings,
                    [csv],
                    dataset=tmpd / f"ds_{n}",
                    engine_name="dask",
                    workers=2,
                    blocksize=args.blocksize_mb * 2**20,
                )
                t_dask = time.perf_counter() - t0
            peak_dask = mem.peak
            assert rep.rows_read == read == n, (rep.rows_read, read, n)
            rows.append((n, mb, t_single, t_dask, peak_single, peak_dask))
            csv.unlink()
    print(
        f"\nbackfill: ingest + county attribution + GeoParquet, blocks of at most {args.blocksize_mb} MiB"
    )
    print(
        f"{'rows':>11} {'CSV MiB':>8} {'single s':>9} {'dask s':>8} {'single rows/s':>14} "
        f"{'dask rows/s':>12} {'speed-up':>9} {'single peak MiB':>16} {'dask peak MiB':>14}"
    )
    for n, mb, ts, td, ps, pd_ in rows:
        print(
            f"{n:>11,} {mb:>8.0f} {ts:>9.1f} {td:>8.1f} {n / ts:>14,.0f} {n / td:>12,.0f} "
            f"{ts / td:>8.2f}x {ps / 2**20:>16,.0f} {pd_ / 2**20:>14,.0f}"
        )


if __name__ == "__main__":
    main()
