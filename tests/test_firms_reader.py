"""FIRMS file reading on real fixture files (tests/data/firms, see its README).

Expected counts are literals counted with ``awk -F,`` over the fixture files when they were made
(README there), never produced by the reader.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from firewatch.errors import FirewatchError, FirmsFormatError
from firewatch.schema import COLUMNS, DTYPES
from firewatch.sources.firms import (
    combine_reads,
    filter_bbox,
    read_firms,
    read_firms_bytes,
)

FIRMS = Path(__file__).parent / "data" / "firms"
INBOX = FIRMS / "inbox"
HLJ_BOX = (121.1, 43.3, 135.2, 53.6)

# In-box rows per file: `awk -F, 'NR>1' FILE | wc -l` on the fixtures; the same numbers as the
# "in box" column of the shared SOURCES.md table for the original global files.
INBOX_ROWS = {
    "MODIS_C6_NRT_global_24h_2017-04-27_to_2017-04-28.csv": 72,
    "MODIS_C6_NRT_global_24h_2017-04-28_to_2017-04-29.csv": 163,
    "MODIS_C6_NRT_global_24h_2017-05-01_to_2017-05-02.csv": 553,
    "MODIS_C6_NRT_global_48h_2018-12-01_to_2018-12-03.csv": 114,
    "MODIS_C6_NRT_global_24h_2018-12-02_to_2018-12-03.csv": 96,
    "MODIS_C6_NRT_global_24h_2019-02-21_to_2019-02-21.txt": 484,
    "MODIS_C6_NRT_global_24h_2019-04-05_to_2019-04-06.csv": 298,
    "MODIS_C6_NRT_global_24h_2019-04-06_to_2019-04-06.txt": 26,
    "VIIRS_SNPP_NRT_global_24h_2019-04-07_to_2019-04-07.txt": 210,
    "MODIS_C6_NRT_global_24h_2020-09-30_to_2020-10-01.csv": 59,
    "MODIS_C6_NRT_global_24h_2020-10-02_to_2020-10-03.csv": 6,
    "MODIS_C6_NRT_global_24h_2021-02-12_to_2021-02-13.csv": 4,
    "MODIS_C61_NRT_global_24h_2022-02-26_to_2022-02-27.csv": 12,
    "MODIS_C61_NRT_global_7d_2022-05-28_to_2022-06-04_excel-resaved.csv": 78,
    "MODIS_C61_NRT_global_24h_2022-06-03_to_2022-06-04_excel-resaved.csv": 2,
    "MODIS_C61_NRT_global_24h_2023-03-10_to_2023-03-11.csv": 71,
    "MODIS_C61_NRT_global_24h_2023-08-01_to_2023-08-02.csv": 19,
    "MODIS_C61_NRT_global_24h_2025-04-23_to_2025-04-24.csv": 391,
    "MODIS_C61_NRT_global_24h_2025-06-26_to_2025-06-27.csv": 61,
}


def csv_rows(path: Path) -> list[dict[str, str]]:
    """The fixture's rows read with the csv module (an independent view of the file)."""
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


# --------------------------------------------------------------------------- every real file


def test_the_inbox_fixtures_are_all_the_shared_files() -> None:
    assert sorted(p.name for p in INBOX.iterdir()) == sorted(INBOX_ROWS)


@pytest.mark.parametrize("name", sorted(INBOX_ROWS))
def test_every_real_file_loads_all_its_rows(name: str) -> None:
    read = read_firms(INBOX / name)
    assert read.rows_read == INBOX_ROWS[name]
    assert read.loaded == INBOX_ROWS[name]
    assert read.quarantined == []
    assert read.origin == name
    assert list(read.frame.columns) == list(COLUMNS)
    assert {c: str(t) for c, t in read.frame.dtypes.items()} == DTYPES
    # origin_line is the physical line: the header is line 1, rows follow in file order.
    assert read.frame["origin_line"].tolist() == list(range(2, INBOX_ROWS[name] + 2))


