"""Land-cover sampling: firewatch's block-wise sampler vs rasterio's ``DatasetReader.sample``.

Generates a tiled (512 × 512), deflate-compressed uint8 GeoTIFF of ``--size`` × ``--size`` pixels
(synthetic field-like classes; 10 m pixels in UTM 52N, as ESA WorldCover) in a temporary folder,
samples ``--n`` random points inside it with both methods (each on a freshly opened dataset, so
neither finds the other's blocks in GDAL's cache), checks the values are identical and prints
a table.  The issue asks for ≥ 5×.

    python bench/bench_landcover.py [--n 100000] [--size 20000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.windows import Window

from firewatch.classify.landcover import sample_raster

TILE = 512


def make_raster(path: Path, size: int, *, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    transform = Affine(10.0, 0.0, 300_000.0, 0.0, -10.0, 5_300_000.0)
    classes = np.array([10, 20, 30, 40, 40, 40, 50, 60, 80, 90], dtype="uint8")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=size,
        height=size,
        count=1,
        dtype="uint8",
        crs="EPSG:32652",
        transform=transform,
        tiled=True,
        blockxsize=TILE,
        blockysize=TILE,
        compress="deflate",
        nodata=0,
    ) as ds:
        for r0 in range(0, size, TILE):
            h = min(TILE, size - r0)
            # 320 m "fields" of one class each, with 3 % speckle
            fields = classes[rng.integers(0, len(classes), (-(-h // 32), -(-size // 32)))]
            band = np.kron(fields, np.ones((32, 32), dtype="uint8"))[:h, :size]
            speckle = rng.random(band.shape) < 0.03
            band[speckle] = classes[rng.integers(0, len(classes), int(speckle.sum()))]
            ds.write(band, 1, window=Window(0, r0, size, h))


def rasterio_sample(path: Path, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    with rasterio.open(path) as ds:
        tr = Transformer.from_crs("EPSG:4326", ds.crs.to_wkt(), always_xy=True)
        x, y = tr.transform(lon, lat)
        return np.fromiter((v[0] for v in ds.sample(zip(x, y, strict=True))), "float64", len(x))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--size", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "landcover.tif"
        t0 = time.perf_counter()
        make_raster(path, args.size)
        gen = time.perf_counter() - t0
        with rasterio.open(path) as ds:
            to_ll = Transformer.from_crs(ds.crs.to_wkt(), "EPSG:4326", always_xy=True)
            b = ds.bounds
        rng = np.random.default_rng(1)
        x = rng.uniform(b.left, b.right, args.n)
        y = rng.uniform(b.bottom, b.top, args.n)
        lon, lat = to_ll.transform(x, y)
        times: dict[str, float] = {}
        results = {}
        for name, fn in (
            ("rasterio DatasetReader.sample", rasterio_sample),
            ("firewatch sample_raster", sample_raster),
        ):
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                results[name] = fn(path, lon, lat)
                best = min(best, time.perf_counter() - t0)
            times[name] = best
        a, bb = results.values()
        same = np.array_equal(np.nan_to_num(a, nan=0), np.nan_to_num(bb, nan=0))
        size_mb = path.stat().st_size / 1e6
    base = times["rasterio DatasetReader.sample"]
    print(
        f"raster {args.size:,} × {args.size:,} px uint8, {TILE}×{TILE} tiles, deflate, "
        f"{size_mb:.0f} MB (generated in {gen:.0f} s); {args.n:,} random points; best of "
        f"{args.repeat}; identical values: {same}"
    )
    print(f"| {'method':<30} | {'seconds':>8} | {'points/s':>11} | {'speed-up':>8} |")
    print(f"|{'-' * 32}|{'-' * 10}|{'-' * 13}|{'-' * 10}|")
    for name, t in times.items():
        print(f"| {name:<30} | {t:8.2f} | {args.n / t:11,.0f} | {base / t:7.1f}× |")
    if not same:
        raise SystemExit("the two methods disagree")


if __name__ == "__main__":
    main()
