"""Classifier features on the real FIRMS fixtures, checked against brute-force computations."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from firewatch.classify.features import (
    BASE_FEATURES,
    FeatureContext,
    build_features,
    persistence_counts,
)
from firewatch.classify.industrial import (
    IndustrialRegistryError,
    SiteIndex,
    load_sites,
    read_user_registry,
)
from firewatch.config import Settings
from tests.classify_support import haversine_km, load_series, thermal_sites


@pytest.fixture(scope="module")
def series() -> pd.DataFrame:
    return load_series()


@pytest.fixture(scope="module")
def context() -> FeatureContext:
    return FeatureContext.from_settings(Settings())


@pytest.fixture(scope="module")
def series_features(series: pd.DataFrame, context: FeatureContext) -> pd.DataFrame:
    return build_features(series, context=context)


def test_feature_table_without_landcover(series_features: pd.DataFrame) -> None:
    assert list(series_features.columns) == list(BASE_FEATURES)
    assert series_features.notna().all().all()


def test_distance_to_industry_matches_haversine(
    series: pd.DataFrame, series_features: pd.DataFrame
) -> None:
    sites = thermal_sites()
    rng = np.random.default_rng(1)
    for i in rng.choice(len(series), 200, replace=False):
        row = series.iloc[i]
        d = haversine_km(
            row.latitude, row.longitude, sites.latitude.to_numpy(), sites.longitude.to_numpy()
        )
        expected = min(d.min(), 100.0)
        assert series_features["dist_industry_km"].iloc[i] == pytest.approx(expected, abs=1e-3)


def test_wind_and_solar_plants_are_not_heat_sources() -> None:
    sites = load_sites()
    assert set(sites["kind"]) == {"power", "flare", "refinery"}
    # the GPPD subset holds wind farms, but none is in the registry
    assert not sites["name"].str.contains("(wind)", regex=False).any()
    assert sites["name"].str.contains("(coal)", regex=False).sum() >= 26


def _bjt_days(frame: pd.DataFrame) -> np.ndarray:
    return np.array([t.date().toordinal() for t in frame["acq_time_bjt"]])


def test_persistence_matches_brute_force(
    series: pd.DataFrame, series_features: pd.DataFrame
) -> None:
    days = _bjt_days(series)
    lat, lon = series.latitude.to_numpy(), series.longitude.to_numpy()
    # the most persistent points plus a random sample
    top = np.argsort(-series_features["persist_days_30"].to_numpy())[:40]
    rng = np.random.default_rng(2)
    idx = np.r_[top, rng.choice(len(series), 150, replace=False)]
    for i in idx:
        near = haversine_km(lat[i], lon[i], lat, lon) <= 1.0
        lag = days[i] - days[near]
        for w in (30, 365):
            expected = len(set(days[near][(lag >= 1) & (lag <= w)]))
            assert series_features[f"persist_days_{w}"].iloc[i] == expected


def test_recurring_source_in_daqing_is_persistent(
    series: pd.DataFrame, series_features: pd.DataFrame
) -> None:
    # 46.76 N 124.96 E: detections on 11 distinct days between 17 Oct and 9 Nov 2022.
    at = (series.latitude.round(2) == 46.76) & (series.longitude.round(2) == 124.96)
    assert at.sum() >= 10
    assert series_features.loc[at, "persist_days_30"].max() >= 10
    # a straw fire day: most points of 29 Oct 2022 were never seen there before
    oct29 = series["acq_time_bjt"].dt.date == dt.date(2022, 10, 29)
    assert (series_features.loc[oct29, "persist_days_30"] == 0).mean() > 0.8


def test_persistence_ignores_same_and_later_days() -> None:
    lat = np.array([47.0, 47.0, 47.0, 47.0])
    lon = np.array([127.0, 127.005, 127.0, 127.0])  # second point ~380 m away
    day = np.array([100, 100, 101, 140])
    out = persistence_counts(lat, lon, day, lat, lon, day, radius_km=1.0)
    assert out[30].tolist() == [0, 0, 1, 0]  # day 140 is 39 days after day 101
    assert out[365].tolist() == [0, 0, 1, 2]


def test_same_pass_neighbours_match_brute_force(
    series: pd.DataFrame, series_features: pd.DataFrame
) -> None:
    t = series["acq_time_utc"]
    lat, lon = series.latitude.to_numpy(), series.longitude.to_numpy()
    rng = np.random.default_rng(3)
    for i in rng.choice(len(series), 150, replace=False):
        same = (series.satellite == series.satellite.iloc[i]) & (
            (t - t.iloc[i]).abs() <= pd.Timedelta(minutes=20)
        )
        d = haversine_km(lat[i], lon[i], lat[same.to_numpy()], lon[same.to_numpy()])
        assert series_features["same_pass_5km"].iloc[i] == (d <= 5.0).sum() - 1


def test_ban_period_uses_beijing_days(context: FeatureContext) -> None:
    base = {
        "latitude": 47.0,
        "longitude": 127.0,
        "scan": 0.4,
        "track": 0.4,
        "bright_t4": 330.0,
        "bright_t5": 280.0,
        "frp": 5.0,
        "confidence_score": 60.0,
        "daynight": "D",
        "instrument": "VIIRS",
        "satellite": "NOAA-20",
    }
    times = pd.to_datetime(
        ["2022-10-29T04:00Z", "2022-12-10T15:30Z", "2022-12-10T16:30Z", "2023-03-09T16:01Z"],
        utc=True,
    )
    pts = pd.DataFrame([{**base, "acq_time_utc": t} for t in times])
    f = build_features(pts, context=context)
    # 16:30 UTC on 10 Dec is 00:30 on 11 Dec in Beijing: after the autumn ban (15 Sep - 10 Dec)
    assert f["in_ban_period"].tolist() == [1.0, 1.0, 0.0, 1.0]
    assert f["day_of_year"].tolist() == [302.0, 344.0, 345.0, 69.0]


def test_user_registry_rows_lines_and_datum(tmp_path: Path) -> None:
    reg = tmp_path / "sites.csv"
    reg.write_text(
        "name,kind,latitude,longitude,radius_km,datum,note\n"
        "七台河焦化厂,coke_oven,45.7712,131.0035,2,gcj02,coke ovens\n"
        "砖厂,kiln,46.1,not-a-number,,,\n"
        "水泥厂,cement,46.5,127.2,,,\n"
        "?,spaceport,46.5,127.2,,,\n",
        encoding="utf-8-sig",
    )
    sites, problems = read_user_registry(reg)
    assert sites["name"].tolist() == ["七台河焦化厂", "水泥厂"]
    assert sites["radius_km"].tolist() == [2.0, 1.0]
    assert [(p.line, p.reason.split(" ")[0]) for p in problems] == [(3, "longitude"), (5, "kind")]
    # GCJ-02 input is moved to WGS-84: a few hundred metres, not more
    shift = haversine_km(
        45.7712, 131.0035, sites.latitude.iloc[:1].to_numpy(), sites.longitude.iloc[:1].to_numpy()
    )
    assert 0.1 < shift[0] < 1.0


def test_user_registry_missing_column_is_refused(tmp_path: Path) -> None:
    reg = tmp_path / "sites.csv"
    reg.write_text("name,lat,lon\nx,46,127\n", encoding="utf-8")
    with pytest.raises(IndustrialRegistryError, match=r"missing column.*kind.*latitude.*longitude"):
        read_user_registry(reg)


def test_user_registry_site_changes_distance(tmp_path: Path, series: pd.DataFrame) -> None:
    row = series.iloc[1000]
    reg = tmp_path / "sites.csv"
    reg.write_text(
        f"name,kind,latitude,longitude\nbrick kiln,kiln,{row.latitude},{row.longitude}\n",
        encoding="utf-8",
    )
    settings = Settings(classify={"industrial_registry_path": reg})
    ctx = FeatureContext.from_settings(settings)
    f = build_features(series.iloc[[1000]], context=ctx)
    assert f["dist_industry_km"].iloc[0] < 0.001
    _, idx = SiteIndex.from_settings(settings).nearest([row.latitude], [row.longitude])
    assert ctx.sites.sites["name"].iloc[idx[0]] == "brick kiln"
