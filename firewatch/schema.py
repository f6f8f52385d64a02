"""The canonical detection record: the one contract between all firewatch stages.

Every source (FIRMS files, the FIRMS API, later others) produces a :class:`pandas.DataFrame`
(or a GeoDataFrame in EPSG:4326) with exactly :data:`COLUMNS`, in that order, with the dtypes in
:data:`DTYPES`.  Later stages add columns (attribution, class); they never rename these.

Stable detection id
-------------------
``detection_id`` identifies a detection physically: the instrument, the satellite, the
acquisition minute (UTC) and the position rounded to 1e-5 degree (about 1 m).  The same detection
read from two overlapping 24 h files, or from a file and the API, gets the same id, so loading it
again never duplicates it.  The product (NRT/SP) is *not* part of the id: the standard (SP) record
of a detection replaces its near-real-time one.

The id is 16 lower-case hex digits of a 64-bit hash computed with integer arithmetic only (no
pandas/numpy hashing, no string formatting), so it is the same on every platform and every
library version; ``docs/schema.md`` gives a ten-line pure-Python reference.  With the codes of
:data:`INSTRUMENT_CODES` and :data:`SATELLITE_CODES`::

    minute = floor(acq_time_utc as Unix seconds / 60)
    lat5   = round_half_even(latitude * 100000) + 9_000_000      # 0 .. 18e6
    lon5   = round_half_even(longitude * 100000) + 18_000_000    # 0 .. 36e6
    w1     = instrument_code << 60 | satellite_code << 52 | minute
    w2     = lat5 << 32 | lon5
    id     = hex16(mix64(mix64(w1 ^ 0x9E3779B97F4A7C15) ^ w2))

where ``mix64`` is the SplitMix64 finaliser (all arithmetic modulo 2**64)::

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    z =  z ^ (z >> 31)
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

__all__ = [
    "BEIJING_TZ",
    "COLUMNS",
    "CONFIDENCE_LEVELS",
    "DTYPES",
    "INSTRUMENT_CODES",
    "PRODUCTS",
    "SATELLITES",
    "SATELLITE_CODES",
    "detection_hash",
    "detection_ids",
    "empty_frame",
    "hex_ids",
    "modis_confidence_level",
    "normalise_satellite",
    "viirs_confidence_score",
]

BEIJING_TZ: Final = "Asia/Shanghai"

#: FIRMS source products, as named by the FIRMS area API.
PRODUCTS: Final[tuple[str, ...]] = (
    "MODIS_NRT",
    "MODIS_SP",
    "VIIRS_SNPP_NRT",
    "VIIRS_SNPP_SP",
    "VIIRS_NOAA20_NRT",
    "VIIRS_NOAA20_SP",
    "VIIRS_NOAA21_NRT",
    # Standard-processing NOAA-21 records: not an area-API source yet, but archive downloads and
    # future API versions can carry them, and they must not be mislabelled as NRT.
    "VIIRS_NOAA21_SP",
)

#: Raw FIRMS satellite codes -> canonical satellite names.
SATELLITES: Final[dict[str, str]] = {
    "T": "Terra",
    "TERRA": "Terra",
    "A": "Aqua",
    "AQUA": "Aqua",
    "N": "S-NPP",
    "NPP": "S-NPP",
    "SNPP": "S-NPP",
    "S-NPP": "S-NPP",
    "SUOMI NPP": "S-NPP",
    "1": "NOAA-20",
    "N20": "NOAA-20",
    "J1": "NOAA-20",
    "NOAA-20": "NOAA-20",
    "NOAA20": "NOAA-20",
    "2": "NOAA-21",
    "N21": "NOAA-21",
    "J2": "NOAA-21",
    "NOAA-21": "NOAA-21",
    "NOAA21": "NOAA-21",
}

#: Small integer codes used in the detection id (never change them: ids would change).
INSTRUMENT_CODES: Final[dict[str, int]] = {"MODIS": 1, "VIIRS": 2}
SATELLITE_CODES: Final[dict[str, int]] = {
    "Terra": 1,
    "Aqua": 2,
    "S-NPP": 3,
    "NOAA-20": 4,
    "NOAA-21": 5,
}

CONFIDENCE_LEVELS: Final[tuple[str, ...]] = ("low", "nominal", "high")

#: Canonical columns, in order.  See the module docstring and ``docs/schema.md``.
COLUMNS: Final[tuple[str, ...]] = (
    "detection_id",  # str, stable hash (see module docstring)
    "product",  # one of PRODUCTS
    "instrument",  # "MODIS" | "VIIRS"
    "satellite",  # "Terra" | "Aqua" | "S-NPP" | "NOAA-20" | "NOAA-21"
    "acq_time_utc",  # datetime64[ns, UTC]
    "acq_time_bjt",  # datetime64[ns, Asia/Shanghai], the same instant in Beijing time
    "latitude",  # float64, WGS-84 degrees
    "longitude",  # float64, WGS-84 degrees
    "scan",  # float64, pixel size along scan, km
    "track",  # float64, pixel size along track, km
    "bright_t4",  # float64, K: MODIS `brightness` (21/22 µm) or VIIRS `bright_ti4` (I4)
    "bright_t5",  # float64, K: MODIS `bright_t31` or VIIRS `bright_ti5` (I5)
    "frp",  # float64, fire radiative power, MW
    "confidence_raw",  # str, as published: "0".."100" (MODIS) or l/n/h, low/nominal/high
    "confidence_level",  # "low" | "nominal" | "high" for both instruments
    "confidence_score",  # float64 0..100: MODIS as published, VIIRS low=20 nominal=60 high=90
    "daynight",  # "D" | "N"
    "fire_type",  # Int8 nullable: FIRMS `type` (0 veg, 1 volcano, 2 static land, 3 offshore)
    "version",  # str, e.g. "6.1NRT", "2.0NRT"
    "origin",  # str: file name, "zip!member", or the API request URL with the MAP_KEY masked
    # int64: 1-based physical line in the file or API response (header is line 1); for a
    # shapefile the 1-based record number
    "origin_line",
)

DTYPES: Final[dict[str, str]] = {
    "detection_id": "object",
    "product": "object",
    "instrument": "object",
    "satellite": "object",
    "acq_time_utc": "datetime64[ns, UTC]",
    "acq_time_bjt": f"datetime64[ns, {BEIJING_TZ}]",
    "latitude": "float64",
    "longitude": "float64",
    "scan": "float64",
    "track": "float64",
    "bright_t4": "float64",
    "bright_t5": "float64",
    "frp": "float64",
    "confidence_raw": "object",
    "confidence_level": "object",
    "confidence_score": "float64",
    "daynight": "object",
    "fire_type": "Int8",
    "version": "object",
    "origin": "object",
    "origin_line": "int64",
}

_VIIRS_SCORE: Final[dict[str, float]] = {"low": 20.0, "nominal": 60.0, "high": 90.0}


def empty_frame() -> pd.DataFrame:
    """Return an empty canonical frame with the right columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=DTYPES[c]) for c in COLUMNS})


