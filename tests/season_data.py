"""Real data for the seasonal-analysis tests, read once per test process.

The NOAA-20 autumn 2022 series and the MODIS files are the repo's FIRMS fixtures
(``tests/data/firms/``, credit in its README), read with firewatch's own reader and attributed with
the bundled county boundaries: the same path the store takes.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pandas as pd

from firewatch.config import Settings
from firewatch.pipeline import attribute_frame
from firewatch.sources.firms import combine_reads, read_firms

FIRMS = Path(__file__).parent / "data" / "firms"
AUTUMN_2022 = FIRMS / "viirs_noaa20_hlj_autumn2022"
INBOX = FIRMS / "inbox"

#: MODIS files of the spring seasons of 2017 and 2019 (same sensors, for year-on-year).
SPRING_2017 = [
    INBOX / "MODIS_C6_NRT_global_24h_2017-04-27_to_2017-04-28.csv",
    INBOX / "MODIS_C6_NRT_global_24h_2017-04-28_to_2017-04-29.csv",
    INBOX / "MODIS_C6_NRT_global_24h_2017-05-01_to_2017-05-02.csv",
]
SPRING_2019 = [
    INBOX / "MODIS_C6_NRT_global_24h_2019-04-05_to_2019-04-06.csv",
    INBOX / "MODIS_C6_NRT_global_24h_2019-04-06_to_2019-04-06.txt",
]
AUTUMN_2020 = [
    INBOX / "MODIS_C6_NRT_global_24h_2020-09-30_to_2020-10-01.csv",
    INBOX / "MODIS_C6_NRT_global_24h_2020-10-02_to_2020-10-03.csv",
]


def read_files(paths: list[Path]) -> pd.DataFrame:
    """Canonical detections of some FIRMS files, unique by detection id (not attributed)."""
    return combine_reads([read_firms(p) for p in paths], origin="test").frame


@functools.cache
def _attributed(key: tuple[str, ...]) -> pd.DataFrame:
    frame = read_files([Path(p) for p in key])
    out, _ = attribute_frame(frame, Settings())
    return out.reset_index(drop=True)


def attributed(paths: list[Path]) -> pd.DataFrame:
    """Canonical detections of ``paths`` attributed to county (province and neighbour rows)."""
    return _attributed(tuple(str(p) for p in paths)).copy()


def autumn_2022() -> pd.DataFrame:
    """The 50-day NOAA-20 series, attributed (28,285 unique detections before attribution)."""
    return attributed(sorted(AUTUMN_2022.glob("*.csv")))


# -- the county-day checked by hand ---------------------------------------------------------

BAIQUAN = "230231"  # 拜泉县, Qiqihar
DAY = np.datetime64("2022-10-07")

# The four detections of 拜泉县 on 2022-10-07 (Beijing time), as published in
# J1_VIIRS_C2_Russia_Asia_24h_saved_2022-10-08.csv, lines 31, 33, 34 and 79:
#   acq_time UTC  latitude   longitude   frp (MW)
#   03:53         47.62277   125.86573   2.01    <- a fire on its own (event A)
#   03:53         47.86271   126.08394   2.80    \
#   03:53         47.86647   126.08209   2.78     > one fire (event B), 300-400 m apart,
#   05:33         47.86418   126.08406   8.37    /  seen by two NOAA-20 overpasses
ROWS = [
    (3 + 53 / 60, 47.62277, 125.86573, 2.01, 1),  # (UTC hour, lat, lon, FRP, overpasses)
    (3 + 53 / 60, 47.86271, 126.08394, 2.80, 2),
    (3 + 53 / 60, 47.86647, 126.08209, 2.78, 2),
    (5 + 33 / 60, 47.86418, 126.08406, 8.37, 2),
]


def hours_by_hand(
    utc_hour: float, lon: float, *, sigma: float, base: float, peak: float = 13.5
) -> float:
    """Hours at observed FRP one daytime observation stands for, written out independently.

    Local solar time t = UTC + lon/15.  Diurnal cycle s(t) = base + exp(-(t-peak)^2 / (2 sigma^2)).
    Its integral over the 24 h centred on the peak: 24*base + sigma*sqrt(2*pi)*erf(12/(sigma*sqrt 2))
    (erf(...) is 1 to 1e-8 for sigma 1.5 and 2 h, 0.99994 for 3 h).  A snapshot P at t stands for
    P * integral / s(t).
    """
    t = utc_hour + lon / 15.0
    integral = 24 * base + sigma * math.sqrt(2 * math.pi) * math.erf(12 / (sigma * math.sqrt(2)))
    return integral / (base + math.exp(-((t - peak) ** 2) / (2 * sigma**2)))