@pytest.mark.parametrize("name", sorted(INBOX_ROWS))
def test_values_match_the_file(name: str) -> None:
    read = read_firms(INBOX / name)
    rows = csv_rows(INBOX / name)
    frame = read.frame
    assert frame["latitude"].tolist() == [float(r["latitude"]) for r in rows]
    assert frame["longitude"].tolist() == [float(r["longitude"]) for r in rows]
    bright = "bright_ti4" if "bright_ti4" in rows[0] else "brightness"
    assert frame["bright_t4"].tolist() == [float(r[bright]) for r in rows]
    assert frame["frp"].tolist() == [float(r["frp"]) for r in rows]
    assert frame["daynight"].tolist() == [r["daynight"] for r in rows]
    assert frame["version"].tolist() == [r["version"] for r in rows]
    assert frame["confidence_raw"].tolist() == [r["confidence"] for r in rows]


def test_a_modis_row_in_utc_and_beijing_time() -> None:
    # First in-box row of the 2025-04-23 spring-peak file: 2025-04-23, 0050, T, confidence 52.
    read = read_firms(INBOX / "MODIS_C61_NRT_global_24h_2025-04-23_to_2025-04-24.csv")
    first = csv_rows(INBOX / "MODIS_C61_NRT_global_24h_2025-04-23_to_2025-04-24.csv")[0]
    row = read.frame.iloc[0]
    hhmm = first["acq_time"]
    expected = pd.Timestamp(f"{first['acq_date']} {hhmm[:2]}:{hhmm[2:]}", tz="UTC")
    assert row["acq_time_utc"] == expected
    assert row["acq_time_bjt"] == expected
    assert str(row["acq_time_bjt"].tz) == "Asia/Shanghai"
    assert row["acq_time_bjt"].hour == (expected.hour + 8) % 24
    assert row["product"] == "MODIS_NRT"
    assert row["instrument"] == "MODIS"
    assert row["satellite"] == {"T": "Terra", "A": "Aqua"}[first["satellite"]]
    assert row["confidence_score"] == float(first["confidence"])


def test_hh_mm_times_in_txt_files() -> None:
    name = "VIIRS_SNPP_NRT_global_24h_2019-04-07_to_2019-04-07.txt"
    read = read_firms(INBOX / name)
    rows = csv_rows(INBOX / name)
    assert ":" in rows[0]["acq_time"]
    assert read.frame["acq_time_utc"].dt.strftime("%H:%M").tolist() == [r["acq_time"] for r in rows]
    assert set(read.frame["product"]) == {"VIIRS_SNPP_NRT"}
    assert set(read.frame["satellite"]) == {"S-NPP"}
    # VIIRS classes become comparable scores.
    levels = {"low": 20.0, "nominal": 60.0, "high": 90.0}
    assert read.frame["confidence_score"].tolist() == [levels[r["confidence"]] for r in rows]


def test_excel_resaved_dates_crlf_and_unpadded_times() -> None:
    path = (
        FIRMS
        / "quirks"
        / "MODIS_C61_NRT_global_24h_head60_2022-06-03_to_2022-06-04_excel-resaved.csv"
    )
    assert b"\r\n" in path.read_bytes()
    read = read_firms(path)
    assert read.loaded == 59 and read.quarantined == []
    # Line 2 is "...,6/3/2022,18,T,..." (18 = 00:18 UTC); line 54 is "...,6/3/2022,9,A,...".
    by_line = read.frame.set_index("origin_line")
    assert by_line.loc[2, "acq_time_utc"] == pd.Timestamp("2022-06-03 00:18", tz="UTC")
    assert by_line.loc[5, "acq_time_utc"] == pd.Timestamp("2022-06-03 00:54", tz="UTC")
    assert by_line.loc[54, "acq_time_utc"] == pd.Timestamp("2022-06-03 00:09", tz="UTC")
    assert by_line.loc[54, "acq_time_bjt"] == pd.Timestamp("2022-06-03 08:09", tz="Asia/Shanghai")
    assert by_line.loc[2, "daynight"] == "D"  # not "D\r"


def test_the_excel_resaved_in_box_rows() -> None:
    read = read_firms(INBOX / "MODIS_C61_NRT_global_24h_2022-06-03_to_2022-06-04_excel-resaved.csv")
    # "6/3/2022,315" and "6/4/2022,221" in the file.
    assert read.frame["acq_time_utc"].tolist() == [
        pd.Timestamp("2022-06-03 03:15", tz="UTC"),
        pd.Timestamp("2022-06-04 02:21", tz="UTC"),
    ]


