"""Fire events and FRE: the linking rules and the overpass/diurnal/night assumptions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from firewatch.publish.season.events import event_table, find_events, overpass_ids
from firewatch.publish.season.fre import diurnal_integral_hours, estimate_fre
from firewatch.publish.season.settings import DiurnalCycle, SeasonSettings
from tests.season_data import autumn_2022

KM_PER_DEG_LAT = 6371.0088 * math.pi / 180  # 111.195 km


def _frame(rows: list[tuple[str, float, float, float]], **extra: list) -> pd.DataFrame:
    """Detections from (UTC time, lat, lon, frp); satellite NOAA-20, daytime unless given."""
    t = pd.to_datetime([r[0] for r in rows], utc=True)
    df = pd.DataFrame(
        {
            "acq_time_utc": t,
            "acq_time_bjt": t.tz_convert("Asia/Shanghai"),
            "latitude": [r[1] for r in rows],
            "longitude": [r[2] for r in rows],
            "frp": [r[3] for r in rows],
            "satellite": "NOAA-20",
            "daynight": "D",
        }
    )
    for k, v in extra.items():
        df[k] = v
    return df


def test_detections_within_the_distance_form_one_event() -> None:
    lat, lon = 47.0, 127.0
    rows = [
        ("2022-10-20 04:00", lat, lon, 5.0),
        ("2022-10-20 04:00", lat + 0.9 / KM_PER_DEG_LAT, lon, 5.0),  # 0.9 km north: linked
        ("2022-10-20 04:00", lat + 2.05 / KM_PER_DEG_LAT, lon, 5.0),  # 1.15 km further: apart
    ]
    links = find_events(_frame(rows), distance_km=1.0, gap_days=1)
    assert links.event_id.tolist() == [1, 1, 2]


def test_chains_link_and_days_apart_split() -> None:
    lat, lon = 47.0, 127.0
    step = 0.8 / KM_PER_DEG_LAT
    rows = [
        ("2022-10-20 04:00", lat, lon, 5.0),
        ("2022-10-20 04:00", lat + step, lon, 5.0),
        ("2022-10-20 04:00", lat + 2 * step, lon, 5.0),  # 1.6 km from the first, via the second
        ("2022-10-21 04:10", lat, lon, 5.0),  # next day, same place: same event (gap 1 day)
        ("2022-10-23 04:10", lat, lon, 5.0),  # two days later: a new event
    ]
    links = find_events(_frame(rows), distance_km=1.0, gap_days=1)
    assert links.event_id.tolist() == [1, 1, 1, 1, 2]
    strict = find_events(_frame(rows), distance_km=1.0, gap_days=0)
    assert strict.event_id.tolist() == [1, 1, 1, 2, 3]


def test_overpasses_are_split_by_time_gaps_per_satellite() -> None:
    rows = [
        ("2022-10-20 03:50", 47.0, 127.0, 1.0),
        ("2022-10-20 03:54", 48.0, 128.0, 1.0),  # same pass (granules minutes apart)
        ("2022-10-20 05:30", 47.0, 127.0, 1.0),  # next orbit, ~100 min later
        ("2022-10-20 04:20", 47.0, 127.0, 1.0),  # another satellite
    ]
    df = _frame(rows)
    df.loc[3, "satellite"] = "S-NPP"
    ids = overpass_ids(df, gap_minutes=20)
    assert ids[0] == ids[1]
    assert len({ids[0], ids[2], ids[3]}) == 3


def test_two_overpasses_of_one_fire_are_averaged_not_added() -> None:
    cfg = SeasonSettings()
    lat, lon = 47.0, 127.0
    once = _frame([("2022-10-20 04:00", lat, lon, 10.0)])
    twice = _frame(
        [("2022-10-20 04:00", lat, lon, 10.0), ("2022-10-20 05:40", lat + 0.001, lon, 10.0)]
    )
    e1 = estimate_fre(once, cfg)
    e2 = estimate_fre(twice, cfg)
    assert e2["n_overpasses"].tolist() == [2, 2]
    # the mean of two estimates of the same day's energy
    assert e2["fre_mj"].sum() == pytest.approx(
        (e1["fre_mj"].iloc[0] + estimate_fre(twice.iloc[[1]], cfg)["fre_mj"].iloc[0]) / 2
    )
    # fires 5 km apart seen by different passes are different fires: added
    apart = twice.assign(latitude=[lat, lat + 5 / KM_PER_DEG_LAT])
    assert estimate_fre(apart, cfg)["n_overpasses"].tolist() == [1, 1]


def test_daytime_scaling_follows_the_configured_cycle() -> None:
    # 04:00 UTC at 127.5 E is 12:30 solar: one hour before the peak
    cfg = SeasonSettings(diurnal=DiurnalCycle(peak_hour=13.5, sigma_h=2.0, baseline=0.05))
    e = estimate_fre(_frame([("2022-10-20 04:00", 47.0, 127.5, 10.0)]), cfg)
    integral = 24 * 0.05 + 2.0 * math.sqrt(2 * math.pi)  # 6.2133 h
    shape = 0.05 + math.exp(-(1.0**2) / (2 * 2.0**2))  # 0.9325
    assert diurnal_integral_hours(cfg.diurnal) == pytest.approx(integral, rel=1e-8)
    assert e["hours"].iloc[0] == pytest.approx(integral / shape, rel=1e-8)  # 6.663 h
    assert e["fre_mj"].iloc[0] == pytest.approx(10.0 * 3600 * integral / shape, rel=1e-8)


def test_night_detections_use_the_night_duration_not_the_cycle_tail() -> None:
    cfg = SeasonSettings(night_hours=(0.5, 1.0, 2.0))
    night = _frame([("2022-10-20 17:40", 47.0, 127.0, 6.0)], daynight=["N"])  # 02:08 solar
    e = estimate_fre(night, cfg)
    assert e["fre_mj"].iloc[0] == pytest.approx(6.0 * 3600 * 1.0)
    assert e["fre_mj_low"].iloc[0] == pytest.approx(6.0 * 3600 * 0.5)
    assert e["fre_mj_high"].iloc[0] == pytest.approx(6.0 * 3600 * 2.0)


def test_early_detections_are_capped() -> None:
    # 23:30 UTC the day before = 07:58 solar at 127 E: far down the cycle's tail
    cfg = SeasonSettings(max_hours_per_observation=24.0)
    e = estimate_fre(_frame([("2022-10-19 23:30", 47.0, 127.0, 3.0)]), cfg)
    assert e["fre_mj_high"].iloc[0] <= 3.0 * 3600 * 24.0 + 1e-6


def test_straw_only_counts_energy_of_straw_classes_only() -> None:
    rows = [("2022-10-20 04:00", 47.0, 127.0, 5.0), ("2022-10-20 04:00", 46.0, 125.0, 50.0)]
    df = _frame(rows, fp_class=["straw", "industrial"])
    e = estimate_fre(df, SeasonSettings(), straw_only=True)
    assert e["fre_mj"].iloc[0] > 0
    assert e["fre_mj"].iloc[1] == 0
    assert e["dry_matter_t_high"].iloc[1] == 0


def test_events_of_the_real_series() -> None:
    frame = autumn_2022()
    links = find_events(frame, settings=SeasonSettings())
    ev = event_table(estimate_fre(frame, SeasonSettings(), links=links))
    # every detection is in exactly one event; ids run 1..n in order of first detection
    assert ev["n_detections"].sum() == len(frame)
    assert ev.index.tolist() == list(range(1, len(ev) + 1))
    assert ev["first_utc"].is_monotonic_increasing
    # an event's extent stays compact unless it chains through neighbouring fields
    single = ev.loc[ev["n_detections"] == 1]
    assert (single["lat_min"] == single["lat_max"]).all()
    assert (ev["n_days"] >= 1).all() and (ev["frp_max"] <= ev["frp_sum"] + 1e-9).all()


def test_events_match_a_brute_force_grouping_of_one_real_day() -> None:
    frame = autumn_2022()
    bjt_day = frame["acq_time_bjt"].dt.date.astype(str)
    day = frame.loc[bjt_day == "2022-10-13"].reset_index(drop=True)
    assert len(day) > 100
    # all pairwise great-circle distances (haversine), then components by repeated relabelling
    lat = np.radians(day["latitude"].to_numpy())
    lon = np.radians(day["longitude"].to_numpy())
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    dist_km = 2 * 6371.0088 * np.arcsin(np.sqrt(h))
    label = np.arange(len(day))
    adjacent = dist_km <= 1.0
    while True:
        new = np.array([label[adjacent[i]].min() for i in range(len(day))])
        if (new == label).all():
            break
        label = new
    links = find_events(day, distance_km=1.0, gap_days=0)
    # same partition: a bijection between the two labellings
    pairs = pd.DataFrame({"a": label, "b": links.event_id}).drop_duplicates()
    assert pairs["a"].is_unique and pairs["b"].is_unique
