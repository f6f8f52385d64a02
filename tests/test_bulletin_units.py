"""Bulletin building blocks: DMS, which points count, weeks and ban periods, coverage rules."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from firewatch.config import BanPeriod, Settings
from firewatch.publish.bulletin.content import period_window, treat_points, week_window
from firewatch.publish.bulletin.coverage import coverage_intervals, intervals_from_origin
from firewatch.publish.bulletin.dms import format_dms
from firewatch.publish.bulletin.i18n import fmt_date, tr
from firewatch.publish.bulletin.settings import BulletinSettings


def test_dms_of_known_positions() -> None:
    # 128.52° = 128° 31′ 12″ exactly; 45.75° = 45° 45′ 00″; the sample's first point by hand:
    # 131.3241° → 0.3241 × 60 = 19.446′ → 0.446 × 60 = 26.76″.
    assert format_dms([128.52, 45.75, 131.3241]) == ["128°31′12.0″", "45°45′00.0″", "131°19′26.8″"]


def test_dms_rounding_carries_into_minutes_and_degrees() -> None:
    # 59.96″ rounds to 60.0″, which must print as the next minute (and here the next degree).
    almost = 46 + 59 / 60 + 59.96 / 3600
    assert format_dms([almost]) == ["47°00′00.0″"]
    assert format_dms([45.0 + 0.999999 / 60]) == ["45°01′00.0″"]


def test_dms_hemispheres_and_missing_values() -> None:
    assert format_dms([-0.5, float("nan")], hemispheres=("E", "W")) == ["0°30′00.0″W", ""]
    assert format_dms([-0.5]) == ["-0°30′00.0″"]


def _points(**cols: list[object]) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {"detection_id": [f"d{i}" for i in range(n)]}
    return pd.DataFrame({**base, **cols})


def test_treatment_rules_verdict_beats_type_beats_model() -> None:
    rules = BulletinSettings(exclude_below=0.1, flag_below=0.5)
    pts = _points(
        fp_class=["straw", "industrial", "industrial", "other_vegetation", "industrial", None],
        p_straw=[0.9, 0.05, 0.3, 0.02, 0.01, None],
        fp_explanation=[
            None,
            "a steel works 300 m away, hot on 40 of 45 days",
            None,
            None,
            None,
            None,
        ],
        verdict=[None, None, None, None, "straw_burning", "nothing_found"],
        fire_type=[0, 0, 0, 2, 0, 0],
    )
    out = treat_points(pts, rules, "zh")
    assert out["treatment"].tolist() == [
        "counted",  # a confident straw fire
        "excluded",  # the model is sure it is industrial: excluded, with its explanation
        "flagged",  # industrial but unsure: counted, listed as doubtful
        "excluded",  # FIRMS type 2 (static land source) even before the model
        "counted",  # a grid member confirmed straw burning: the model is overruled
        "excluded",  # a grid member found nothing on site
    ]
    assert out.loc[1, "reason"] == "a steel works 300 m away, hot on 40 of 45 days"
    assert "type 2" in out.loc[3, "reason"]
    assert out.loc[5, "reason"] == "现场核查：现场未发现火情"
    assert "0.30" in out.loc[2, "reason"]


def test_treatment_without_any_area_counts_everything() -> None:
    pts = _points(fire_type=pd.array([pd.NA, pd.NA], dtype="Int8"))
    out = treat_points(pts, BulletinSettings())
    assert out["treatment"].tolist() == ["counted", "counted"]
    assert out["reason"].isna().all()


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValueError, match="exclude_below"):
        BulletinSettings(exclude_below=0.6, flag_below=0.5)
    with pytest.raises(ValueError, match="format"):
        BulletinSettings(formats=["html", "odt"])


def test_week_is_monday_to_sunday() -> None:
    assert week_window(dt.date(2022, 10, 29)) == (dt.date(2022, 10, 24), dt.date(2022, 10, 30))
    assert week_window(dt.date(2022, 10, 24)) == (dt.date(2022, 10, 24), dt.date(2022, 10, 30))


def test_ban_period_window_comes_from_settings() -> None:
    settings = Settings(
        ban_periods=[
            BanPeriod(name="spring", start="03-10", end="05-15"),
            BanPeriod(name="autumn", start="09-15", end="12-10", years=[2022]),
        ]
    )
    assert period_window(settings, "spring", 2025) == (dt.date(2025, 3, 10), dt.date(2025, 5, 15))
    assert period_window(settings, "autumn", 2022) == (dt.date(2022, 9, 15), dt.date(2022, 12, 10))
    with pytest.raises(ValueError, match="autumn"):
        period_window(settings, "autumn", 2023)  # configured for 2022 only


def test_api_request_covers_the_days_it_asked_for() -> None:
    url = (
        "https://firms.modaps.eosdis.nasa.gov/api/area/csv/********/VIIRS_NOAA20_NRT/"
        "121.0,43.2,135.3,53.7/2/2022-11-18"
    )
    iv = intervals_from_origin(url, has_rows=True)
    assert iv["basis"].tolist() == ["request"]
    assert iv["product"].tolist() == ["VIIRS_NOAA20_NRT"]
    assert iv["start_utc"][0] == pd.Timestamp("2022-11-18", tz="UTC")
    assert iv["end_utc"][0] == pd.Timestamp("2022-11-20", tz="UTC")


def test_file_with_rows_covers_first_to_last_acquisition_not_its_name() -> None:
    frame = pd.DataFrame(
        {
            "product": ["MODIS_NRT", "MODIS_NRT", "MODIS_NRT"],
            "acq_time_utc": pd.to_datetime(
                ["2019-04-06 00:15", "2019-04-06 13:05", "2019-04-06 04:40"], utc=True
            ),
        }
    )
    iv = coverage_intervals(frame, origin="MODIS_C6_NRT_global_24h_2019-04-06_to_2019-04-06.txt")
    assert iv["basis"].tolist() == ["detections"]
    assert iv["start_utc"][0] == pd.Timestamp("2019-04-06 00:15", tz="UTC")
    assert iv["end_utc"][0] == pd.Timestamp("2019-04-06 13:06", tz="UTC")
    assert iv["rows"].tolist() == [3]


def test_empty_or_refused_file_covers_the_days_in_its_name() -> None:
    iv = intervals_from_origin(
        "MODIS_C61_NRT_global_24h_2025-04-23_to_2025-04-24.csv", has_rows=False
    )
    assert (iv["start_utc"][0], iv["end_utc"][0]) == (
        pd.Timestamp("2025-04-23", tz="UTC"),
        pd.Timestamp("2025-04-25", tz="UTC"),
    )
    assert intervals_from_origin("notes.csv", has_rows=False).empty


def test_wording_in_both_languages() -> None:
    assert fmt_date(dt.date(2025, 4, 23), "zh") == "2025年4月23日"
    assert fmt_date(dt.date(2025, 4, 23), "en") == "23 April 2025"
    assert tr("zh", "total") == "合计"
    with pytest.raises(ValueError, match="language"):
        tr("fr", "total")