def test_the_r_index_column_series() -> None:
    series = sorted((FIRMS / "viirs_noaa20_hlj_autumn2022").glob("*.csv"))
    reads = [read_firms(p) for p in series]
    # 46 files; 28,440 rows, 28,285 distinct detections (the series README; awk agrees).
    assert len(reads) == 46
    assert sum(r.rows_read for r in reads) == 28440
    assert sum(r.loaded for r in reads) == 28440
    assert not any(r.quarantined for r in reads)
    union = pd.concat([r.frame for r in reads], ignore_index=True)
    unique = union.drop_duplicates("detection_id")
    assert len(unique) == 28285
    assert set(unique["product"]) == {"VIIRS_NOAA20_NRT"}
    assert set(unique["satellite"]) == {"NOAA-20"}
    per_day = unique.groupby(unique["acq_time_utc"].dt.date).size()
    # The series README: unique detections per acq_date, peak 4,312 on 2022-10-29.
    assert per_day[dt.date(2022, 10, 4)] == 4
    assert per_day[dt.date(2022, 10, 29)] == 4312
    assert per_day[dt.date(2022, 11, 26)] == 1
    assert per_day.sum() == 28285
    # acq_time "310" (no leading zero, unquoted int in the R file) is 03:10 UTC.
    first = read_firms(series[2]).frame.iloc[0]  # saved_2022-10-05, line 2: 2022-10-04, 310
    assert first["acq_time_utc"] == pd.Timestamp("2022-10-04 03:10", tz="UTC")


def test_header_only_file_is_an_empty_day_not_an_error() -> None:
    # saved_2022-11-20 holds just the header (no detections that day).
    read = read_firms(
        FIRMS / "viirs_noaa20_hlj_autumn2022" / "J1_VIIRS_C2_Russia_Asia_24h_saved_2022-11-20.csv"
    )
    assert read.rows_read == 0 and read.loaded == 0 and read.quarantined == []
    assert list(read.frame.columns) == list(COLUMNS)


# --------------------------------------------------------------------------- malformed files


def test_file_cut_off_mid_row() -> None:
    path = FIRMS / "malformed" / "MODIS_NRT_global_2018-09-22_to_2018-09-23_truncated.csv"
    read = read_firms(path)
    # 301 lines: header + 300 rows, the last one cut after 6 fields (awk NF).
    assert read.rows_read == 300
    assert read.loaded == 299
    [bad] = read.quarantined
    assert bad.origin == path.name
    assert bad.line == 301
    assert bad.raw == "-11.374,-51.402,322.4,2.6,1.5,2018-0"
    assert bad.reason.startswith("acq_date:")
    assert "6 of 13 fields" in bad.reason and "cut off" in bad.reason
    assert read.partial


def test_file_switching_from_viirs_header_to_modis_rows() -> None:
    path = FIRMS / "malformed" / "VIIRS_NRT_global_7d_2018-09-16_to_2018-09-18_truncated_mixed.csv"
    read = read_firms(path)
    # 414 lines: header, 12 VIIRS rows, line 14 = a VIIRS row glued to a MODIS header,
    # 400 MODIS rows of which the last (line 414) is cut after its frp field.
    assert read.rows_read == 413
    assert read.loaded == 411
    assert [q.line for q in read.quarantined] == [14, 414]
    glued, cut = read.quarantined
    assert glued.reason.startswith("daynight:") and "header" in glued.reason
    assert glued.raw.startswith("56.18618,-159.40146,") and "latitude,longitude" in glued.raw
    assert cut.reason == "daynight: empty"
    assert cut.raw == "-14.998,39.279,329.7,1.3,1.2,2018-09-18,1050,A,35,6.0NRT,315.4,13,"
    frame = read.frame
    viirs = frame[frame["instrument"] == "VIIRS"]
    modis = frame[frame["instrument"] == "MODIS"]
    assert len(viirs) == 12 and viirs["origin_line"].tolist() == list(range(2, 14))
    assert len(modis) == 399 and modis["origin_line"].min() == 15
    assert set(viirs["product"]) == {"VIIRS_SNPP_NRT"}
    assert set(modis["product"]) == {"MODIS_NRT"}
    # MODIS rows are read with the MODIS header: numeric confidence, brightness in bright_t4.
    line15 = frame.set_index("origin_line").loc[15]
    assert line15["confidence_raw"] == "37" and line15["bright_t4"] == 302.5
    assert any("line 14" in n for n in read.notes)


