"""Read NASA FIRMS active-fire files (CSV/TXT, gzip, zip, shapefile) into canonical records.

Every real-world variant seen in the project's data loads: MODIS C6/C6.1 and VIIRS 375 m, NRT and
standard (archive) files, with or without ``type``/``instrument`` columns, ``HHMM``/``HH:MM``/
unpadded (``35``) times, ISO or Excel-resaved ``M/D/YYYY`` dates, CRLF line ends, an R or pandas
row-index first column, files cut off mid-row and files where a second header switches the column
layout part-way (two downloads joined).  Good rows load; each bad row is quarantined with its
origin, 1-based physical line, a reason naming the column, and its raw text.  A file that is not
FIRMS data at all raises :class:`~firewatch.errors.FirmsFormatError` naming what is missing.

Parsing is vectorised: pyarrow's multi-threaded CSV reader converts numbers; text columns
are read dictionary-encoded so dates, times, satellites and confidence classes are checked once
per *distinct* value, not once per row.  Python loops run only over quarantined rows.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import logging
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from firewatch.errors import FirmsFormatError
from firewatch.schema import (
    BEIJING_TZ,
    COLUMNS,
    INSTRUMENT_CODES,
    PRODUCTS,
    SATELLITE_CODES,
    SATELLITES,
    detection_hash,
    empty_frame,
    hex_ids,
)

__all__ = [
    "Bbox",
    "FirmsRead",
    "QuarantinedRow",
    "as_geodataframe",
    "combine_reads",
    "filter_bbox",
    "product_hint_from_name",
    "read_firms",
    "read_firms_bytes",
]

log = logging.getLogger(__name__)

#: west, south, east, north in WGS-84 degrees (inclusive).
Bbox = tuple[float, float, float, float]

# Header names (lower-cased, unquoted) -> the reader's internal column keys.
_ALIASES: Final[dict[str, str]] = {
    "latitude": "latitude",
    "longitude": "longitude",
    "brightness": "bright_t4",
    "bright_ti4": "bright_t4",
    "bright_t31": "bright_t5",
    "bright_ti5": "bright_t5",
    "scan": "scan",
    "track": "track",
    "acq_date": "acq_date",
    "acq_time": "acq_time",
    "satellite": "satellite",
    "instrument": "instrument",
    "confidence": "confidence",
    "version": "version",
    "frp": "frp",
    "daynight": "daynight",
    "type": "fire_type",
}
# The header name each instrument uses for the two brightness temperatures.
_HEADER_INSTRUMENT: Final[dict[str, str]] = {
    "brightness": "MODIS",
    "bright_t31": "MODIS",
    "bright_ti4": "VIIRS",
    "bright_ti5": "VIIRS",
}
_NUMERIC: Final[tuple[str, ...]] = (
    "latitude",
    "longitude",
    "bright_t4",
    "bright_t5",
    "scan",
    "track",
    "frp",
)
_TEXT: Final[tuple[str, ...]] = (
    "acq_date",
    "acq_time",
    "satellite",
    "instrument",
    "confidence",
    "version",
    "daynight",
    "fire_type",
)
_REQUIRED: Final[tuple[str, ...]] = (
    "latitude",
    "longitude",
    "bright_t4",
    "scan",
    "track",
    "acq_date",
    "acq_time",
    "satellite",
    "confidence",
    "bright_t5",
    "frp",
    "daynight",
)
# How a missing internal key is named in messages (the FIRMS header names users know).
_DISPLAY: Final[dict[str, str]] = {
    "bright_t4": "brightness/bright_ti4",
    "bright_t5": "bright_t31/bright_ti5",
    "fire_type": "type",
}
# Order in which problems of a bad row are reported.
_CHECK_ORDER: Final[tuple[str, ...]] = (
    "latitude",
    "longitude",
    "acq_date",
    "acq_time",
    "satellite",
    "instrument",
    "confidence",
    "daynight",
    "version",
    "fire_type",
    "bright_t4",
    "bright_t5",
    "scan",
    "track",
    "frp",
    "product",
)
_SAT_INSTRUMENT: Final[dict[str, str]] = {
    "Terra": "MODIS",
    "Aqua": "MODIS",
    "S-NPP": "VIIRS",
    "NOAA-20": "VIIRS",
    "NOAA-21": "VIIRS",
}
_VIIRS_PRODUCT_SAT: Final[dict[str, str]] = {
    "S-NPP": "SNPP",
    "NOAA-20": "NOAA20",
    "NOAA-21": "NOAA21",
}
_LEVEL_WORDS: Final[dict[str, str]] = {
    "l": "low",
    "low": "low",
    "n": "nominal",
    "nominal": "nominal",
    "h": "high",
    "high": "high",
}
_LEVEL_SCORE: Final[dict[str, float]] = {"low": 20.0, "nominal": 60.0, "high": 90.0}
_SAT_NAMES: Final = np.array(
    [None, *sorted(SATELLITE_CODES, key=SATELLITE_CODES.__getitem__)], dtype=object
)
_INST_NAMES: Final = np.array(
    [None, *sorted(INSTRUMENT_CODES, key=INSTRUMENT_CODES.__getitem__)], dtype=object
)
_SAT_INSTRUMENT_CODE: Final = np.array(
    [0, *(INSTRUMENT_CODES[_SAT_INSTRUMENT[s]] for s in _SAT_NAMES[1:])], dtype=np.int8
)


def _product_name(satellite: str | None, nrt: bool) -> str | None:
    if satellite is None:
        return None
    suffix = "NRT" if nrt else "SP"
    if _SAT_INSTRUMENT[satellite] == "MODIS":
        return f"MODIS_{suffix}"
    return f"VIIRS_{_VIIRS_PRODUCT_SAT[satellite]}_{suffix}"


#: Product name indexed by ``satellite_code * 2 + is_nrt``.
_PRODUCT_TABLE: Final = np.array(
    [_product_name(s, bool(nrt)) for s in _SAT_NAMES for nrt in (0, 1)], dtype=object
)
#: Satellites each product may contain.
_PRODUCT_SATELLITES: Final[dict[str, tuple[str, ...]]] = {
    p: tuple(
        s for s in _SAT_NAMES[1:] if _product_name(s, True) == p or _product_name(s, False) == p
    )
    for p in PRODUCTS
}
_NUMBER_RE: Final = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"
_ISO_DATE_RE: Final = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_SLASH_DATE_RE: Final = re.compile(r"^(\d{1,4})/(\d{1,2})/(\d{1,4})$")
_NAME_DATE_RE: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_EPOCH: Final = dt.date(1970, 1, 1)
_NS_PER_MIN: Final = 60_000_000_000


@dataclass(frozen=True)
class QuarantinedRow:
    """A row that was not loaded.

    Attributes
    ----------
    origin
        File name (or masked API request) the row came from.
    line
        1-based physical line in that file (the header is line 1); for shapefiles the 1-based
        record number.
    reason
        What is wrong, naming the column(s), e.g. ``"daynight: empty"``.
    raw
        The row as it appeared (without its line end).
    """

    origin: str
    line: int
    reason: str
    raw: str


@dataclass
class FirmsRead:
    """The result of reading one FIRMS input.

    Attributes
    ----------
    frame
        Canonical detections (:data:`firewatch.schema.COLUMNS`, :data:`~firewatch.schema.DTYPES`),
        unique by ``detection_id``, in input order.
    quarantined
        Rows that were not loaded, with origin, line, reason and raw text.
    origin
        File name, or the API request with the MAP_KEY masked.
    sha256
        Hex SHA-256 of the input bytes.
    rows_read
        Data rows seen (loaded + quarantined + outside the bbox + repeated ids).
    rows_outside_bbox
        Good rows dropped because they lie outside the requested bbox.
    duplicates
        Good rows whose ``detection_id`` repeats an earlier row of the same input (dropped).
    notes
        Remarks about the input a user should see (e.g. a second header part-way).
    """

    frame: pd.DataFrame
    quarantined: list[QuarantinedRow]
    origin: str
    sha256: str
    rows_read: int
    rows_outside_bbox: int = 0
    duplicates: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        """Number of detections in :attr:`frame`."""
        return len(self.frame)

    @property
    def partial(self) -> bool:
        """True when some rows were quarantined."""
        return bool(self.quarantined)

    @property
    def products(self) -> list[str]:
        """The distinct products in :attr:`frame`, sorted."""
        return sorted(self.frame["product"].unique().tolist())


# --------------------------------------------------------------------------- public functions


def read_firms(
    path: str | Path,
    *,
    product: str | None = None,
    bbox: Bbox | None = None,
) -> FirmsRead:
    """Read a FIRMS file: CSV/TXT, a zip of CSVs, or a shapefile (``.shp`` or zipped).

    Parameters
    ----------
    path
        The file.  Its *name* (not its folder) becomes ``origin``.
    product
        The FIRMS product (one of :data:`firewatch.schema.PRODUCTS`) when known.  Otherwise it is
        inferred per row: the instrument from the columns or satellite, the satellite from its
        code, NRT vs standard (SP) from ``version`` (``...NRT``) or, when there is no version, the
        file name.  Rows that contradict an explicit product are quarantined.
    bbox
        ``(west, south, east, north)``: keep only detections inside (inclusive).  Filtering
        happens right after the coordinates are parsed, before any per-row work.

    Returns
    -------
    FirmsRead

    Raises
    ------
    FirmsFormatError
        If the file is not FIRMS active-fire data (empty, binary, HTML, missing columns).
    FileNotFoundError
        If ``path`` does not exist.
    """
    path = Path(path)
    if path.suffix.lower() == ".shp":
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        return _read_shapefile(path, data=None, origin=path.name, product=product, bbox=bbox)
    return read_firms_bytes(path.read_bytes(), origin=path.name, product=product, bbox=bbox)


def read_firms_bytes(
    data: bytes | str,
    *,
    origin: str,
    product: str | None = None,
    bbox: Bbox | None = None,
) -> FirmsRead:
    """Read FIRMS data held in memory (a file's bytes, an API response body).

    Parameters
    ----------
    data
        The CSV text or bytes, or the bytes of a zip (CSV or shapefile inside).
    origin
        What to call the input in records and messages (a file name, a masked URL).  When it
        looks like a file name it also serves as a hint for the product (``...NRT...``,
        ``archive``).
    product, bbox
        As for :func:`read_firms`.

    Returns
    -------
    FirmsRead

    Raises
    ------
    FirmsFormatError
        If the data are not FIRMS active-fire data.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if product is not None and product not in PRODUCTS:
        raise ValueError(f"unknown FIRMS product {product!r}; expected one of {PRODUCTS}")
    if raw[:4] == b"PK\x03\x04":
        return _read_zip(raw, origin=origin, product=product, bbox=bbox)
    if raw[:2] == b"\x1f\x8b":
        # A gzipped CSV (people compress the large global files): hash what was given.
        try:
            text = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise FirmsFormatError(f"damaged gzip data: {exc}", origin=origin) from None
        read = _read_csv_bytes(text, origin=origin, product=product, bbox=bbox)
        read.sha256 = hashlib.sha256(raw).hexdigest()
        return read
    return _read_csv_bytes(raw, origin=origin, product=product, bbox=bbox)


def filter_bbox(frame: pd.DataFrame, bbox: Bbox) -> pd.DataFrame:
    """Rows of a canonical (or any lat/lon) frame inside ``bbox`` (inclusive), vectorised."""
    west, south, east, north = bbox
    lat = frame["latitude"].to_numpy(dtype=float)
    lon = frame["longitude"].to_numpy(dtype=float)
    keep = (lat >= south) & (lat <= north) & (lon >= west) & (lon <= east)
    return frame.loc[keep]


def as_geodataframe(frame: pd.DataFrame) -> Any:
    """The canonical frame as a GeoDataFrame of points in EPSG:4326."""
    import geopandas as gpd

    geometry = gpd.points_from_xy(frame["longitude"], frame["latitude"], crs="EPSG:4326")
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


def combine_reads(reads: Sequence[FirmsRead], *, origin: str) -> FirmsRead:
    """Merge several reads (zip members, API chunks) into one, unique by ``detection_id``.

    ``sha256`` is the hash of the members' hashes in order, so it is stable for the same inputs.
    """
    frames = [r.frame for r in reads if len(r.frame)]
    frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
    dup = frame["detection_id"].duplicated().to_numpy()
    if dup.any():
        frame = frame.loc[~dup].reset_index(drop=True)
    digest = hashlib.sha256("".join(r.sha256 for r in reads).encode()).hexdigest()
    return FirmsRead(
        frame=frame,
        quarantined=[q for r in reads for q in r.quarantined],
        origin=origin,
        sha256=digest,
        rows_read=sum(r.rows_read for r in reads),
        rows_outside_bbox=sum(r.rows_outside_bbox for r in reads),
        duplicates=sum(r.duplicates for r in reads) + int(dup.sum()),
        notes=[n for r in reads for n in r.notes],
    )


def product_hint_from_name(name: str) -> bool | None:
    """Whether a file name says near-real-time (True), standard/archive (False) or nothing (None).

    FIRMS names downloads ``fire_nrt_*``/``fire_archive_*``, ``*_NRT_*``, ``*_SP_*``; the file name
    only matters for rows without a ``version``.
    """
    low = name.lower()
    if "archive" in low or re.search(r"(^|[_\-.])sp([_\-.]|$)", low):
        return False
    if "nrt" in low:
        return True
    return None


# --------------------------------------------------------------------------- sniffing & header


def _sniff(raw: bytes, origin: str) -> None:
    """Refuse inputs that are plainly not CSV text, with a message saying what they are."""
    head = raw[:65536]
    if not raw.strip(b" \t\r\n\xef\xbb\xbf"):
        raise FirmsFormatError(
            "empty file: no FIRMS header (expected latitude, longitude, acq_date, acq_time, ...)",
            origin=origin,
        )
    if b"\x00" in head:
        raise FirmsFormatError("binary data (NUL bytes), not a FIRMS CSV text file", origin=origin)
    stripped = head.lstrip(b" \t\r\n\xef\xbb\xbf").lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<?xml", b"<")):
        title = re.search(rb"<title>(.*?)</title>", head, re.I | re.S)
        what = f" titled {title.group(1).decode('utf-8', 'replace').strip()!r}" if title else ""
        raise FirmsFormatError(
            f"an HTML/XML page{what}, not a FIRMS CSV (no latitude/longitude/acq_date header)",
            origin=origin,
        )
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut inside a multi-byte character at the 64 KiB boundary is fine; anything earlier
        # means this is not UTF-8/ASCII text, which FIRMS always is.
        if exc.start < len(head) - 4:
            raise FirmsFormatError(
                f"not text: byte 0x{head[exc.start]:02x} at offset {exc.start} is not UTF-8",
                origin=origin,
            ) from None


def _split_header(line: bytes) -> list[str]:
    text = line.decode("utf-8", "replace").strip("\r\n")
    return [f.strip().strip('"').strip().lower() for f in text.split(",")]


@dataclass
class _Layout:
    names: list[str]  # one unique name per field, as given to the CSV parser
    keys: dict[str, int]  # internal key -> field index
    instrument_hint: str | None  # from brightness column names
    index_column: bool


def _layout(fields: list[str], origin: str, first_line: str) -> _Layout:
    keys: dict[str, int] = {}
    hints: set[str] = set()
    names: list[str] = []
    index_column = False
    for i, name in enumerate(fields):
        key = _ALIASES.get(name)
        if i == 0 and name in ("", "unnamed: 0", "x", "index", "rownames"):
            # R's write.csv ("") and pandas' to_csv ("" / "Unnamed: 0") row index.
            index_column = True
        if key is not None and key not in keys:
            keys[key] = i
            if name in _HEADER_INSTRUMENT:
                hints.add(_HEADER_INSTRUMENT[name])
        names.append(f"c{i}")
    missing = [k for k in _REQUIRED if k not in keys]
    if missing:
        shown = ", ".join(_DISPLAY.get(k, k) for k in missing)
        found = first_line[:120]
        raise FirmsFormatError(
            f"not FIRMS active-fire data: missing column(s) {shown} (first line: {found!r})",
            origin=origin,
        )
    hint = hints.pop() if len(hints) == 1 else None
    return _Layout(names=names, keys=keys, instrument_hint=hint, index_column=index_column)


# --------------------------------------------------------------------------- line bookkeeping


@dataclass
class _Lines:
    """Physical line spans of a byte buffer (computed with numpy, on demand)."""

    buf: bytes
    first_line: int  # physical line number of the buffer's first line
    _starts: np.ndarray | None = None
    _ends: np.ndarray | None = None

    def spans(self) -> tuple[np.ndarray, np.ndarray]:
        if self._starts is None or self._ends is None:
            a = np.frombuffer(self.buf, dtype=np.uint8)
            nl = np.flatnonzero(a == 10)
            starts = np.concatenate(([0], nl + 1))
            ends = np.concatenate((nl, [len(a)]))
            if len(starts) and starts[-1] == len(a):  # nothing after the final line end
                starts, ends = starts[:-1], ends[:-1]
            if len(a):
                cr = (ends > starts) & (a[np.maximum(ends - 1, 0)] == 13)
                ends = ends - cr
            self._starts, self._ends = starts, ends
        return self._starts, self._ends

    def text(self, line: int) -> str:
        starts, ends = self.spans()
        i = line - self.first_line
        return self.buf[starts[i] : ends[i]].decode("utf-8", "replace")


# --------------------------------------------------------------------------- CSV reading


@dataclass
class _Columns:
    """Parsed columns of one segment, before validation."""

    n: int
    numeric: dict[str, np.ndarray]  # float64 with NaN for empty/unparseable
    numeric_bad_text: dict[str, np.ndarray]  # bool: a value was present but not a number
    text_codes: dict[str, np.ndarray]  # int32 codes into text_values
    text_values: dict[str, list[str]]
    lines: np.ndarray  # physical line of each row
    raw: Callable[[int], str]  # row index -> raw text
    field_of: Callable[[int, str], str]  # (row index, key) -> raw field text
    instrument_hint: str | None


def _read_csv_bytes(
    raw: bytes, *, origin: str, product: str | None, bbox: Bbox | None
) -> FirmsRead:
    digest = hashlib.sha256(raw).hexdigest()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" and some Windows tools write UTF-16 with a byte-order mark.
        try:
            raw = raw.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise FirmsFormatError(f"damaged UTF-16 text: {exc}", origin=origin) from None
    _sniff(raw, origin)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\n" not in raw[:65536] and b"\r" in raw[:65536]:
        raw = raw.replace(b"\r", b"\n")  # classic Mac line ends (CR only)
    quarantined: list[QuarantinedRow] = []
    notes: list[str] = []
    segments = _segments(raw, origin, quarantined, notes)
    parts: list[_Columns] = [_parse_segment(raw, seg, origin, quarantined) for seg in segments]
    return _finish(
        parts,
        origin=origin,
        sha256=digest,
        product=product,
        bbox=bbox,
        quarantined=quarantined,
        notes=notes,
        name_hint=product_hint_from_name(origin),
        date_hint=_name_dates(origin),
    )


@dataclass
class _Segment:
    layout: _Layout
    header_line: int
    body_start: int  # byte offset of the first body line
    body_end: int  # byte offset where the segment ends


def _segments(
    raw: bytes, origin: str, quarantined: list[QuarantinedRow], notes: list[str]
) -> list[_Segment]:
    """Split the file at every header line; a header glued to a row quarantines that row."""
    # First non-blank line is the header.
    pos = 0
    line_no = 1
    while True:
        end = raw.find(b"\n", pos)
        end = len(raw) if end < 0 else end
        if raw[pos:end].strip():
            break
        pos, line_no = end + 1, line_no + 1
    header = raw[pos:end]
    fields = _split_header(header)
    layout = _layout(fields, origin, header.decode("utf-8", "replace").strip())
    lat_index = layout.keys["latitude"]
    lat_token = header.split(b",")[lat_index].strip()
    prefix = b",".join(header.split(b",")[:lat_index]) + (b"," if lat_index else b"")

    segments: list[_Segment] = []
    seg_layout, seg_header_line = layout, line_no
    seg_body = min(end + 1, len(raw))
    search = seg_body
    while True:
        hit = raw.find(lat_token, search)
        if hit < 0:
            break
        start = hit - len(prefix)
        if start < 0 or raw[start:hit] != prefix:
            search = hit + 1
            continue
        line_end = raw.find(b"\n", hit)
        line_end = len(raw) if line_end < 0 else line_end
        cand = raw[start:line_end]
        try:
            new_layout = _layout(_split_header(cand), origin, "")
        except FirmsFormatError:
            search = hit + 1
            continue
        line_start = raw.rfind(b"\n", 0, start) + 1
        header_line = raw.count(b"\n", 0, start) + 1
        segments.append(_Segment(seg_layout, seg_header_line, seg_body, line_start))
        if line_start < start:
            glued = raw[line_start:start].decode("utf-8", "replace")
            last_field = glued.split(",")[-1]
            col = _last_column_name(seg_layout, glued)
            quarantined.append(
                QuarantinedRow(
                    origin=origin,
                    line=header_line,
                    reason=(
                        f"{col}: {last_field + cand[:8].decode('utf-8', 'replace')!r} runs into "
                        "a new header line (two files joined mid-row); the row may be cut"
                    ),
                    raw=raw[line_start:line_end].decode("utf-8", "replace").rstrip("\r"),
                )
            )
        old = seg_layout.instrument_hint or "?"
        new = new_layout.instrument_hint or "?"
        notes.append(
            f"line {header_line}: a new header starts ({old} -> {new} columns); "
            "the rows after it are read with it"
        )
        seg_layout, seg_header_line = new_layout, header_line
        seg_body = min(line_end + 1, len(raw))
        search = seg_body
    segments.append(_Segment(seg_layout, seg_header_line, seg_body, len(raw)))
    return segments


def _last_column_name(layout: _Layout, row: str) -> str:
    i = min(len(row.split(",")) - 1, len(layout.names) - 1)
    for key, idx in layout.keys.items():
        if idx == i:
            return _DISPLAY.get(key, key)
    return f"column {i + 1}"


def _column_types(layout: _Layout, numeric_as_text: bool) -> dict[str, Any]:
    import pyarrow as pa

    types: dict[str, Any] = {}
    for key, idx in layout.keys.items():
        name = layout.names[idx]
        if key in _NUMERIC and not numeric_as_text:
            types[name] = pa.float64()
        else:
            types[name] = pa.dictionary(pa.int32(), pa.string())
    return types


def _arrow_read(body: bytes, layout: _Layout, *, numeric_as_text: bool) -> tuple[Any, int]:
    """Parse a header-less body; returns (table, number of rows pyarrow rejected)."""
    from pyarrow import csv as pacsv

    invalid: list[int] = []

    def on_invalid(row: Any) -> str:
        invalid.append(1)
        return "skip"

    types = _column_types(layout, numeric_as_text)
    table = pacsv.read_csv(
        io.BytesIO(body),
        read_options=pacsv.ReadOptions(column_names=layout.names, use_threads=True),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            include_columns=list(types),
            strings_can_be_null=False,
            null_values=["", "NA", "NaN", "nan", "null", "NULL"],
            quoted_strings_can_be_null=False,
        ),
    )
    return (table.unify_dictionaries() if table.num_rows else table), len(invalid)


