"""Grid attribution in the store and in `firewatch daily` / `attribute`, on real FIRMS data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from firewatch.cli import app
from firewatch.config import Settings
from firewatch.pipeline import ingest_file
from firewatch.publish.points import load_points
from firewatch.schema import BEIJING_TZ
from firewatch.spatial.boundaries import load_boundaries
from firewatch.spatial.grid import (
    POINT_GRID_COLUMNS,
    attribute_stored,
    load_grid,
    load_point_grid,
    refresh_people,
)
from firewatch.spatial.grid_models import GridAttribution, GridAttributionPerson
from firewatch.spatial.registry import import_registry
from firewatch.store import repo
from tests.conftest import SAMPLES
from tests.grid_support import DEMO, REGISTRY_CSV, ROOT, SERIES, write_registry

SAMPLE = SAMPLES / "MODIS_C61_NRT_hlj_2025-04-23_to_2025-04-24.csv"
QUIET = {  # the other stages of `daily` are not under test here
    "FIREWATCH_CLASSIFY__IN_DAILY": "false",
    "FIREWATCH_REVIEW__DISPATCH_IN_DAILY": "false",
    "FIREWATCH_MAP__IN_DAILY": "false",
    "FIREWATCH_BULLETIN__IN_DAILY": "false",
}


def _count(engine: Engine, table: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def season(engine: Engine, settings: Settings) -> Engine:
    """The real NOAA-20 files of Jixi's 2022 burning season (10-25 .. 11-10) in the store."""
    for f in sorted(SERIES.glob("*.csv")):
        saved = dt.date.fromisoformat(f.stem[-10:])
        if dt.date(2022, 10, 25) <= saved <= dt.date(2022, 11, 12):
            ingest_file(engine, settings, f)
    return engine


