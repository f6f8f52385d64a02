"""Real data for the seasonal-analysis tests, read once per test process.

The NOAA-20 autumn 2022 series and the MODIS files are the repo's FIRMS fixtures
(``tests/data/firms/``, credit in its README), read with firewatch's own reader and attributed with
the bundled county boundaries: the same path the store takes.
"""

from __future__ import annotations

import functools
from pathlib import Path

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