def _count_lines(buf: bytes) -> int:
    if not buf:
        return 0
    return buf.count(b"\n") + (0 if buf.endswith(b"\n") else 1)


def _parse_segment(
    raw: bytes, seg: _Segment, origin: str, quarantined: list[QuarantinedRow]
) -> _Columns:
    """Parse one segment; rows with the wrong field count are quarantined with their line."""
    import pyarrow as pa

    body = raw[seg.body_start : seg.body_end]
    first_line = seg.header_line + 1
    layout = seg.layout
    lines_obj = _Lines(body, first_line)
    ncols = len(layout.names)

    table, n_invalid = _safe_read(body, layout, origin)
    if n_invalid == 0 and table.num_rows == _count_lines(body):
        lines = np.arange(first_line, first_line + table.num_rows, dtype=np.int64)
        row_line_index = lines - first_line
    else:
        # Irregular segment (blank lines, short/long rows): find the well-formed lines with
        # numpy, quarantine the others, and parse exactly the well-formed ones so that row i of
        # the table is known to come from line lines[i].
        starts, ends = lines_obj.spans()
        a = np.frombuffer(body, dtype=np.uint8)
        commas = np.flatnonzero(a == 44)
        nfields = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
        blank = ends == starts
        ws_only = ~blank & (nfields == 1) & (ends - starts <= 2)
        if ws_only.any():
            short = np.flatnonzero(ws_only)  # lines of one or two bytes: whitespace only?
            blank[short] = [not body[starts[i] : ends[i]].strip() for i in short]
        good = (nfields == ncols) & ~blank
        for i in np.flatnonzero(~good & ~blank):
            text = body[starts[i] : ends[i]].decode("utf-8", "replace")
            quarantined.append(
                QuarantinedRow(
                    origin=origin,
                    line=int(first_line + i),
                    reason=_field_count_reason(layout, text, int(nfields[i]), ncols, body, ends[i]),
                    raw=text,
                )
            )
        next_starts = np.concatenate((starts[1:], [len(a)]))
        keep_bytes = np.repeat(good, next_starts - starts)
        clean = a[keep_bytes].tobytes() if len(a) else b""
        if clean and not clean.endswith(b"\n"):
            clean += b"\n"
        table, n_invalid = _safe_read(clean, layout, origin)
        row_line_index = np.flatnonzero(good)
        if n_invalid or table.num_rows != len(row_line_index):
            raise FirmsFormatError(
                f"could not align rows with lines after line {seg.header_line} "
                "(quoted fields with commas or line breaks are not FIRMS CSV)",
                origin=origin,
            )
        lines = first_line + row_line_index.astype(np.int64)

    n = table.num_rows
    numeric: dict[str, np.ndarray] = {}
    numeric_bad: dict[str, np.ndarray] = {}
    codes: dict[str, np.ndarray] = {}
    values: dict[str, list[str]] = {}
    for key, field_index in layout.keys.items():
        col = table.column(layout.names[field_index])
        if key in _NUMERIC:
            if pa.types.is_floating(col.type):
                numeric[key] = np.asarray(col.to_numpy(), dtype=np.float64)
                numeric_bad[key] = np.zeros(n, dtype=bool)
            else:
                numeric[key], numeric_bad[key] = _text_to_float(col)
        else:
            codes[key], values[key] = _dictionary(col)
    for key in _TEXT:
        if key not in codes:
            codes[key] = np.zeros(n, dtype=np.int32)
            values[key] = [""]

    def raw_text(i: int) -> str:
        return lines_obj.text(int(lines[i]))

    def field_of(i: int, key: str) -> str:
        parts = raw_text(i).split(",")
        j = layout.keys[key]
        return parts[j].strip().strip('"') if j < len(parts) else ""

    del row_line_index
    return _Columns(
        n=n,
        numeric=numeric,
        numeric_bad_text=numeric_bad,
        text_codes=codes,
        text_values=values,
        lines=lines,
        raw=raw_text,
        field_of=field_of,
        instrument_hint=layout.instrument_hint,
    )