def normalise_satellite(raw: pd.Series) -> pd.Series:
    """Map raw FIRMS satellite codes (``T``, ``A``, ``N``, ``1``, ``N20`` ...) to canonical names.

    Unknown codes become ``NaN`` so the caller can quarantine those rows.
    """
    key = raw.astype("string").str.strip().str.upper()
    return key.map(SATELLITES).astype(object)


def modis_confidence_level(score: pd.Series | np.ndarray) -> np.ndarray:
    """FIRMS's MODIS confidence classes: <30 low, 30–79 nominal, >=80 high."""
    s = np.asarray(score, dtype="float64")
    return np.where(s < 30, "low", np.where(s < 80, "nominal", "high")).astype(object)


def viirs_confidence_score(level: pd.Series) -> pd.Series:
    """A 0–100 score for VIIRS's three confidence classes, comparable with MODIS's."""
    return level.map(_VIIRS_SCORE).astype("float64")


_M64: Final = np.uint64(0xFFFFFFFFFFFFFFFF)
_GOLDEN: Final = np.uint64(0x9E3779B97F4A7C15)
_MIX1: Final = np.uint64(0xBF58476D1CE4E5B9)
_MIX2: Final = np.uint64(0x94D049BB133111EB)
_HEX_DIGITS: Final = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _mix64(z: np.ndarray) -> np.ndarray:
    # SplitMix64 finaliser; numpy uint64 array arithmetic wraps modulo 2**64 without warnings.
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def detection_hash(
    instrument_code: np.ndarray,
    satellite_code: np.ndarray,
    minute: np.ndarray,
    latitude: np.ndarray,
    longitude: np.ndarray,
) -> np.ndarray:
    """The 64-bit detection hash (see the module docstring) from already-coded arrays.

    Parameters
    ----------
    instrument_code, satellite_code
        Codes from :data:`INSTRUMENT_CODES` / :data:`SATELLITE_CODES`.
    minute
        Acquisition time as whole minutes since 1970-01-01 00:00 UTC.
    latitude, longitude
        WGS-84 degrees.

    Returns
    -------
    numpy.ndarray
        ``uint64`` hashes, one per detection.
    """
    inst = np.asarray(instrument_code, dtype=np.uint64)
    sat = np.asarray(satellite_code, dtype=np.uint64)
    minute_u = np.asarray(minute, dtype=np.int64).astype(np.uint64)
    lat5 = np.rint(np.asarray(latitude, dtype=np.float64) * 1e5).astype(np.int64) + 9_000_000
    lon5 = np.rint(np.asarray(longitude, dtype=np.float64) * 1e5).astype(np.int64) + 18_000_000
    w1 = (inst << np.uint64(60)) | (sat << np.uint64(52)) | minute_u
    w2 = (lat5.astype(np.uint64) << np.uint64(32)) | lon5.astype(np.uint64)
    return _mix64(_mix64(w1 ^ _GOLDEN) ^ w2)


