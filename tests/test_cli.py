"""The command line as an analyst uses it: ingest, daily, attribute, export, fetch, runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from firewatch.cli import app
from firewatch.config import PROJECT_ROOT
from firewatch.store import connect
from firewatch.store.models import Detection, IngestRun
from tests.conftest import DATA, SAMPLES
from tests.firms_replay import GOOD_KEY, FirmsReplay

SAMPLE = SAMPLES / "MODIS_C61_NRT_hlj_2025-04-23_to_2025-04-24.csv"
MALFORMED = DATA / "firms" / "malformed"
BOUNDARIES = PROJECT_ROOT / "boundaries" / "heilongjiang_counties.gpkg"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Invoke ``firewatch --db <temp store> ARGS…`` and return (result, engine)."""
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    monkeypatch.chdir(tmp_path)  # no firewatch.toml of the developer's leaks in
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        result = runner.invoke(app, ["--db", url, *args], env=env, catch_exceptions=False)
        return result

    invoke.url = url  # type: ignore[attr-defined]
    return invoke


def _count(url: str, model: type) -> int:
    eng = connect(url)
    with eng.connect() as conn:
        n = conn.execute(select(func.count()).select_from(model)).scalar_one()
    eng.dispose()
    return int(n)


def _ids(url: str) -> set[str]:
    eng = connect(url)
    with eng.connect() as conn:
        ids = set(conn.execute(select(Detection.detection_id)).scalars())
    eng.dispose()
    return ids


def _in_province(csv_path: Path, *, first_utc: str, last_utc: str) -> int:
    """Independent count: rows of a FIRMS CSV inside the province polygon, by plain geopandas."""
    raw = pd.read_csv(csv_path, dtype={"acq_time": str})
    t = pd.to_datetime(raw["acq_date"] + " " + raw["acq_time"].str.zfill(4), format="%Y-%m-%d %H%M")
    raw = raw[(t >= first_utc) & (t < last_utc)]
    pts = gpd.GeoDataFrame(raw, geometry=gpd.points_from_xy(raw.longitude, raw.latitude), crs=4326)
    province = gpd.read_file(BOUNDARIES, layer="province")
    return int(gpd.sjoin(pts, province[["geometry"]], predicate="within").index.nunique())


def test_daily_on_the_bundled_day_counts_the_province(run) -> None:  # type: ignore[no-untyped-def]
    res = run("daily", "--date", "2025-04-23", "--file", str(SAMPLE), "--out", "out")
    assert res.exit_code == 0, res.output
    # Beijing day 2025-04-23 = UTC 2025-04-22 16:00 .. 2025-04-23 16:00.
    expected = _in_province(SAMPLE, first_utc="2025-04-22 16:00", last_utc="2025-04-23 16:00")
    assert expected > 100
    assert f"{expected} fire points in the province" in res.output
    assert "合计 total" in res.output
    # Every county in the per-county table is a Heilongjiang county code (23xxxx).
    eng = connect(run.url)
    with eng.connect() as conn:
        codes = conn.execute(
            select(Detection.county_code).where(Detection.region == "province").distinct()
        ).scalars()
        assert all(c.startswith("23") and len(c) == 6 for c in codes)
    eng.dispose()


def test_ingest_is_idempotent(run) -> None:  # type: ignore[no-untyped-def]
    first = run("ingest", str(SAMPLE))
    assert first.exit_code == 0, first.output
    stored = _count(run.url, Detection)
    assert stored > 0
    again = run("ingest", str(SAMPLE))
    assert again.exit_code == 0
    assert _count(run.url, Detection) == stored
    eng = connect(run.url)
    with eng.connect() as conn:
        last = conn.execute(select(IngestRun).order_by(IngestRun.id.desc()).limit(1)).one()
    eng.dispose()
    assert (last.loaded, last.duplicates) == (0, stored)
    assert last.rows_read == 391  # data lines in the file (wc -l minus the header)