def _safe_read(body: bytes, layout: _Layout, origin: str) -> tuple[Any, int]:
    import pyarrow as pa

    if not body.strip():
        empty = pa.table(
            {
                layout.names[i]: pa.array(
                    [],
                    type=pa.float64() if k in _NUMERIC else pa.dictionary(pa.int32(), pa.string()),
                )
                for k, i in layout.keys.items()
            }
        )
        return empty, 0
    try:
        return _arrow_read(body, layout, numeric_as_text=False)
    except pa.ArrowInvalid as exc:
        if "conversion error" not in str(exc):
            raise FirmsFormatError(f"unreadable CSV: {exc}", origin=origin) from exc
        # Some numeric field holds text: read numbers as text and check them one column at a time.
        return _arrow_read(body, layout, numeric_as_text=True)


def _field_count_reason(
    layout: _Layout, text: str, found: int, expected: int, body: bytes, end: int
) -> str:
    at_eof = end >= len(body.rstrip(b"\r\n")) and not body.endswith(b"\n")
    if found < expected:
        # Name the column the row stops in: that is where the cut happened.
        col = _last_column_name(layout, text)
        last = text.split(",")[-1]
        where = "; the file ends here without a line end (cut off)" if at_eof else ""
        return f"{col}: row ends after {found} of {expected} fields ({last!r}){where}"
    return f"row has {found} fields, the header has {expected} (extra commas or two rows joined)"