# --------------------------------------------------------------------------- not FIRMS at all


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"\n\n  \r\n", "empty"),
        (b"\x00\x01\x02binary\xff\xfe" * 50, "binary"),
        (
            b"<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>"
            b"<body>down</body></html>",
            "HTML",
        ),
        (b"city,county,points\nHarbin,Bayan,3\n", "missing column(s) latitude, longitude"),
        (b"latitude,longitude\n45.1,126.2\n", "acq_date"),
        (b"Invalid MAP_KEY.", "missing column"),
        (b"\x1f\x8b\x08\x00damaged", "damaged gzip"),
    ],
)
def test_not_firms_data_is_refused_whole(content: bytes, expected: str, tmp_path: Path) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    with pytest.raises(FirmsFormatError) as info:
        read_firms(path)
    assert expected in str(info.value)
    assert "upload.csv" in str(info.value)
    assert isinstance(info.value, FirewatchError) and isinstance(info.value, ValueError)


def test_missing_columns_are_named(tmp_path: Path) -> None:
    rows = csv_rows(INBOX / "MODIS_C6_NRT_global_24h_2021-02-12_to_2021-02-13.csv")
    buf = io.StringIO()
    names = [c for c in rows[0] if c not in ("frp", "daynight")]
    writer = csv.DictWriter(buf, names, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with pytest.raises(FirmsFormatError, match=r"missing column\(s\) frp, daynight"):
        read_firms_bytes(buf.getvalue(), origin="no_frp.csv")


# --------------------------------------------------------------------------- bad values


def test_bad_values_are_quarantined_with_line_and_column(tmp_path: Path) -> None:
    src = INBOX / "MODIS_C6_NRT_global_24h_2017-04-27_to_2017-04-28.csv"
    lines = src.read_text().splitlines()
    header, body = lines[0], lines[1:]
    fields = [row.split(",") for row in body]
    fields[3][0] = "95.1"  # latitude out of range (line 5)
    fields[10][5] = "2017-02-30"  # no such day (line 12)
    fields[20][6] = "2460"  # no such time (line 22)
    fields[30][7] = "X"  # unknown satellite (line 32)
    fields[40][8] = "high-ish"  # not a confidence (line 42)
    fields[50][10] = "n/a"  # bright_t31 not a number (line 52)
    fields[60][11] = ""  # frp empty (line 62)
    path = tmp_path / "edited.csv"
    path.write_text("\n".join([header, *(",".join(f) for f in fields)]) + "\n")
    read = read_firms(path)
    assert read.rows_read == 72
    assert read.loaded == 65
    reasons = {q.line: q.reason for q in read.quarantined}
    assert reasons == {
        5: "latitude: 95.1 is out of range",
        12: "acq_date: '2017-02-30' is not a calendar date",
        22: "acq_time: '2460' is not a time of day",
        32: "satellite: unknown code 'X'",
        42: "confidence: 'high-ish' is not 0-100 or l/n/h",
        52: "bright_t31/bright_ti5: 'n/a' is not a number",
        62: "frp: empty",
    }
    assert {q.raw for q in read.quarantined} == {
        ",".join(fields[i]) for i in (3, 10, 20, 30, 40, 50, 60)
    }
    assert 5 not in read.frame["origin_line"].tolist()


def test_explicit_product_quarantines_rows_of_another_satellite() -> None:
    read = read_firms(
        INBOX / "MODIS_C6_NRT_global_24h_2017-05-01_to_2017-05-02.csv", product="VIIRS_SNPP_NRT"
    )
    assert read.loaded == 0 and len(read.quarantined) == 553
    assert "does not belong to VIIRS_SNPP_NRT" in read.quarantined[0].reason
    read = read_firms(
        INBOX / "MODIS_C6_NRT_global_24h_2017-05-01_to_2017-05-02.csv", product="MODIS_SP"
    )
    assert read.loaded == 553 and set(read.frame["product"]) == {"MODIS_SP"}


# --------------------------------------------------------------------------- archive layout


def test_archive_layout_with_type_and_instrument(tmp_path: Path) -> None:
    """FIRMS archive (standard) downloads add ``instrument`` and ``type`` and drop "NRT" from the
    version.  No archive file is in the shared data, so this re-lays real rows that way; the
    ``type`` values are test inputs, not FIRMS's."""
    rows = csv_rows(INBOX / "MODIS_C61_NRT_global_24h_2025-06-26_to_2025-06-27.csv")
    names = [
        "latitude", "longitude", "brightness", "scan", "track", "acq_date", "acq_time",
        "satellite", "instrument", "confidence", "version", "bright_t31", "frp", "daynight", "type",
    ]  # fmt: skip
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    for i, r in enumerate(rows):
        writer.writerow(
            [r[n] for n in names[:8]]
            + ["MODIS", r["confidence"], "6.1", r["bright_t31"], r["frp"], r["daynight"]]
            + [["0", "2", "", "3"][i % 4]]
        )
    path = tmp_path / "fire_archive_M-C61_123456.csv"
    path.write_text(buf.getvalue())
    read = read_firms(path)
    assert read.loaded == 61
    assert set(read.frame["product"]) == {"MODIS_SP"}
    types = read.frame["fire_type"]
    assert str(types.dtype) == "Int8"
    assert types.iloc[:4].tolist() == [0, 2, pd.NA, 3]


def test_no_version_column_uses_the_file_name(tmp_path: Path) -> None:
    rows = csv_rows(INBOX / "MODIS_C6_NRT_global_24h_2021-02-12_to_2021-02-13.csv")
    buf = io.StringIO()
    names = [c for c in rows[0] if c != "version"]
    writer = csv.DictWriter(buf, names, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    archive = read_firms_bytes(buf.getvalue(), origin="fire_archive_M6_1.csv")
    nrt = read_firms_bytes(buf.getvalue(), origin="fire_nrt_M6_1.csv")
    assert set(archive.frame["product"]) == {"MODIS_SP"}
    assert set(nrt.frame["product"]) == {"MODIS_NRT"}
    assert archive.frame["detection_id"].tolist() == nrt.frame["detection_id"].tolist()


# --------------------------------------------------------------------------- ids and overlaps


def test_overlapping_24h_files_dedup_by_detection_id() -> None:
    a = read_firms(INBOX / "MODIS_C6_NRT_global_24h_2017-04-27_to_2017-04-28.csv")
    b = read_firms(INBOX / "MODIS_C6_NRT_global_24h_2017-04-28_to_2017-04-29.csv")
    union = combine_reads([a, b], origin="both")
    # awk over both fixtures, key satellite|acq_date|acq_time|lat|lon: 235 rows, 167 distinct.
    assert a.loaded + b.loaded == 235
    assert union.loaded == 167
    assert union.duplicates == 68
    assert union.frame["detection_id"].is_unique


def test_the_24h_file_is_inside_the_48h_file() -> None:
    a = read_firms(INBOX / "MODIS_C6_NRT_global_48h_2018-12-01_to_2018-12-03.csv")
    b = read_firms(INBOX / "MODIS_C6_NRT_global_24h_2018-12-02_to_2018-12-03.csv")
    assert set(b.frame["detection_id"]) <= set(a.frame["detection_id"])


def test_rows_repeated_inside_one_file_are_loaded_once() -> None:
    path = FIRMS / "quirks" / "MODIS_C61_NRT_global_7d_2022-05-28_to_2022-06-04_repeated_rows.csv"
    read = read_firms(path)
    assert read.rows_read == 20
    assert read.loaded == 16
    assert read.duplicates == 4
    assert read.quarantined == []


def _reference_id(
    instrument: int, satellite: int, when: dt.datetime, lat: float, lon: float
) -> str:
    """docs/schema.md's pure-Python definition of the detection id."""
    m64 = (1 << 64) - 1

    def mix(z: int) -> int:
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m64
        return z ^ (z >> 31)

    minute = int(when.timestamp()) // 60
    w1 = (instrument << 60) | (satellite << 52) | minute
    w2 = ((round(lat * 100000) + 9_000_000) << 32) | (round(lon * 100000) + 18_000_000)
    return f"{mix(mix(w1 ^ 0x9E3779B97F4A7C15) ^ w2):016x}"


def test_detection_ids_follow_the_documented_definition() -> None:
    codes = {"Terra": 1, "Aqua": 2, "S-NPP": 3, "NOAA-20": 4, "NOAA-21": 5}
    for name in ("MODIS_C61_NRT_global_24h_2025-04-23_to_2025-04-24.csv",
                 "VIIRS_SNPP_NRT_global_24h_2019-04-07_to_2019-04-07.txt"):  # fmt: skip
        frame = read_firms(INBOX / name).frame
        expected = [
            _reference_id(
                {"MODIS": 1, "VIIRS": 2}[r.instrument],
                codes[r.satellite],
                r.acq_time_utc.to_pydatetime(),
                r.latitude,
                r.longitude,
            )
            for r in frame.itertuples()
        ]
        assert frame["detection_id"].tolist() == expected
    # Pinned for line 2 of the 2025-04-23 file ("47.84414,131.3241,...,2025-04-23,0050,T,..."):
    # _reference_id(1, 1, 2025-04-23 00:50 UTC, 47.84414, 131.3241), computed once by hand.
    first = read_firms(INBOX / "MODIS_C61_NRT_global_24h_2025-04-23_to_2025-04-24.csv").frame.iloc[
        0
    ]
    assert first["detection_id"] == "3d6f3e1905f67541"


def test_ids_do_not_depend_on_the_version_or_the_file() -> None:
    # The same detection read from the CSV and from the shapefile of the same rows.
    csv_read = read_firms(INBOX / "VIIRS_SNPP_NRT_global_24h_2019-04-07_to_2019-04-07.txt")
    shp_read = read_firms(FIRMS / "shapefile" / "DL_FIRE_SV-C2_fixture.zip")
    assert shp_read.frame["detection_id"].tolist() == csv_read.frame["detection_id"].tolist()


# --------------------------------------------------------------------------- shapefile & zip


def test_firms_shapefile_download() -> None:
    read = read_firms(FIRMS / "shapefile" / "DL_FIRE_SV-C2_fixture.zip")
    rows = csv_rows(INBOX / "VIIRS_SNPP_NRT_global_24h_2019-04-07_to_2019-04-07.txt")
    assert read.loaded == 210 and read.quarantined == []
    assert read.frame["acq_time_utc"].dt.strftime("%Y-%m-%d %H:%M").tolist() == [
        f"{r['acq_date']} {r['acq_time']}" for r in rows
    ]
    assert read.frame["frp"].tolist() == [float(r["frp"]) for r in rows]
    assert set(read.frame["product"]) == {"VIIRS_SNPP_NRT"}


def test_unzipped_shapefile(tmp_path: Path) -> None:
    with zipfile.ZipFile(FIRMS / "shapefile" / "DL_FIRE_SV-C2_fixture.zip") as zf:
        zf.extractall(tmp_path)
    read = read_firms(tmp_path / "fire_nrt_SV-C2_fixture.shp")
    assert read.loaded == 210
    assert read.origin == "fire_nrt_SV-C2_fixture.shp"
    # The attributes live in the .dbf: a changed .dbf is a different input.
    dbf = tmp_path / "fire_nrt_SV-C2_fixture.dbf"
    dbf.write_bytes(dbf.read_bytes()[:-1] + b" ")
    assert read_firms(tmp_path / "fire_nrt_SV-C2_fixture.shp").sha256 != read.sha256


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "cr"])
def test_other_encodings_and_line_ends(encoding: str) -> None:
    src = INBOX / "MODIS_C6_NRT_global_24h_2021-02-12_to_2021-02-13.csv"
    text = src.read_text()
    data = text.replace("\n", "\r").encode() if encoding == "cr" else text.encode(encoding)
    read = read_firms_bytes(data, origin=src.name)
    assert read.loaded == 4 and read.quarantined == []
    assert read.frame["daynight"].tolist() == [r["daynight"] for r in csv_rows(src)]


