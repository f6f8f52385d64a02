"""Feature building + prediction for many detections vs a plain HistGradientBoosting predict.

Builds ``--n`` detections from the real NOAA-20 autumn-2022 series and the in-box MODIS rows in
``tests/data/firms`` (copies shifted by up to ±6 whole weeks and jittered by up to 2 km, so
persistence, overpass neighbours and distances behave as on real data), then times, in one run:

* feature building (distance to industry, persistence against the whole set as history, overpass
  neighbours, ban period, radiometric columns) — :func:`firewatch.classify.features.build_features`;
* the shipped model's calibrated prediction on those features (``FpModel.classify``, no
  explanations);
* the baseline: ``HistGradientBoostingClassifier.predict`` of the same booster on the prepared
  matrix.

Both sides run with one OpenMP thread (``Settings.classify.threads``).  The issue asks that
feature building is not the bottleneck by more than 3× (features / plain predict ≤ 3).

    python bench/bench_classify.py [--n 1000000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from firewatch.classify.features import FeatureContext, beijing_days, build_features
from firewatch.classify.model import load_model
from firewatch.config import Settings
from firewatch.sources.firms import read_firms

ROOT = Path(__file__).resolve().parent.parent
FIRMS = ROOT / "tests" / "data" / "firms"


def real_rows() -> pd.DataFrame:
    files = sorted((FIRMS / "viirs_noaa20_hlj_autumn2022").glob("*.csv"))
    files += sorted(p for p in (FIRMS / "inbox").iterdir() if p.suffix in (".csv", ".txt"))
    frame = pd.concat([read_firms(p).frame for p in files], ignore_index=True)
    return frame.drop_duplicates("detection_id", ignore_index=True)


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    base = real_rows()
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(base), n)
    out = base.iloc[idx].reset_index(drop=True)
    weeks = rng.integers(-6, 7, n)  # keep the season: ±6 weeks
    out["acq_time_utc"] = out["acq_time_utc"] + pd.to_timedelta(weeks * 7, unit="D")
    jitter = rng.uniform(-0.018, 0.018, (n, 2))  # up to ~2 km
    out["latitude"] = out["latitude"] + jitter[:, 0]
    out["longitude"] = out["longitude"] + jitter[:, 1]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "firewatch_fp.skops")
    args = ap.parse_args()
    settings = Settings()
    model = load_model(args.model)
    ctx = FeatureContext.from_settings(settings)
    t0 = time.perf_counter()
    pts = synthetic(args.n)
    history = pd.DataFrame(
        {
            "latitude": pts["latitude"].to_numpy(),
            "longitude": pts["longitude"].to_numpy(),
            "day": beijing_days(pts["acq_time_utc"]),
        }
    )
    prep = time.perf_counter() - t0
    with threadpool_limits(limits=settings.classify.threads):
        t0 = time.perf_counter()
        feats = build_features(pts, context=ctx, history=history)
        t_feat = time.perf_counter() - t0
        t0 = time.perf_counter()
        classes = model.classify(feats, explain=False)
        t_pred = time.perf_counter() - t0
        matrix = np.ascontiguousarray(feats.loc[:, model.feature_names].to_numpy(dtype="float64"))
        booster = model.estimator.calibrated_classifiers_[0].estimator.named_steps["hgb"]
        t0 = time.perf_counter()
        plain = booster.predict(matrix)
        t_plain = time.perf_counter() - t0
    n = args.n
    print(
        f"{n:,} detections (real rows resampled ±6 weeks, ±2 km; prepared in {prep:.1f} s); "
        f"model {model.version}; 1 OpenMP thread"
    )
    rows = [
        ("feature building", t_feat),
        ("calibrated predict (FpModel.classify)", t_pred),
        ("features + calibrated predict", t_feat + t_pred),
        ("plain HistGradientBoosting.predict", t_plain),
    ]
    print(f"| {'step':<40} | {'seconds':>8} | {'rows/s':>11} | {'÷ plain predict':>15} |")
    print(f"|{'-' * 42}|{'-' * 10}|{'-' * 13}|{'-' * 17}|")
    for name, t in rows:
        print(f"| {name:<40} | {t:8.2f} | {n / t:11,.0f} | {t / t_plain:14.2f}× |")
    share = classes["fp_class"].value_counts(normalize=True).round(3).to_dict()
    agree = float((classes["fp_class"].to_numpy() == plain).mean())
    print(f"classes: {share}; calibrated and plain booster agree on {agree:.1%} of points")
    ratio = t_feat / t_plain
    print(f"feature building / plain predict = {ratio:.2f} (must be ≤ 3)")
    if ratio > 3:
        raise SystemExit("feature building is the bottleneck by more than 3×")


if __name__ == "__main__":
    main()