def _dictionary(col: Any) -> tuple[np.ndarray, list[str]]:
    """A (unified) dictionary column -> (int32 codes, list of distinct values)."""
    import pyarrow as pa

    if not pa.types.is_dictionary(col.type):
        col = col.dictionary_encode() if hasattr(col, "dictionary_encode") else col
    chunks = col.chunks if hasattr(col, "chunks") else [col]
    if not chunks:
        return np.zeros(0, dtype=np.int32), [""]
    dictionary = chunks[0].dictionary.to_pylist()
    codes = np.concatenate(
        [c.indices.fill_null(0).to_numpy(zero_copy_only=False) for c in chunks]
    ).astype(np.int32, copy=False)
    return codes, [("" if v is None else str(v)) for v in dictionary]


def _text_to_float(col: Any) -> tuple[np.ndarray, np.ndarray]:
    """Dictionary/text column -> (float64 with NaN, mask of present-but-not-a-number)."""
    codes, values = _dictionary(col)
    parsed = np.full(len(values), np.nan)
    bad = np.zeros(len(values), dtype=bool)
    number = re.compile(_NUMBER_RE)
    for j, v in enumerate(values):  # distinct values only
        if number.match(v):
            parsed[j] = float(v)
        elif v.strip():
            bad[j] = True
    return parsed[codes], bad[codes]