def test_gzipped_csv(tmp_path: Path) -> None:
    import gzip

    src = INBOX / "MODIS_C6_NRT_global_24h_2017-05-01_to_2017-05-02.csv"
    target = tmp_path / (src.name + ".gz")
    target.write_bytes(gzip.compress(src.read_bytes()))
    read = read_firms(target)
    assert read.loaded == 553
    assert read.frame["origin_line"].iloc[-1] == 554


def test_zip_with_csv_files_inside(tmp_path: Path) -> None:
    target = tmp_path / "DL_FIRE_M-C61_1.zip"
    with zipfile.ZipFile(target, "w") as zf:
        zf.write(INBOX / "MODIS_C6_NRT_global_24h_2017-04-27_to_2017-04-28.csv", "fire_nrt_a.csv")
        zf.write(INBOX / "MODIS_C6_NRT_global_24h_2017-04-28_to_2017-04-29.csv", "fire_nrt_b.csv")
        zf.writestr("Readme.txt", "NASA FIRMS download")
    read = read_firms(target)
    assert read.rows_read == 235 and read.loaded == 167
    assert set(read.frame["origin"]) == {"DL_FIRE_M-C61_1.zip!fire_nrt_a.csv",
                                         "DL_FIRE_M-C61_1.zip!fire_nrt_b.csv"}  # fmt: skip


