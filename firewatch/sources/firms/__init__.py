"""NASA FIRMS active-fire data: files (CSV/TXT/zip/shapefile) and the area API.

>>> from firewatch.sources.firms import read_firms
>>> read = read_firms("MODIS_C61_NRT_global_24h_2025-04-23_to_2025-04-24.csv")  # doctest: +SKIP
>>> read.frame, read.quarantined  # doctest: +SKIP
"""

from __future__ import annotations

from firewatch.sources.firms.api import (
    DAY_RANGE_MAX,
    FirmsClient,
    MapKeyStatus,
    SlidingWindowLimiter,
    mask_key,
)
from firewatch.sources.firms.reader import (
    Bbox,
    FirmsRead,
    QuarantinedRow,
    as_geodataframe,
    combine_reads,
    filter_bbox,
    product_hint_from_name,
    read_firms,
    read_firms_bytes,
)

__all__ = [
    "DAY_RANGE_MAX",
    "Bbox",
    "FirmsClient",
    "FirmsRead",
    "MapKeyStatus",
    "QuarantinedRow",
    "SlidingWindowLimiter",
    "as_geodataframe",
    "combine_reads",
    "filter_bbox",
    "mask_key",
    "product_hint_from_name",
    "read_firms",
    "read_firms_bytes",
]