# --------------------------------------------------------------------------- value checks


@dataclass
class _Parsed:
    """Per-distinct-value results for one text column."""

    value: np.ndarray  # parsed value per distinct raw value
    error: list[str | None]  # message per distinct raw value, None when fine


def _parse_dates(values: list[str], date_hint: tuple[dt.date, dt.date] | None) -> _Parsed:
    days = np.zeros(len(values), dtype=np.int64)
    errors: list[str | None] = [None] * len(values)
    slash: list[tuple[int, int, int, int]] = []
    for j, v in enumerate(values):
        s = v.strip()
        m = _ISO_DATE_RE.match(s)
        if m:
            try:
                d = dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                errors[j] = f"acq_date: {v!r} is not a calendar date"
                continue
            days[j] = (d - _EPOCH).days
            continue
        m = _SLASH_DATE_RE.match(s)
        if m:
            slash.append((j, int(m[1]), int(m[2]), int(m[3])))
            continue
        errors[j] = "acq_date: empty" if not s else f"acq_date: {v!r} is not a date"
    if slash:
        order = _slash_order([(a, b, c) for _, a, b, c in slash], date_hint)
        for j, a, b, c in slash:
            if len(str(a)) == 4:  # YYYY/MM/DD
                y, mth, day = a, b, c
            elif order == "dmy":
                day, mth, y = a, b, c
            else:
                mth, day, y = a, b, c
            if y < 100:
                y += 2000  # Excel two-digit years; FIRMS starts in 2000
            try:
                days[j] = (dt.date(y, mth, day) - _EPOCH).days
            except ValueError:
                errors[j] = f"acq_date: {values[j]!r} is not a calendar date"
    return _Parsed(days, errors)


def _slash_order(parts: list[tuple[int, int, int]], hint: tuple[dt.date, dt.date] | None) -> str:
    """Month/day order of a file's slash dates: unambiguous values decide, else the file name."""
    firsts = [a for a, _, _ in parts if len(str(a)) < 4]
    seconds = [b for a, b, _ in parts if len(str(a)) < 4]
    if any(a > 12 for a in firsts):
        return "dmy"
    if any(b > 12 for b in seconds):
        return "mdy"
    if hint is not None:
        lo, hi = hint
        lo, hi = lo - dt.timedelta(days=8), hi + dt.timedelta(days=1)

        def fits(order: str) -> bool:
            for a, b, c in parts:
                y = c + 2000 if c < 100 else c
                m, d = (a, b) if order == "mdy" else (b, a)
                try:
                    if not lo <= dt.date(y, m, d) <= hi:
                        return False
                except ValueError:
                    return False
            return True

        if fits("dmy") and not fits("mdy"):
            return "dmy"
    # Excel's US default (M/D/YYYY) is what the real resaved files use.
    return "mdy"


def _parse_times(values: list[str]) -> _Parsed:
    minutes = np.zeros(len(values), dtype=np.int64)
    errors: list[str | None] = [None] * len(values)
    for j, v in enumerate(values):
        s = v.strip()
        if ":" in s:
            hh, _, mm = s.partition(":")
            ok = hh.isdigit() and mm.isdigit() and len(mm) == 2 and len(hh) <= 2
            h, m = (int(hh), int(mm)) if ok else (99, 99)
        elif s.isdigit() and len(s) <= 4:
            # HHMM, possibly without leading zeros ("35" is 00:35): Excel drops them.
            h, m = divmod(int(s), 100)
        else:
            errors[j] = "acq_time: empty" if not s else f"acq_time: {v!r} is not HHMM or HH:MM"
            continue
        if h > 23 or m > 59:
            errors[j] = f"acq_time: {v!r} is not a time of day"
            continue
        minutes[j] = h * 60 + m
    return _Parsed(minutes, errors)


