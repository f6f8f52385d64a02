"""``firewatch season`` as an analyst runs it: ingest the real series, then the season."""

from __future__ import annotations

import fcntl
import sqlite3
from contextlib import closing
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from typer.testing import CliRunner

from firewatch.cli import app
from firewatch.config import PROJECT_ROOT
from firewatch.publish.season.cubes import open_cube
from tests.season_data import AUTUMN_2022, BAIQUAN, DAY, SPRING_2017, SPRING_2019, autumn_2022

CROPS = PROJECT_ROOT / "firewatch" / "data" / "crops"


def _text(result) -> str:  # type: ignore[no-untyped-def]
    """The command's output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def _ingest(db: Path) -> None:
    files = [str(p) for p in sorted(AUTUMN_2022.glob("*.csv")) + SPRING_2017 + SPRING_2019]
    url = f"sqlite:///{db}"
    res = CliRunner().invoke(app, ["--db", url, "-q", "ingest", *files], catch_exceptions=False)
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> str:
    """A SQLite store holding the real autumn 2022 series and the spring 2017/2019 MODIS files,
    ingested through the CLI.

    The ingest takes most of this module's time, so under pytest-xdist the first worker to get
    here builds it once for the run (under a file lock) and every worker copies it: the
    ``season`` command only reads the store.
    """
    db = tmp_path_factory.mktemp("store") / "fw.db"
    worker = getattr(request.config, "workerinput", {}).get("workerid")
    if worker is None:  # not distributed
        _ingest(db)
        return f"sqlite:///{db}"
    shared = tmp_path_factory.getbasetemp().parent / "season-cli-store"  # this run's, shared
    shared.mkdir(exist_ok=True)
    built = shared / "fw.db"
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not built.exists():
            partial = shared / f"fw.{worker}.db"
            _ingest(partial)
            snapshot = shared / f"fw.{worker}.snapshot"
            _sqlite_copy(partial, snapshot)
            snapshot.replace(built)  # only a complete store ever has the shared name
    _sqlite_copy(built, db)
    return f"sqlite:///{db}"


def _sqlite_copy(src: Path, dst: Path) -> None:
    """Copy a SQLite database with the backup API (the store runs in WAL mode: the main file
    alone may lack the latest pages)."""
    with closing(sqlite3.connect(src)) as a, closing(sqlite3.connect(dst)) as b:
        a.backup(b)


@pytest.fixture
def run(store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no developer firewatch.toml leaks in

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(app, ["--db", store, "season", *args], catch_exceptions=False)

    return invoke


def test_season_writes_cubes_tables_and_charts(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "autumn"
    res = run(
        "--year",
        "2022",
        "--season",
        "autumn",
        "--out",
        str(out),
        "--crops",
        str(CROPS / "example_crop_statistics.csv"),
        "--reported",
        str(CROPS / "example_reported_utilization.csv"),
    )
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "2022_autumn_counties.csv",
        "2022_autumn_county.nc",
        "2022_autumn_daily.png",
        "2022_autumn_events.csv",
        "2022_autumn_grid.nc",
        "2022_utilization.csv",
    ]
    cube = open_cube(out / "2022_autumn_county.nc")
    frame = autumn_2022()
    # the store path gives the same cube as the frame path
    assert int(cube["fire_count"].sum()) == int(frame["county_code"].notna().sum())
    cell = cube.sel(county=BAIQUAN, date=DAY)
    assert int(cell["fire_count"]) == 4
    assert float(cell["frp_sum"]) == pytest.approx(15.96)
    assert float(cell["dry_matter"]) == pytest.approx(78.48, abs=0.01)
    # every county of the bundled boundaries is in the cube, fires or not
    counties = gpd.read_file(
        PROJECT_ROOT / "boundaries" / "heilongjiang_counties.gpkg", layer="county"
    )
    assert sorted(cube["county"].values) == sorted(counties["code"].astype(str))
    grid = open_cube(out / "2022_autumn_grid.nc")
    assert int(grid["fire_count"].sum()) == len(frame)
    report = pd.read_csv(
        out / "2022_utilization.csv", encoding="utf-8-sig", dtype={"county_code": str}
    ).set_index("county_code")
    assert report.loc[BAIQUAN, "fire_count"] == int(cube["fire_count"].sel(county=BAIQUAN).sum())
    assert "ILLUSTRATIVE" in report.loc[BAIQUAN, "crop_source"]
    assert "no detections stored for autumn 2021" in _text(res)
    assert "dry matter burned" in _text(res)


def test_rerun_gives_the_same_outputs(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "again"
    assert run("--year", "2022", "--out", str(out)).exit_code == 0
    first = (out / "2022_autumn_counties.csv").read_bytes()
    assert run("--year", "2022", "--out", str(out)).exit_code == 0
    assert (out / "2022_autumn_counties.csv").read_bytes() == first
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_year_on_year_comparison_from_the_store(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "spring"
    res = run("--year", "2019", "--season", "spring", "--compare-year", "2017", "--out", str(out))
    assert res.exit_code == 0, res.output
    table = pd.read_csv(
        out / "2019_spring_vs_2017_spring.csv", encoding="utf-8-sig", dtype={"county_code": str}
    ).set_index("county_code")
    assert (table.loc["total", "count_a"], table.loc["total", "count_b"]) == (232, 48)
    assert (out / "2019_spring_vs_2017_spring.png").stat().st_size > 10_000
    assert "data on 5 of 67 days vs 2 of 67 days" in _text(res)


def test_bad_inputs_get_documented_exit_codes(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = run("--year", "2022", "--season", "summer", "--out", str(tmp_path / "x"))
    assert res.exit_code == 2
    assert "no ban period named 'summer'" in _text(res)
    refused = tmp_path / "refused.csv"
    refused.write_text("county,crop\n230231,corn\n", encoding="utf-8")
    res = run("--year", "2022", "--out", str(tmp_path / "y"), "--crops", str(refused))
    assert res.exit_code == 4
    assert "missing column(s)" in _text(res)
    partial = tmp_path / "partial.csv"
    partial.write_text(
        "year,county_code,crop,sown_area_ha,yield_t_per_ha\n"
        "2022,230231,corn,1000,8\n"
        "2022,230231,corn,abc,8\n",
        encoding="utf-8",
    )
    res = run("--year", "2022", "--out", str(tmp_path / "z"), "--crops", str(partial))
    assert res.exit_code == 3
    assert "partial.csv:3" in _text(res) and "sown_area_ha" in _text(res)
    assert (tmp_path / "z" / "2022_utilization.csv").is_file()


def test_burn_scars_of_the_largest_events(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from tests.sentinel_replay import Scene, SentinelReplay

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the replay speaks plain HTTP
    scenes = [Scene(dt.date(2022, 9, 1) + dt.timedelta(days=5 * k), 10.0) for k in range(24)]
    with SentinelReplay(scenes=scenes, burns=[]) as server:
        for key, value in {
            "CLIENT_ID": server.client_id,
            "CLIENT_SECRET": server.client_secret,
            "BASE_URL": server.url,
            "TOKEN_URL": server.token_url,
            "CACHE_DIR": str(tmp_path / "cache"),
        }.items():
            monkeypatch.setenv(f"FIREWATCH_SEASON__SENTINEL__{key}", value)
        out = tmp_path / "scars"
        res = run("--year", "2022", "--out", str(out), "--confirm-top", "2")
        assert res.exit_code == 0, res.output
        scars = pd.read_csv(out / "2022_autumn_burn_scars.csv", encoding="utf-8-sig")
        assert len(scars) == 2
        # nothing burned in the replay's scenes: the two largest events show no scar
        assert set(scars["status"]) == {"not_confirmed"}
        assert server.count("/api/v1/process") == 4
        monkeypatch.setenv("FIREWATCH_SEASON__SENTINEL__CLIENT_SECRET", "wrong")
        monkeypatch.setenv("FIREWATCH_SEASON__SENTINEL__CACHE_DIR", str(tmp_path / "cache2"))
        res = run("--year", "2022", "--out", str(out), "--confirm-top", "1")
        assert res.exit_code == 5
        assert "refused the client credentials" in _text(res)


def test_straw_only_counts_classified_straw_only(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "straw"
    res = run("--year", "2022", "--out", str(out), "--straw-only")
    assert res.exit_code == 0, res.output
    # this store was never classified: detections still counted, no energy counted as straw
    assert "were never classified and are not counted as burned straw" in _text(res)
    cube = open_cube(out / "2022_autumn_county.nc")
    assert int(cube["fire_count"].sum()) == int(autumn_2022()["county_code"].notna().sum())
    assert float(cube["dry_matter"].sum()) == 0.0