def test_overlapping_files_do_not_duplicate(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a = DATA / "firms" / "inbox" / "MODIS_C6_NRT_global_24h_2017-04-27_to_2017-04-28.csv"
    b = DATA / "firms" / "inbox" / "MODIS_C6_NRT_global_24h_2017-04-28_to_2017-04-29.csv"
    assert run("ingest", str(a)).exit_code == 0
    assert run("ingest", str(b)).exit_code == 0
    both = _ids(run.url)

    # Each file alone in a store of its own: the shared store must hold their union, no more.
    alone = []
    for i, f in enumerate((a, b)):
        url = f"sqlite:///{tmp_path / f'alone{i}.db'}"
        res = CliRunner().invoke(app, ["--db", url, "ingest", str(f)], catch_exceptions=False)
        assert res.exit_code == 0, res.output
        alone.append(_ids(url))
    assert alone[0] & alone[1], "the two real files are known to overlap in the region"
    assert both == alone[0] | alone[1]


def test_malformed_files_load_good_rows_and_quarantine_the_rest(run) -> None:  # type: ignore[no-untyped-def]
    f = MALFORMED / "MODIS_NRT_global_2018-09-22_to_2018-09-23_truncated.csv"
    res = run("ingest", str(f))
    assert res.exit_code == 3, res.output  # partial
    lines = f.read_text().splitlines()
    last_line = len(lines)  # the cut-off row is the last physical line
    assert f"quarantined {f.name}:{last_line}" in res.output
    eng = connect(run.url)
    with eng.connect() as conn:
        run_row = conn.execute(select(IngestRun)).one()
    eng.dispose()
    assert run_row.status == "partial"
    assert run_row.quarantined >= 1
    assert run_row.rows_read == len(lines) - 1


def test_a_file_that_is_not_firms_is_refused_whole(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "stations.csv"
    bad.write_text("station,lat,lon\nHarbin,45.75,126.63\n")
    res = run("ingest", str(bad))
    assert res.exit_code == 4
    assert "stations.csv" in res.output
    assert "refused" in res.output
    assert _count(run.url, Detection) == 0
    eng = connect(run.url)
    with eng.connect() as conn:
        status = conn.execute(select(IngestRun.status)).scalar_one()
    eng.dispose()
    assert status == "refused"


def test_attribute_any_table(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Harbin's Nangang district government, Jixi city centre, a point in Jilin, one in Russia,
    # and a garbled row.
    src = tmp_path / "drone.csv"
    src.write_text(
        "id,LAT,LON\n1,45.7589,126.6369\n2,45.2950,130.9690\n3,43.8868,125.3245\n"
        "4,48.4827,135.0838\n5,not-a-number,126.6\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    res = run("attribute", str(src), "-o", str(out), "--lat-col", "LAT", "--lon-col", "LON")
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out, dtype=str, encoding="utf-8-sig").set_index("id")
    assert df.loc["1", "city_name"] == "哈尔滨市"
    assert df.loc["1", "county_name"] == "南岗区"
    assert df.loc["2", "city_name"] == "鸡西市"
    assert pd.isna(df.loc["3", "county_code"]) and pd.isna(df.loc["4", "county_code"])
    assert "unreadable" in df.loc["5", "problem"]
    assert list(df.columns[:2]) == ["LAT", "LON"]  # the user's own columns are kept first


def test_export_formats_round_trip(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("ingest", str(SAMPLE)).exit_code == 0
    n_day = {}
    for suffix in ("csv", "geojson", "gpkg"):
        out = tmp_path / f"day.{suffix}"
        res = run("export", "--from", "2025-04-23", "--to", "2025-04-24", "-o", str(out))
        assert res.exit_code == 0, res.output
        back = pd.read_csv(out, encoding="utf-8-sig") if suffix == "csv" else gpd.read_file(out)
        n_day[suffix] = len(back)
        assert {"county_code", "county_name", "acq_time_bjt", "frp"} <= set(back.columns)
    assert len(set(n_day.values())) == 1
    assert n_day["csv"] == _count(run.url, Detection)
    # Re-exporting overwrites rather than appending.
    run("export", "--from", "2025-04-23", "--to", "2025-04-24", "-o", str(tmp_path / "day.gpkg"))
    assert len(gpd.read_file(tmp_path / "day.gpkg")) == n_day["gpkg"]


def test_export_refuses_unknown_format(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    res = run("export", "--from", "2025-04-23", "--to", "2025-04-23", "-o", str(tmp_path / "x.shp"))
    assert res.exit_code == 2
    assert "unsupported output" in res.output


def test_fetch_from_the_api_replay(run) -> None:  # type: ignore[no-untyped-def]
    with FirmsReplay() as server:
        env = {"FIREWATCH_FIRMS_MAP_KEY": GOOD_KEY, "FIREWATCH_FIRMS_BASE_URL": server.url}
        res = run("fetch", "--date", "2025-04-23", "--days", "2", "--product", "MODIS_NRT", env=env)
        assert res.exit_code == 0, res.output
        assert len(server.area_requests()) == 1
        sent = server.area_requests()[0].path
    assert "/MODIS_NRT/" in sent
    assert GOOD_KEY not in res.output
    assert _count(run.url, Detection) > 0
    # The same rows from a file are recognised as already stored.
    again = run("ingest", str(SAMPLE))
    assert again.exit_code == 0
    eng = connect(run.url)
    with eng.connect() as conn:
        last = conn.execute(select(IngestRun).order_by(IngestRun.id.desc()).limit(1)).one()
    eng.dispose()
    assert last.loaded == 0


def test_fetch_with_a_refused_key_is_an_upstream_error(run) -> None:  # type: ignore[no-untyped-def]
    with FirmsReplay() as server:
        server.reject_all_keys()
        env = {"FIREWATCH_FIRMS_MAP_KEY": GOOD_KEY, "FIREWATCH_FIRMS_BASE_URL": server.url}
        res = run("fetch", "--date", "2025-04-23", "--product", "MODIS_NRT", env=env)
    assert res.exit_code == 5
    assert "MAP_KEY" in res.output
    assert GOOD_KEY not in res.output


def test_daily_without_key_or_files_says_what_to_do(run) -> None:  # type: ignore[no-untyped-def]
    res = run("daily", "--date", str(dt.date(2025, 4, 23)))
    assert res.exit_code == 2
    assert "FIREWATCH_FIRMS_MAP_KEY" in res.output