def _parse_satellites(values: list[str]) -> _Parsed:
    names = np.empty(len(values), dtype=object)
    errors: list[str | None] = [None] * len(values)
    for j, v in enumerate(values):
        key = v.strip().upper()
        # FIRMS writes NOAA-20 as "1" or "N20"; Excel/R sometimes turn "1" into "1.0".
        key = key[:-2] if key.endswith(".0") else key
        name = SATELLITES.get(key)
        if name is None:
            errors[j] = "satellite: empty" if not key else f"satellite: unknown code {v!r}"
        names[j] = name
    return _Parsed(names, errors)


def _parse_instruments(values: list[str]) -> _Parsed:
    names = np.empty(len(values), dtype=object)
    errors: list[str | None] = [None] * len(values)
    for j, v in enumerate(values):
        key = v.strip().upper()
        if key in INSTRUMENT_CODES:
            names[j] = key
        elif key:
            errors[j] = f"instrument: unknown instrument {v!r}"
        else:
            names[j] = None  # no instrument column / empty: use the satellite
    return _Parsed(names, errors)


def _parse_confidence(values: list[str]) -> tuple[_Parsed, np.ndarray, np.ndarray]:
    level = np.empty(len(values), dtype=object)
    score = np.full(len(values), np.nan)
    raw = np.empty(len(values), dtype=object)
    errors: list[str | None] = [None] * len(values)
    for j, v in enumerate(values):
        s = v.strip()
        raw[j] = s
        word = _LEVEL_WORDS.get(s.lower())
        if word is not None:
            level[j], score[j] = word, _LEVEL_SCORE[word]
            continue
        try:
            x = float(s)
        except ValueError:
            errors[j] = "confidence: empty" if not s else f"confidence: {v!r} is not 0-100 or l/n/h"
            continue
        if not 0 <= x <= 100:
            errors[j] = f"confidence: {v!r} is outside 0-100"
            continue
        # FIRMS's MODIS classes: <30 low, 30-79 nominal, >=80 high.
        level[j] = "low" if x < 30 else ("nominal" if x < 80 else "high")
        score[j] = x
        raw[j] = s[:-2] if s.endswith(".0") else s
    return _Parsed(level, errors), score, raw


def _parse_daynight(values: list[str]) -> _Parsed:
    out = np.empty(len(values), dtype=object)
    errors: list[str | None] = [None] * len(values)
    for j, v in enumerate(values):
        s = v.strip().upper()
        if s in ("D", "N"):
            out[j] = s
        else:
            errors[j] = "daynight: empty" if not s else f"daynight: {v!r} is not D or N"
    return _Parsed(out, errors)


def _parse_types(values: list[str]) -> _Parsed:
    out = np.full(len(values), -1, dtype=np.int64)
    errors: list[str | None] = [None] * len(values)
    for j, v in enumerate(values):
        s = v.strip()
        if not s:
            continue
        s = s[:-2] if s.endswith(".0") else s
        if s in ("0", "1", "2", "3"):
            out[j] = int(s)
        else:
            errors[j] = f"type: {v!r} is not 0, 1, 2 or 3"
    return _Parsed(out, errors)


def _name_dates(origin: str) -> tuple[dt.date, dt.date] | None:
    found = []
    for m in _NAME_DATE_RE.finditer(origin):
        try:
            found.append(dt.date(int(m[1]), int(m[2]), int(m[3])))
        except ValueError:
            continue
    return (min(found), max(found)) if found else None


# --------------------------------------------------------------------------- assembling


def _finish(
    parts: list[_Columns],
    *,
    origin: str,
    sha256: str,
    product: str | None,
    bbox: Bbox | None,
    quarantined: list[QuarantinedRow],
    notes: list[str],
    name_hint: bool | None,
    date_hint: tuple[dt.date, dt.date] | None,
) -> FirmsRead:
    frames: list[pd.DataFrame] = []
    rows_read = len(quarantined)  # rows already quarantined for their shape
    outside_total = 0
    repeats = 0
    for part in parts:
        rows_read += part.n
        frame, bad, outside, rep = _validate(
            part,
            origin=origin,
            product=product,
            bbox=bbox,
            name_hint=name_hint,
            date_hint=date_hint,
        )
        quarantined.extend(bad)
        outside_total += outside
        repeats += rep
        if len(frame):
            frames.append(frame)
    if len(frames) > 1:
        frame, rep = _drop_repeats(pd.concat(frames, ignore_index=True))
        repeats += rep
    else:
        frame = frames[0] if frames else empty_frame()
    quarantined.sort(key=lambda q: q.line)
    if quarantined:
        log.info("%s: %d row(s) quarantined", origin, len(quarantined))
    return FirmsRead(
        frame=frame,
        quarantined=quarantined,
        origin=origin,
        sha256=sha256,
        rows_read=rows_read,
        rows_outside_bbox=outside_total,
        duplicates=repeats,
        notes=notes,
    )


