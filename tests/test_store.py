"""The store: migrations, idempotent upserts, SP superseding NRT, atomic runs, Beijing days."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import func, inspect, select

from firewatch.errors import StoreError
from firewatch.schema import BEIJING_TZ, detection_ids
from firewatch.store import connect, ensure_current, repo, upgrade
from firewatch.store.models import Detection, IngestRun, QuarantinedRow


def _frame(rows: list[tuple[str, str, float, float, str, float]]) -> pd.DataFrame:
    """Canonical-ish records from (product, satellite, lat, lon, utc time, frp) tuples.

    The values are real: rows of the 2025-04-23 MODIS C6.1 file over Heilongjiang.
    """
    df = pd.DataFrame(rows, columns=["product", "satellite", "latitude", "longitude", "t", "frp"])
    df["instrument"] = "MODIS"
    df["acq_time_utc"] = pd.to_datetime(df.pop("t"), utc=True)
    df["acq_time_bjt"] = df["acq_time_utc"].dt.tz_convert(BEIJING_TZ)
    df["detection_id"] = detection_ids(
        df["instrument"], df["satellite"], df["acq_time_utc"], df["latitude"], df["longitude"]
    )
    for c in ("scan", "track", "bright_t4", "bright_t5", "confidence_score"):
        df[c] = 1.0
    df["confidence_raw"] = "55"
    df["confidence_level"] = "nominal"
    df["daynight"] = "D"
    df["fire_type"] = pd.array([pd.NA] * len(df), dtype="Int8")
    df["version"] = ["6.1NRT" if p.endswith("NRT") else "6.1" for p in df["product"]]
    df["origin"] = "test.csv"
    df["origin_line"] = range(2, 2 + len(df))
    df["region"] = "province"
    df["city_code"] = "2303"
    df["county_code"] = "230381"
    return df


ROWS = [
    ("MODIS_NRT", "Terra", 45.38512, 131.0338, "2025-04-23 02:51", 12.4),
    ("MODIS_NRT", "Aqua", 45.6543, 131.7211, "2025-04-23 05:20", 8.1),
    ("MODIS_NRT", "Aqua", 46.8123, 130.3312, "2025-04-23 15:59", 20.0),  # 23:59 Beijing
    ("MODIS_NRT", "Aqua", 46.8123, 130.3312, "2025-04-23 16:00", 21.0),  # 00:00 next Beijing day
]


@pytest.fixture(params=["sqlite", "postgis"])
def engine(request, tmp_path):  # type: ignore[no-untyped-def]
    """The store suite runs on the embedded SQLite store and on PostgreSQL/PostGIS."""
    url = (
        f"sqlite:///{tmp_path / 'store.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgis_url")
    )
    eng = connect(url)
    upgrade(eng)
    yield eng
    eng.dispose()


def _store(engine, frame: pd.DataFrame, **kw):  # type: ignore[no-untyped-def]
    return repo.store_run(
        engine,
        frame,
        kind="file",
        origin=kw.pop("origin", "test.csv"),
        input_sha256=None,
        product=None,
        rows_read=kw.pop("rows_read", len(frame)),
        **kw,
    )


def test_fresh_store_has_tables_and_is_current(engine) -> None:  # type: ignore[no-untyped-def]
    tables = set(inspect(engine).get_table_names())
    assert {"detections", "ingest_runs", "quarantined_rows", "alembic_version"} <= tables
    ensure_current(engine)
    upgrade(engine)  # re-running the migration is a no-op
    ensure_current(engine)


def test_unmigrated_store_is_refused_with_instructions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    eng = connect(f"sqlite:///{tmp_path / 'new.db'}")
    with pytest.raises(StoreError, match="firewatch db upgrade"):
        ensure_current(eng)


def test_sqlite_pragmas(engine) -> None:  # type: ignore[no-untyped-def]
    if engine.dialect.name != "sqlite":
        assert engine.dialect.name == "postgresql"
        return
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_storing_twice_counts_duplicates_and_adds_nothing(engine) -> None:  # type: ignore[no-untyped-def]
    frame = _frame(ROWS)
    first = _store(engine, frame)
    assert (first.loaded, first.duplicates, first.status) == (4, 0, "ok")
    again = _store(engine, frame)
    assert (again.loaded, again.duplicates) == (0, 4)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Detection)).scalar_one() == 4
        assert conn.execute(select(func.count()).select_from(IngestRun)).scalar_one() == 2


def test_standard_product_replaces_near_real_time(engine) -> None:  # type: ignore[no-untyped-def]
    _store(engine, _frame(ROWS[:1]))
    sp = _frame([("MODIS_SP", *ROWS[0][1:5], 13.0)])
    summary = _store(engine, sp)
    assert summary.loaded == 0  # same detection, not a new one
    stored = repo.load_detections(engine)
    assert stored["product"].tolist() == ["MODIS_SP"]
    assert stored["frp"].tolist() == [13.0]
    # ...and a later NRT copy does not replace the standard record back.
    _store(engine, _frame(ROWS[:1]))
    assert repo.load_detections(engine)["product"].tolist() == ["MODIS_SP"]


def test_quarantine_is_recorded_with_file_line_reason(engine) -> None:  # type: ignore[no-untyped-def]
    q = [
        repo.Quarantine(
            origin="cut.csv", line=7, reason="acq_date: '2018-0' is not a date", raw="x"
        )
    ]
    s = _store(engine, _frame(ROWS[:2]), origin="cut.csv", rows_read=3, quarantine=q)
    assert (s.status, s.quarantined, s.loaded, s.duplicates) == ("partial", 1, 2, 0)
    stored = repo.load_quarantine(engine, s.run_id)
    assert stored[["origin", "line", "reason"]].values.tolist() == [
        ["cut.csv", 7, "acq_date: '2018-0' is not a date"]
    ]


def test_failed_run_leaves_nothing_behind(engine) -> None:  # type: ignore[no-untyped-def]
    frame = _frame(ROWS)
    frame.loc[2, "acq_time_utc"] = pd.NaT  # NOT NULL column: the insert fails mid-run
    with pytest.raises(Exception, match=r"(?i)not.null"):
        _store(engine, frame)
    with engine.connect() as conn:
        for model in (Detection, IngestRun, QuarantinedRow):
            assert conn.execute(select(func.count()).select_from(model)).scalar_one() == 0


def test_beijing_day_selects_utc_16_to_16(engine) -> None:  # type: ignore[no-untyped-def]
    _store(engine, _frame(ROWS))
    day = repo.load_detections(engine, first=dt.date(2025, 4, 23))
    # 02:51, 05:20 and 15:59 UTC are 10:51, 13:20 and 23:59 Beijing time on the 23rd;
    # 16:00 UTC is midnight of the 24th.
    assert sorted(day["frp"]) == [8.1, 12.4, 20.0]
    nxt = repo.load_detections(engine, first=dt.date(2025, 4, 24))
    assert nxt["frp"].tolist() == [21.0]
    assert str(nxt["acq_time_bjt"].iloc[0]) == "2025-04-24 00:00:00+08:00"
    assert nxt["acq_time_utc"].iloc[0] == pd.Timestamp("2025-04-23 16:00", tz="UTC")


def test_postgis_geometry_is_indexed_and_queryable(postgis_url) -> None:  # type: ignore[no-untyped-def]
    eng = connect(postgis_url)
    upgrade(eng)
    _store(eng, _frame(ROWS))
    with eng.connect() as conn:
        idx = conn.exec_driver_sql(
            "select indexdef from pg_indexes where indexname = 'ix_detections_geom'"
        ).scalar_one()
        # Points within 1 km of the first row's position: only that detection.
        near = conn.exec_driver_sql(
            "select count(*) from detections where ST_DWithin(geom::geography, "
            "ST_SetSRID(ST_MakePoint(131.0338, 45.38512), 4326)::geography, 1000)"
        ).scalar_one()
    eng.dispose()
    assert "gist" in idx.lower()
    assert near == 1