def hex_ids(hashes: np.ndarray) -> np.ndarray:
    """Format ``uint64`` hashes as 16 lower-case hex digits (an object array of ``str``)."""
    h = np.ascontiguousarray(np.asarray(hashes, dtype=">u8"))
    octets = h.view(np.uint8).reshape(-1, 8)
    digits = np.empty((len(h), 16), dtype=np.uint8)
    digits[:, 0::2] = _HEX_DIGITS[octets >> 4]
    digits[:, 1::2] = _HEX_DIGITS[octets & 0x0F]
    # Wrap the digit buffer as an Arrow string array (fixed 16-byte offsets) and let Arrow create
    # the Python strings: about twice as fast as numpy's bytes -> unicode -> object casts.
    import pyarrow as pa

    n = len(h)
    offsets = np.arange(0, 16 * n + 1, 16, dtype=np.int64)
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(digits))
    out = arr.to_numpy(zero_copy_only=False)
    return out if out.dtype == object else out.astype(object)


def detection_ids(
    instrument: pd.Series,
    satellite: pd.Series,
    acq_time_utc: pd.Series,
    latitude: pd.Series,
    longitude: pd.Series,
) -> pd.Series:
    """Stable ids for detections given canonical columns (see the module docstring).

    Unknown instruments or satellites get code 0; readers quarantine such rows before this.
    """
    inst = instrument.map(INSTRUMENT_CODES).fillna(0).to_numpy(dtype=np.int64)
    sat = satellite.map(SATELLITE_CODES).fillna(0).to_numpy(dtype=np.int64)
    t = pd.DatetimeIndex(acq_time_utc)
    t = t.tz_convert("UTC") if t.tz is not None else t
    ns = t.as_unit("ns").asi8
    minute = np.floor_divide(ns, 60_000_000_000)
    h = detection_hash(inst, sat, minute, latitude.to_numpy(float), longitude.to_numpy(float))
    return pd.Series(hex_ids(h), index=instrument.index, dtype=object)