def test_a_chief_change_mid_season_attributes_earlier_points_to_the_earlier_chief(
    season: Engine, settings: Settings, tmp_path: Path
) -> None:
    engine = season
    run = attribute_stored(
        engine, settings, first=dt.date(2022, 10, 20), last=dt.date(2022, 11, 15)
    )
    assert run is not None and run.attributed > 100 and run.synthetic
    det = repo.load_detections(engine, first=dt.date(2022, 10, 20), last=dt.date(2022, 11, 15))
    pg = load_point_grid(engine, det["detection_id"].tolist())
    pts = det.set_index("detection_id").join(pg, how="inner")
    pts["day"] = pts["acq_time_bjt"].dt.date
    # The village burning on most days, and a change of field chief in the middle of them.
    days = pts.groupby("village_code")["day"].nunique().sort_values(ascending=False)
    village = days.index[0]
    assert days.iloc[0] >= 4
    its = pts[pts["village_code"] == village]
    change = sorted(its["day"].unique())[days.iloc[0] // 2]
    early = its[its["day"] < change]
    late = its[its["day"] >= change]
    assert len(early) and len(late)
    reg = write_registry(
        tmp_path / "chiefs.csv",
        [
            [
                village,
                "village",
                "田长",
                "旧田长",
                "138-0000-1111",
                "2020-01-01",
                (change - dt.timedelta(days=1)).isoformat(),
            ],
            [village, "village", "田长", "新田长", "138-0000-2222", change.isoformat(), ""],
            [village, "village", "网格员", "示例网格员", "139-0000-3333", "2020-01-01", ""],
        ],
    )
    import_registry(engine, reg, load_grid(DEMO))
    assert refresh_people(engine) == _count(engine, GridAttribution)
    for again in (False, True):
        if again:  # attributing anew resolves the same people
            attribute_stored(
                engine, settings, first=dt.date(2022, 10, 20), last=dt.date(2022, 11, 15)
            )
        pg = load_point_grid(engine, its.index.tolist())
        assert (pg.loc[early.index, "field_chief"] == "旧田长").all()
        assert (pg.loc[early.index, "field_chief_phone"] == "13800001111").all()
        assert (pg.loc[late.index, "field_chief"] == "新田长").all()
        assert (pg.loc[its.index, "grid_member"] == "示例网格员").all()
        assert not pg.loc[its.index, "grid_flags"].str.contains("no_chief").any()
    # Every other village has no chief in this registry: flagged.
    placed = pts["village_code"].notna() & (pts["village_code"] != village)
    others = load_point_grid(engine, pts.index[placed].tolist())
    assert len(others) > 50
    assert others["grid_flags"].str.contains("no_chief").all()
    assert others["field_chief"].isna().all()


def test_attribution_is_stored_once_and_the_loader_keeps_the_contract(
    season: Engine, settings: Settings
) -> None:
    engine = season
    import_registry(engine, REGISTRY_CSV, load_grid(DEMO))
    first, last = dt.date(2022, 10, 30), dt.date(2022, 10, 31)
    attribute_stored(engine, settings, first=first, last=last)
    n_att = _count(engine, GridAttribution)
    n_ppl = _count(engine, GridAttributionPerson)
    attribute_stored(engine, settings, first=first, last=last)
    assert (_count(engine, GridAttribution), _count(engine, GridAttributionPerson)) == (
        n_att,
        n_ppl,
    )
    det = repo.load_detections(engine, first=first, last=last)
    pg = load_point_grid(engine, det["detection_id"].tolist())
    assert list(pg.columns) == list(POINT_GRID_COLUMNS)
    assert pg.index.name == "detection_id"
    placed = pg[pg["village_code"].notna()]
    assert len(placed) > 50
    assert placed["grid_synthetic"].all()
    # Every placed point has the village's chief of the demo registry on duty that day.
    reg = pd.read_csv(REGISTRY_CSV, dtype=str, keep_default_na=False)
    day = det.set_index("detection_id").loc[placed.index, "acq_time_bjt"].dt.date
    for did, r in placed.iterrows():
        rows = reg[(reg["grid_code"] == r["village_code"]) & (reg["role"] == "field_chief")]
        on = rows[
            (rows["on_duty_from"] <= str(day[did]))
            & ((rows["on_duty_to"] == "") | (rows["on_duty_to"] >= str(day[did])))
        ]
        assert r["field_chief"] == on["name"].item()
        assert r["field_chief_phone"] == on["phone"].item().replace("-", "")
    # The internal edition of the points carries the chiefs; the public one no name or phone.
    internal = load_points(engine, first=first, last=last, edition="internal")
    public = load_points(engine, first=first, last=last, edition="public")
    assert internal["field_chief"].notna().sum() == len(placed)
    for col in ("field_chief", "field_chief_phone", "grid_member", "grid_member_phone"):
        assert col not in public.columns
    assert public["village_name"].notna().sum() == len(placed)


def test_daily_shows_jixi_points_with_township_village_and_chiefs(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'fw.db'}"
    runner = CliRunner(env=QUIET)
    res = runner.invoke(app, ["--db", db, "chiefs", "import", str(REGISTRY_CSV)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        app,
        [
            "--db",
            db,
            "daily",
            "--date",
            "2025-04-23",
            "--file",
            str(SAMPLE),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert res.exit_code == 0, res.output
    # Independently: the sample's points inside Jixi (GEOS on the boundary file), the demo
    # village under each, and that village's field chief in the registry on 2025-04-23.
    raw = pd.read_csv(SAMPLE)
    b = load_boundaries(ROOT / "boundaries" / "heilongjiang_counties.gpkg")
    jixi = b.city.loc[b.city["code"] == "230300", "geometry"].iloc[0]
    mine = raw[shapely.contains_xy(jixi, raw["longitude"], raw["latitude"])]
    assert len(mine) == 3
    vil = load_grid(DEMO).villages
    reg = pd.read_csv(REGISTRY_CSV, dtype=str, keep_default_na=False)
    for r in mine.itertuples():
        cell = vil[vil.contains(shapely.Point(r.longitude, r.latitude))].iloc[0]
        chief = reg[(reg["grid_code"] == cell["code"]) & (reg["role"] == "field_chief")]
        chief = chief[chief["on_duty_to"] == ""]["name"].item()
        assert f"{r.latitude:.4f}N {r.longitude:.4f}E" in res.output
        assert cell["name"] in res.output and chief in res.output
    assert "fire points per township" in res.output
    assert "fire points per field chief" in res.output
    assert "SYNTHETIC" in res.output and "合成示意数据" in res.output
    assert "grid 鸡西市 demo grid (synthetic): 3 fire points in village cells" in res.output


def test_attribute_adds_grid_levels_and_chiefs_to_any_table(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'fw.db'}"
    runner = CliRunner(env=QUIET)
    assert runner.invoke(app, ["--db", db, "chiefs", "import", str(REGISTRY_CSV)]).exit_code == 0
    out = tmp_path / "att.csv"
    res = runner.invoke(app, ["--db", db, "attribute", str(SAMPLE), "-o", str(out)])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(out, dtype=str)
    for col in (
        "township_code",
        "township_name",
        "village_code",
        "village_name",
        "field_chief",
        "grid_member",
        "grid_flags",
        "grid_synthetic",
    ):
        assert col in t.columns
    placed = t[t["village_code"].notna()]
    assert len(placed) == 3
    assert placed["county_code"].str[:4].eq("2303").all()
    assert placed["field_chief"].str.startswith("示例田长").all()
    assert placed["field_chief_phone"].str.fullmatch(r"138\d{8}").all()
    # Without a store there are no chiefs, and no store is created.
    out2 = tmp_path / "att2.csv"
    db2 = tmp_path / "none.db"
    res = runner.invoke(
        app, ["--db", f"sqlite:///{db2}", "attribute", str(SAMPLE), "-o", str(out2)]
    )
    assert res.exit_code == 0, res.output
    t2 = pd.read_csv(out2, dtype=str)
    assert t2["village_code"].notna().sum() == 3 and t2["field_chief"].isna().all()
    assert not db2.exists()


def test_no_grid_file_means_no_grid_stage(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'fw.db'}", grids_path=tmp_path / "none.gpkg"
    )
    from firewatch.pipeline import daily
    from firewatch.store import connect, upgrade

    engine = connect(settings.database_url)
    upgrade(engine)
    quiet = settings.model_copy(
        update={
            "classify": settings.classify.model_copy(update={"in_daily": False}),
            "review": settings.review.model_copy(update={"dispatch_in_daily": False}),
            "map": settings.map.model_copy(update={"in_daily": False}),
            "bulletin": settings.bulletin.model_copy(update={"in_daily": False}),
        }
    )
    r = daily(
        engine,
        quiet,
        day=dt.date(2025, 4, 23),
        files=[SAMPLE],
        fetch_api=False,
        out_dir=tmp_path / "out",
    )
    assert r.grid is None and r.summary.total > 0
    assert _count(engine, GridAttribution) == 0
    assert attribute_stored(engine, quiet) is None
    engine.dispose()


def test_beijing_day_decides_who_was_on_duty(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A point at 23:30 UTC on the 27th is on the 28th in Beijing: the new chief's."""
    from firewatch.schema import COLUMNS, detection_ids

    grid = load_grid(DEMO)
    v = grid.villages.iloc[0]
    p = v.geometry.representative_point()
    t = pd.Timestamp("2022-10-27 23:30", tz="UTC")
    frame = pd.DataFrame(
        {
            "product": ["VIIRS_NOAA20_NRT"],
            "instrument": ["VIIRS"],
            "satellite": ["NOAA-20"],
            "acq_time_utc": [t],
            "acq_time_bjt": [t.tz_convert(BEIJING_TZ)],
            "latitude": [p.y],
            "longitude": [p.x],
            "scan": [0.4],
            "track": [0.4],
            "bright_t4": [330.0],
            "bright_t5": [290.0],
            "frp": [5.0],
            "confidence_raw": ["n"],
            "confidence_level": ["nominal"],
            "confidence_score": [60.0],
            "daynight": ["N"],
            "fire_type": pd.array([pd.NA], dtype="Int8"),
            "version": ["2.0NRT"],
            "origin": ["test"],
            "origin_line": [2],
        }
    )
    frame.insert(
        0,
        "detection_id",
        detection_ids(
            frame["instrument"],
            frame["satellite"],
            frame["acq_time_utc"],
            frame["latitude"],
            frame["longitude"],
        ),
    )
    frame = frame.loc[:, list(COLUMNS)]
    from firewatch.pipeline import attribute_frame

    att, _ = attribute_frame(frame, settings)
    repo.store_run(
        engine,
        att,
        kind="file",
        origin="test",
        input_sha256=None,
        product=None,
        rows_read=1,
        quarantine=[],
        outside=0,
    )
    reg = write_registry(
        tmp_path / "r.csv",
        [
            [v["code"], "village", "田长", "旧田长", "13800001111", "2020-01-01", "2022-10-27"],
            [v["code"], "village", "田长", "新田长", "13800002222", "2022-10-28", ""],
        ],
    )
    import_registry(engine, reg, grid)
    attribute_stored(engine, settings, first=dt.date(2022, 10, 28), last=dt.date(2022, 10, 28))
    pg = load_point_grid(engine, frame["detection_id"].tolist())
    assert pg["field_chief"].tolist() == ["新田长"]
    assert np.isfinite(att["latitude"]).all()


def test_the_grid_tables_work_on_postgis(postgis_url: str, settings: Settings) -> None:
    from firewatch.store import connect, upgrade

    pg = settings.model_copy(update={"database_url": postgis_url})
    engine = connect(postgis_url)
    try:
        upgrade(engine)
        ingest_file(engine, pg, SAMPLE)
        res = import_registry(engine, REGISTRY_CSV, load_grid(DEMO))
        assert res.added > 2000
        run = attribute_stored(engine, pg, first=dt.date(2025, 4, 23), last=dt.date(2025, 4, 23))
        assert run is not None and run.attributed == 3
        det = repo.load_detections(engine, first=dt.date(2025, 4, 23), last=dt.date(2025, 4, 23))
        pg_grid = load_point_grid(engine, det["detection_id"].tolist())
        placed = pg_grid[pg_grid["village_code"].notna()]
        assert len(placed) == 3 and placed["field_chief"].str.startswith("示例田长").all()
        assert placed["grid_synthetic"].all()
        assert refresh_people(engine) == _count(engine, GridAttribution)
    finally:
        engine.dispose()
