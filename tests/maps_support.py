"""Real points for the map tests (FIRMS fixtures read by the real reader, attributed for real)."""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import pandas as pd

from firewatch.config import PROJECT_ROOT, Settings
from tests.conftest import DATA, SAMPLES

SAMPLE = SAMPLES / "MODIS_C61_NRT_hlj_2025-04-23_to_2025-04-24.csv"
SERIES = DATA / "firms" / "viirs_noaa20_hlj_autumn2022"
BOUNDARIES = PROJECT_ROOT / "boundaries" / "heilongjiang_counties.gpkg"
SPRING_DAY = dt.date(2025, 4, 23)


@cache
def _sample_attributed() -> pd.DataFrame:
    from firewatch.pipeline import attribute_frame
    from firewatch.sources.firms import read_firms

    frame, _ = attribute_frame(read_firms(SAMPLE).frame, Settings())
    return frame.reset_index(drop=True)


def spring_day_points() -> pd.DataFrame:
    """The bundled real MODIS day (2025-04-23, Beijing time), attributed to counties."""
    frame = _sample_attributed()
    return frame.loc[frame["acq_time_bjt"].dt.date == SPRING_DAY].reset_index(drop=True).copy()


def with_fictional_chiefs(points: pd.DataFrame) -> pd.DataFrame:
    """Add grid columns with one plainly fictional village, chief and member per point.

    One chief per point makes "the popup shows the right chief" a sharp test: any other point's
    popup names someone else.
    """
    out = points.copy()
    i = np.arange(len(out))
    out["township_code"] = out["county_code"].fillna("000000") + "100"
    out["township_name"] = "示范镇"
    county = out["county_code"].fillna("0" * 6)
    out["village_code"] = [f"{c}100{k:03d}" for c, k in zip(county, i, strict=True)]
    out["village_name"] = [f"虚构村{k:03d}" for k in i]
    out["field_chief"] = [f"虚构田长{k:03d}" for k in i]
    out["field_chief_phone"] = [f"139{k:08d}" for k in i + 10_000_000]
    out["grid_member"] = [f"虚构网格员{k:03d}" for k in i]
    out["grid_member_phone"] = [f"137{k:08d}" for k in i + 20_000_000]
    out["grid_flags"] = ""
    out["grid_synthetic"] = True
    return out


@cache
def _series() -> pd.DataFrame:
    from firewatch.sources.firms import read_firms

    files = sorted(SERIES.glob("*.csv"))[:8]  # 2022-10-03 .. 2022-10-10 saves
    frame = pd.concat([read_firms(f).frame for f in files], ignore_index=True)
    return frame.drop_duplicates("detection_id").reset_index(drop=True)


def autumn_series_points() -> pd.DataFrame:
    """Real VIIRS NOAA-20 detections of the first days of the autumn 2022 series."""
    return _series().copy()
