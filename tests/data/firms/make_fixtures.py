"""Rebuild the FIRMS test fixtures from the project's shared copy of the real files.

Usage::

    python tests/data/firms/make_fixtures.py SHARED_FIRMS_DIR

``SHARED_FIRMS_DIR`` is the folder holding the real FIRMS files (the global CSV/TXT files,
``malformed/`` and ``viirs_noaa20_hlj_autumn2022/``).  Lines are copied byte for byte (CRLF, quotes,
index columns, missing final line ends are kept); only whole lines are selected.  The script uses
the standard library (and geopandas for the shapefile) and never the code under test.
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BOX = (121.1, 43.3, 135.2, 53.6)  # west, south, east, north: Heilongjiang and its neighbours


def in_box(line: bytes, lat_i: int, lon_i: int) -> bool:
    fields = line.rstrip(b"\r\n").split(b",")
    try:
        lat, lon = float(fields[lat_i]), float(fields[lon_i])
    except (IndexError, ValueError):
        return False
    west, south, east, north = BOX
    return south <= lat <= north and west <= lon <= east


def physical_lines(data: bytes) -> list[bytes]:
    """Lines with their own line ends (the last one may have none)."""
    return data.splitlines(keepends=True)


def inbox_copy(src: Path, dst: Path) -> int:
    lines = physical_lines(src.read_bytes())
    header = lines[0]
    names = [f.strip().strip('"') for f in header.decode().rstrip("\r\n").split(",")]
    lat_i, lon_i = names.index("latitude"), names.index("longitude")
    kept = [ln for ln in lines[1:] if in_box(ln, lat_i, lon_i)]
    dst.write_bytes(header + b"".join(kept))
    return len(kept)


def malformed(shared: Path, out: Path) -> None:
    out.mkdir(exist_ok=True)
    # The MODIS file stops in the middle of its last row: keep the header and the last 300 lines.
    src = shared / "malformed" / "MODIS_NRT_global_2018-09-22_to_2018-09-23_truncated.csv"
    lines = physical_lines(src.read_bytes())
    (out / src.name).write_bytes(lines[0] + b"".join(lines[-300:]))
    # The VIIRS file: 12 VIIRS rows, a row glued to a MODIS header (line 14), MODIS rows, and a
    # last row cut after its frp field.  Keep lines 1-14, the next 300 and the last 100.
    src = shared / "malformed" / "VIIRS_NRT_global_7d_2018-09-16_to_2018-09-18_truncated_mixed.csv"
    lines = physical_lines(src.read_bytes())
    (out / src.name).write_bytes(b"".join(lines[:14] + lines[14:314] + lines[-100:]))


def quirks(shared: Path, out: Path) -> None:
    out.mkdir(exist_ok=True)
    # The Excel-resaved file's first 59 rows: CRLF, M/D/YYYY and times with 1-2 digits (9, 18, 54).
    src = shared / "MODIS_C61_NRT_global_24h_2022-06-03_to_2022-06-04_excel-resaved.csv"
    lines = physical_lines(src.read_bytes())
    (out / src.name.replace("_24h_", "_24h_head60_")).write_bytes(b"".join(lines[:60]))
    # The 7-day file repeats four Hawaii rows verbatim (lines 20183-20186 = 25995-25998).
    src = shared / "MODIS_C61_NRT_global_7d_2022-05-28_to_2022-06-04_excel-resaved.csv"
    lines = physical_lines(src.read_bytes())
    picked = lines[20182 - 3 : 20186 + 3] + lines[25994 - 3 : 25998 + 3]
    (out / src.name.replace("_excel-resaved", "_repeated_rows")).write_bytes(
        lines[0] + b"".join(picked)
    )


def global_subset(shared: Path, out: Path, rows: int = 4000) -> None:
    src = shared / "VIIRS_SNPP_NRT_global_24h_2019-04-07_to_2019-04-07.txt"
    lines = physical_lines(src.read_bytes())
    out.mkdir(exist_ok=True)
    (out / src.name.replace("_global_", "_global_first4000_")).write_bytes(
        b"".join(lines[: rows + 1])
    )


def shapefile(inbox: Path, out: Path) -> None:
    """FIRMS's shapefile layout (DL_FIRE_SV-C2_*.zip) written from real in-box VIIRS rows."""
    import numpy as np
    import pyogrio.raw
    import shapely

    src = inbox / "VIIRS_SNPP_NRT_global_24h_2019-04-07_to_2019-04-07.txt"
    rows = list(csv.DictReader(io.StringIO(src.read_text())))

    def num(name: str) -> np.ndarray:
        return np.array([float(r[name]) for r in rows])

    def text(values: list[str]) -> np.ndarray:
        return np.array(values, dtype=object)

    fields = {
        "LATITUDE": num("latitude"),
        "LONGITUDE": num("longitude"),
        "BRIGHT_TI4": num("bright_ti4"),
        "SCAN": num("scan"),
        "TRACK": num("track"),
        # A DBF Date field, as in FIRMS's own shapefiles (datetime64[D] makes pyogrio write one).
        "ACQ_DATE": np.array([r["acq_date"] for r in rows], dtype="datetime64[D]"),
        # FIRMS shapefiles carry the time as HHMM text.
        "ACQ_TIME": text([r["acq_time"].replace(":", "") for r in rows]),
        "SATELLITE": text([r["satellite"] for r in rows]),
        "INSTRUMENT": text(["VIIRS"] * len(rows)),
        "CONFIDENCE": text([r["confidence"] for r in rows]),
        "VERSION": text([r["version"] for r in rows]),
        "BRIGHT_TI5": num("bright_ti5"),
        "FRP": num("frp"),
        "DAYNIGHT": text([r["daynight"] for r in rows]),
    }
    points = shapely.points(np.column_stack([fields["LONGITUDE"], fields["LATITUDE"]]))
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        shp = Path(tmp) / "fire_nrt_SV-C2_fixture.shp"
        pyogrio.raw.write(
            str(shp),
            shapely.to_wkb(points),
            list(fields.values()),
            list(fields),
            geometry_type="Point",
            crs="EPSG:4326",
            driver="ESRI Shapefile",
            encoding="UTF-8",
        )
        target = out / "DL_FIRE_SV-C2_fixture.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(Path(tmp).iterdir()):
                # Fixed member timestamps (the DBF header still records the day it was written).
                info = zipfile.ZipInfo(part.name, date_time=(2019, 4, 7, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, part.read_bytes())


def main(shared: Path) -> None:
    inbox = HERE / "inbox"
    inbox.mkdir(exist_ok=True)
    for src in sorted(shared.iterdir()):
        if src.is_file() and src.suffix in (".csv", ".txt"):
            n = inbox_copy(src, inbox / src.name)
            print(f"{src.name}: {n} in-box rows")
    malformed(shared, HERE / "malformed")
    quirks(shared, HERE / "quirks")
    global_subset(shared, HERE / "global")
    series = HERE / "viirs_noaa20_hlj_autumn2022"
    if series.exists():
        shutil.rmtree(series)
    shutil.copytree(shared / "viirs_noaa20_hlj_autumn2022", series)
    for f in series.iterdir():
        f.chmod(0o644)
    series.chmod(0o755)
    shapefile(inbox, HERE / "shapefile")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