def _drop_repeats(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    if not len(frame):
        return frame, 0
    dup = pd.Index(frame["detection_id"]).duplicated()
    n = int(dup.sum())
    if n:
        frame = frame.loc[~dup].reset_index(drop=True)
    return frame, n


def _validate(
    part: _Columns,
    *,
    origin: str,
    product: str | None,
    bbox: Bbox | None,
    name_hint: bool | None,
    date_hint: tuple[dt.date, dt.date] | None,
) -> tuple[pd.DataFrame, list[QuarantinedRow], int, int]:
    n = part.n
    lat = part.numeric["latitude"]
    lon = part.numeric["longitude"]
    bad: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore"):
        bad["latitude"] = ~((lat >= -90) & (lat <= 90))
        bad["longitude"] = ~((lon >= -180) & (lon <= 180))

    # Cheap region filter first: rows with good coordinates outside the bbox are dropped before
    # any further work; rows with bad coordinates stay so they are quarantined.
    outside = 0
    sel: np.ndarray | None = None
    if bbox is not None:
        west, south, east, north = bbox
        coords_ok = ~(bad["latitude"] | bad["longitude"])
        inside = (lat >= south) & (lat <= north) & (lon >= west) & (lon <= east)
        drop = coords_ok & ~inside
        outside = int(drop.sum())
        if outside:
            sel = np.flatnonzero(~drop)
    if sel is not None:
        n = len(sel)
        lat, lon = lat[sel], lon[sel]
        bad = {k: v[sel] for k, v in bad.items()}
    take: Callable[[np.ndarray], np.ndarray] = (lambda a: a) if sel is None else (lambda a: a[sel])
    row_index = np.arange(part.n) if sel is None else sel  # back to part rows for messages

    numeric = {k: take(v) for k, v in part.numeric.items()}
    for key in _NUMERIC[2:]:
        bad[key] = ~np.isfinite(numeric[key])

    codes = {k: take(v) for k, v in part.text_codes.items()}
    vals = part.text_values
    per_value: dict[str, list[str | None]] = {}

    dates = _parse_dates(vals["acq_date"], date_hint)
    times = _parse_times(vals["acq_time"])
    sats = _parse_satellites(vals["satellite"])
    insts = _parse_instruments(vals["instrument"])
    conf, conf_score, conf_raw = _parse_confidence(vals["confidence"])
    daynight = _parse_daynight(vals["daynight"])
    types = _parse_types(vals["fire_type"])
    for key, parsed in (
        ("acq_date", dates),
        ("acq_time", times),
        ("satellite", sats),
        ("instrument", insts),
        ("confidence", conf),
        ("daynight", daynight),
        ("fire_type", types),
    ):
        per_value[key] = parsed.error
        err = np.array([e is not None for e in parsed.error], dtype=bool)
        bad[key] = err[codes[key]] if len(err) else np.zeros(n, dtype=bool)

    # Satellite and instrument as small integer codes (see firewatch.schema); per row work is
    # integer arithmetic, names are looked up once at the end.
    sat_uc = np.array([SATELLITE_CODES.get(v, 0) if v else 0 for v in sats.value], dtype=np.int8)
    sat_c = sat_uc[codes["satellite"]]
    inst_uc = np.array([INSTRUMENT_CODES.get(v, 0) if v else 0 for v in insts.value], np.int8)
    inst_col = inst_uc[codes["instrument"]]
    inst_fs = _SAT_INSTRUMENT_CODE[sat_c]
    instrument = np.where(inst_col > 0, inst_col, inst_fs)
    bad["instrument"] = bad["instrument"] | (
        ~bad["satellite"] & (inst_col > 0) & (inst_col != inst_fs)
    )
    hint = part.instrument_hint
    if hint:
        # e.g. MODIS rows (satellite T/A) under a VIIRS header: their columns mean other things.
        bad["satellite"] = bad["satellite"] | (inst_fs != INSTRUMENT_CODES[hint])

    # NRT vs standard: the version suffix, else the file name, else NRT (FIRMS's default feed).
    version_raw = np.array([v.strip() for v in vals["version"]], dtype=object)
    default_nrt = name_hint if name_hint is not None else True
    v_nrt = np.array(
        [(v.upper().endswith("NRT") if v else default_nrt) for v in version_raw], dtype=np.int8
    )
    product_code = sat_c.astype(np.int64) * 2 + v_nrt[codes["version"]]
    if product is not None:
        allowed = np.array([SATELLITE_CODES[s] for s in _PRODUCT_SATELLITES[product]], np.int8)
        bad["product"] = ~np.isin(sat_c, allowed) & ~bad["satellite"] & ~bad["instrument"]
    else:
        bad["product"] = np.zeros(n, dtype=bool)

    any_bad = np.zeros(n, dtype=bool)
    for mask in bad.values():
        any_bad |= mask

    quarantined: list[QuarantinedRow] = []
    for i in np.flatnonzero(any_bad):  # quarantined rows only
        row = int(row_index[i])
        reasons = []
        for key in _CHECK_ORDER:
            if key not in bad or not bad[key][i]:
                continue
            msg = per_value[key][codes[key][i]] if key in per_value else None
            if msg is None:
                msg = _reason(
                    key,
                    row,
                    part,
                    inst_col=_INST_NAMES[inst_col[i]],
                    inst_from_sat=_INST_NAMES[inst_fs[i]],
                    hint=hint,
                    product=product,
                    satellite=_SAT_NAMES[sat_c[i]],
                )
            reasons.append(msg)
        quarantined.append(
            QuarantinedRow(
                origin=origin,
                line=int(part.lines[row]),
                reason="; ".join(reasons),
                raw=part.raw(row),
            )
        )

    good = ~any_bad
    if not good.any():
        return empty_frame(), quarantined, outside, 0
    minute = dates.value[codes["acq_date"]] * 1440 + times.value[codes["acq_time"]]
    # Hash the good rows only (bad ones may hold NaN coordinates), then keep the first row of
    # each detection id: repeats inside one input are dropped and counted.
    g = None if good.all() else np.flatnonzero(good)

    def good_rows(a: np.ndarray) -> np.ndarray:
        return a if g is None else a[g]

    hashes = detection_hash(
        good_rows(instrument), good_rows(sat_c), good_rows(minute), good_rows(lat), good_rows(lon)
    )
    repeat = pd.Index(hashes).duplicated()
    repeats = int(repeat.sum())
    if repeats:
        hashes = hashes[~repeat]
        g = np.flatnonzero(good)[~repeat]

    def pick(a: np.ndarray) -> np.ndarray:
        return a if g is None else a[g]

    minute = pick(minute)
    utc = pd.DatetimeIndex((minute * _NS_PER_MIN).view("datetime64[ns]"), copy=False).tz_localize(
        "UTC"
    )
    fire_type = pick(types.value[codes["fire_type"]])
    ft = pd.array(np.where(fire_type < 0, 0, fire_type).astype("int8"), dtype="Int8")
    ft[fire_type < 0] = pd.NA
    lines = part.lines if sel is None else part.lines[sel]
    count = len(minute)
    data: dict[str, Any] = {
        "detection_id": hex_ids(hashes),
        "product": _PRODUCT_TABLE[pick(product_code)]
        if product is None
        else np.full(count, product, dtype=object),
        "instrument": _INST_NAMES[pick(instrument)],
        "satellite": _SAT_NAMES[pick(sat_c)],
        "acq_time_utc": utc,
        "acq_time_bjt": utc.tz_convert(BEIJING_TZ),
        "latitude": pick(lat),
        "longitude": pick(lon),
        "scan": pick(numeric["scan"]),
        "track": pick(numeric["track"]),
        "bright_t4": pick(numeric["bright_t4"]),
        "bright_t5": pick(numeric["bright_t5"]),
        "frp": pick(numeric["frp"]),
        "confidence_raw": conf_raw[pick(codes["confidence"])],
        "confidence_level": conf.value[pick(codes["confidence"])],
        "confidence_score": conf_score[pick(codes["confidence"])],
        "daynight": daynight.value[pick(codes["daynight"])],
        "fire_type": ft,
        "version": version_raw[pick(codes["version"])],
        "origin": np.full(count, origin, dtype=object),
        "origin_line": pick(lines).astype(np.int64),
    }
    # copy=False: the arrays are fresh; consolidating 20 columns would cost more than parsing.
    frame = pd.DataFrame(data, columns=list(COLUMNS), copy=False)
    return frame, quarantined, outside, repeats


def _reason(
    key: str,
    row: int,
    part: _Columns,
    *,
    inst_col: str | None,
    inst_from_sat: str | None,
    hint: str | None,
    product: str | None,
    satellite: str | None,
) -> str:
    """The message for a row-level problem not already explained per distinct value."""
    if key == "instrument":
        return f"instrument: {inst_col!r} but the satellite is a {inst_from_sat} satellite"
    if key == "satellite":
        sat = part.field_of(row, "satellite")
        return f"satellite: {sat!r} is a {inst_from_sat} satellite in a file with {hint} columns"
    if key == "product":
        return f"satellite: a {inst_from_sat} {satellite} row does not belong to {product}"
    text = part.field_of(row, key)
    name = _DISPLAY.get(key, key)
    if not text:
        return f"{name}: empty"
    if key in ("latitude", "longitude") and not part.numeric_bad_text[key][row]:
        try:
            float(text)
            return f"{name}: {text} is out of range"
        except ValueError:
            pass
    return f"{name}: {text!r} is not a number"


# --------------------------------------------------------------------------- zip & shapefile


def _read_zip(raw: bytes, *, origin: str, product: str | None, bbox: Bbox | None) -> FirmsRead:
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as exc:
        raise FirmsFormatError(f"a damaged zip file: {exc}", origin=origin) from None
    names = [n for n in zf.namelist() if not n.endswith("/")]
    shps = [n for n in names if n.lower().endswith(".shp")]
    if shps:
        if len(shps) > 1:
            reads = [
                _read_shapefile(
                    None, data=raw, origin=f"{origin}!{s}", product=product, bbox=bbox, member=s
                )
                for s in shps
            ]
            return combine_reads(reads, origin=origin)
        return _read_shapefile(
            None, data=raw, origin=origin, product=product, bbox=bbox, member=shps[0]
        )
    tables = [
        n for n in names if n.lower().endswith((".csv", ".txt")) and "readme" not in n.lower()
    ]
    if not tables:
        raise FirmsFormatError(
            f"a zip without FIRMS data: no .shp, .csv or .txt inside (found {names[:5]})",
            origin=origin,
        )
    reads = [
        _read_csv_bytes(zf.read(n), origin=f"{origin}!{n}", product=product, bbox=bbox)
        for n in tables
    ]
    out = combine_reads(reads, origin=origin)
    out.sha256 = hashlib.sha256(raw).hexdigest()
    return out


#: Shapefile parts that hold data: geometry, index, attributes, CRS, attribute encoding.
_SHAPEFILE_PARTS: Final[tuple[str, ...]] = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def _shapefile_digest(path: Path) -> str:
    """SHA-256 over the parts of an unzipped shapefile (the attributes are in the ``.dbf``).

    Each part's suffix and length go in before its bytes, so moving bytes between parts
    changes the digest too.
    """
    h = hashlib.sha256()
    for suffix in _SHAPEFILE_PARTS:
        part = next(
            (
                p
                for p in (path.with_suffix(suffix), path.with_suffix(suffix.upper()))
                if p.is_file()
            ),
            None,
        )
        if part is None:
            continue
        data = part.read_bytes()
        h.update(f"{suffix}:{len(data)}:".encode())
        h.update(data)
    return h.hexdigest()


def _read_shapefile(
    path: Path | None,
    *,
    data: bytes | None,
    origin: str,
    product: str | None,
    bbox: Bbox | None,
    member: str | None = None,
) -> FirmsRead:
    """Read the FIRMS shapefile download (fields LATITUDE, ACQ_DATE, ... ) via pyogrio."""
    try:
        import pyogrio
    except ImportError as exc:  # pragma: no cover - pyogrio is a core dependency
        raise ImportError("reading FIRMS shapefiles needs pyogrio: pip install pyogrio") from exc

    if data is not None:
        digest = hashlib.sha256(data).hexdigest()
        source: Any = io.BytesIO(data)
        kwargs: dict[str, Any] = {}
        if member is not None:
            kwargs["layer"] = Path(member).stem
    else:
        assert path is not None
        digest = _shapefile_digest(path)
        source, kwargs = str(path), {}
    try:
        df = pyogrio.read_dataframe(source, **kwargs)
    except Exception as exc:  # pyogrio raises DataSourceError/DataLayerError and GDAL errors
        raise FirmsFormatError(f"unreadable shapefile: {exc}", origin=origin) from None
    df.columns = [str(c).lower() for c in df.columns]
    if "latitude" not in df and "geometry" in df and len(df):
        df["latitude"], df["longitude"] = df.geometry.y, df.geometry.x
    fields = [c for c in df.columns if c != "geometry"]
    layout = _layout(fields, origin, ",".join(fields))
    n = len(df)
    numeric: dict[str, np.ndarray] = {}
    numeric_bad: dict[str, np.ndarray] = {}
    codes: dict[str, np.ndarray] = {}
    values: dict[str, list[str]] = {}
    for key, idx in layout.keys.items():
        s = df[fields[idx]]
        if key in _NUMERIC:
            num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            numeric[key] = num
            numeric_bad[key] = np.isnan(num) & s.notna().to_numpy()
        else:
            if pd.api.types.is_datetime64_any_dtype(s):
                s = s.dt.strftime("%Y-%m-%d")
            cat = pd.Categorical(s.astype(object).where(s.notna(), "").astype(str))
            codes[key] = cat.codes.astype(np.int32)
            values[key] = [str(c) for c in cat.categories]
            if not values[key]:
                values[key] = [""]
    for key in _TEXT:
        if key not in codes:
            codes[key] = np.zeros(n, dtype=np.int32)
            values[key] = [""]
    records = df[fields]

    def raw_text(i: int) -> str:
        return ",".join("" if pd.isna(v) else str(v) for v in records.iloc[i].tolist())

    def field_of(i: int, key: str) -> str:
        v = records.iloc[i, layout.keys[key]]
        return "" if pd.isna(v) else str(v)

    part = _Columns(
        n=n,
        numeric=numeric,
        numeric_bad_text=numeric_bad,
        text_codes=codes,
        text_values=values,
        lines=np.arange(1, n + 1, dtype=np.int64),
        raw=raw_text,
        field_of=field_of,
        instrument_hint=layout.instrument_hint,
    )
    quarantined: list[QuarantinedRow] = []
    return _finish(
        [part],
        origin=origin,
        sha256=digest,
        product=product,
        bbox=bbox,
        quarantined=quarantined,
        notes=[],
        name_hint=product_hint_from_name(member or origin),
        date_hint=_name_dates(origin),
    )