# --------------------------------------------------------------------------- region filter


def test_bbox_filter_on_a_global_file() -> None:
    path = FIRMS / "global" / "VIIRS_SNPP_NRT_global_first4000_24h_2019-04-07_to_2019-04-07.txt"
    whole = read_firms(path)
    boxed = read_firms(path, bbox=HLJ_BOX)
    # awk over the fixture: 4000 rows, 210 inside the box.
    assert whole.loaded == 4000
    assert boxed.loaded == 210
    assert boxed.rows_read == 4000 and boxed.rows_outside_bbox == 3790
    assert (
        filter_bbox(whole.frame, HLJ_BOX)["detection_id"].tolist()
        == boxed.frame["detection_id"].tolist()
    )
    # Lines still point into the original file.
    lat = boxed.frame["latitude"].to_numpy()
    assert ((lat >= 43.3) & (lat <= 53.6)).all()
    text = path.read_text().splitlines()
    for row in boxed.frame.iloc[[0, -1]].itertuples():
        fields = text[row.origin_line - 1].split(",")
        assert (float(fields[0]), float(fields[1])) == (row.latitude, row.longitude)


def test_bad_coordinates_are_quarantined_even_with_a_bbox(tmp_path: Path) -> None:
    src = INBOX / "MODIS_C6_NRT_global_24h_2021-02-12_to_2021-02-13.csv"
    lines = src.read_text().splitlines()
    lines[2] = "abc" + lines[2][lines[2].index(",") :]
    read = read_firms_bytes("\n".join(lines) + "\n", origin="x.csv", bbox=HLJ_BOX)
    assert read.loaded == 3
    assert [(q.line, q.reason) for q in read.quarantined] == [
        (3, "latitude: 'abc' is not a number")
    ]


def test_read_from_text_and_bytes_agree() -> None:
    path = INBOX / "MODIS_C6_NRT_global_24h_2019-04-06_to_2019-04-06.txt"
    a = read_firms_bytes(path.read_bytes(), origin=path.name)
    b = read_firms_bytes(path.read_text(), origin=path.name)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert a.sha256 == b.sha256
    import hashlib

    assert a.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_frame_is_usable_downstream() -> None:
    read = read_firms(INBOX / "MODIS_C61_NRT_global_24h_2025-04-23_to_2025-04-24.csv")
    frame = read.frame.copy()
    frame["x"] = np.arange(len(frame))
    assert frame.groupby(frame["acq_time_bjt"].dt.date).size().sum() == 391


def test_as_geodataframe_points_are_the_coordinates() -> None:
    from firewatch.sources.firms import as_geodataframe

    read = read_firms(INBOX / "MODIS_C6_NRT_global_24h_2020-10-02_to_2020-10-03.csv")
    gdf = as_geodataframe(read.frame)
    assert gdf.crs.to_epsg() == 4326
    assert gdf.geometry.x.tolist() == read.frame["longitude"].tolist()
    assert gdf.geometry.y.tolist() == read.frame["latitude"].tolist()
