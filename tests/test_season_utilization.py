"""Straw produced, collectable and burned; the utilization rate the satellite allows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from firewatch.config import PROJECT_ROOT, Settings
from firewatch.publish.season.cubes import county_cube, season_window
from firewatch.publish.season.settings import SeasonSettings
from firewatch.publish.season.utilization import (
    CropStatsError,
    burned_by_county,
    read_crop_statistics,
    read_reported_rates,
    straw_resources,
    utilization_report,
)
from tests.season_data import BAIQUAN, ROWS, autumn_2022, hours_by_hand

CROPS = PROJECT_ROOT / "firewatch" / "data" / "crops"
HEADER = "year,county_code,county_name,crop,sown_area_ha,yield_t_per_ha,source\n"


def _csv(tmp_path: Path, text: str, name: str = "crops.csv", encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_the_example_files_load_and_say_they_are_illustrative() -> None:
    crops = read_crop_statistics(CROPS / "example_crop_statistics.csv")
    assert crops.quarantined == []
    assert len(crops.frame) == 16
    assert set(crops.frame["crop"]) == {"corn", "soybean", "rice"}
    assert crops.frame["source"].str.contains("ILLUSTRATIVE").all()
    corn = crops.frame.query("county_code == '230231' and crop == 'corn'").iloc[0]
    assert corn["production_t"] == 120_000 * 8.0  # 960,000 t of grain
    reported = read_reported_rates(CROPS / "example_reported_utilization.csv")
    assert len(reported.frame) == 6
    assert reported.frame.set_index("county_code").loc[BAIQUAN, "reported_utilization"] == 0.96
    text = (CROPS / "example_crop_statistics.csv").read_text(encoding="utf-8")
    assert text.startswith("# ILLUSTRATIVE EXAMPLE - NOT OFFICIAL STATISTICS.")


def test_bad_rows_are_quarantined_with_their_line_and_the_rest_loads(tmp_path: Path) -> None:
    text = (
        "# a comment line\n"
        + HEADER
        + "2022,230231,拜泉县,玉米,1000,8.0,a\n"  # line 3: ok (Chinese crop name)
        + "20x2,230231,拜泉县,rice,10,7.0,a\n"  # line 4: year
        + "2022,230231,拜泉县,cotton,10,1.0,a\n"  # line 5: no coefficients
        + "2022,230231,拜泉县,soybean,-5,2.0,a\n"  # line 6: negative area
        + "2022,230231,拜泉县,rice,10,450,a\n"  # line 7: kg/mu in a t/ha column
        + "2022,23023,拜泉县,rice,10,7.0,a\n"  # line 8: 5-digit code
        + "2022,230231,拜泉县,corn,5,8.0,a\n"  # line 9: repeats line 3 (corn)
        + '2022,230231,拜泉县,大豆,"1,200",2.0,a\n'  # line 10: ok, thousands separator
    )
    read = read_crop_statistics(_csv(tmp_path, text, encoding="gb18030"))
    got = {q.line: q.reason for q in read.quarantined}
    assert sorted(got) == [4, 5, 6, 7, 8, 9]
    assert "year" in got[4] and "cotton" not in got[5] and "coefficients" in got[5]
    assert "sown_area_ha" in got[6] and "yield" in got[7] and "6-digit" in got[8]
    assert "repeats" in got[9]
    assert all(q.origin == "crops.csv" for q in read.quarantined)
    assert read.frame[["crop", "sown_area_ha", "line"]].values.tolist() == [
        ["corn", 1000.0, 3],
        ["soybean", 1200.0, 10],
    ]


def test_a_file_without_the_required_columns_is_refused(tmp_path: Path) -> None:
    p = _csv(tmp_path, "year,county,crop,area\n2022,230231,corn,10\n")
    with pytest.raises(CropStatsError, match=r"crops.csv: missing column\(s\) county_code"):
        read_crop_statistics(p)
    with pytest.raises(CropStatsError, match="no header"):
        read_crop_statistics(_csv(tmp_path, "# only a comment\n\n", name="empty.csv"))
    with pytest.raises(CropStatsError, match="no usable row"):
        read_crop_statistics(_csv(tmp_path, HEADER + "x,y,z,corn,1,1,\n", name="bad.csv"))
    with pytest.raises(CropStatsError, match="file not found"):
        read_crop_statistics(tmp_path / "nope.csv")


def test_coefficient_caps_of_the_ledger_are_enforced() -> None:
    with pytest.raises(ValidationError, match=r"capped at 3\.0"):
        SeasonSettings(crops={"corn": {"straw_to_grain": (1.0, 2.0, 3.5)}})
    with pytest.raises(ValidationError, match=r"capped at 2\.5"):
        SeasonSettings(crops={"水稻": {"straw_to_grain": (1.0, 2.0, 2.6)}})
    with pytest.raises(ValidationError, match="collectable"):
        SeasonSettings(
            crops={"corn": {"straw_to_grain": (1, 1, 1), "collectable": (0.8, 0.9, 1.2)}}
        )
    ok = SeasonSettings(crops={"玉米": {"straw_to_grain": (1.0, 1.1, 3.0)}})
    assert ok.crops["corn"].straw_to_grain == (1.0, 1.1, 3.0)
    assert ok.crops["corn"].collectable == (0.77, 0.79, 0.81)  # literature 0.77-0.81


def test_straw_resources_by_hand() -> None:
    crops = read_crop_statistics(CROPS / "example_crop_statistics.csv").frame
    res = straw_resources(crops, SeasonSettings()).loc[(2022, BAIQUAN)]
    # grain: corn 120,000 ha * 8.0 = 960,000 t; soybean 60,000 * 2.2 = 132,000 t;
    #        rice 2,000 * 7.0 = 14,000 t
    assert res["grain_t"] == pytest.approx(1_106_000)
    # straw, default ratios corn (0.84, 1.0, 1.2), soybean (1.2, 1.5, 1.7), rice (0.9, 1.0, 1.1):
    #   central 960,000 + 198,000 + 14,000 = 1,172,000 t
    #   low     806,400 + 158,400 + 12,600 =   977,400 t
    #   high  1,152,000 + 224,400 + 15,400 = 1,391,800 t
    assert res["straw_produced_t"] == pytest.approx(1_172_000)
    assert res["straw_produced_t_low"] == pytest.approx(977_400)
    assert res["straw_produced_t_high"] == pytest.approx(1_391_800)
    # collectable: x 0.79 (0.77, 0.81)
    assert res["collectable_t"] == pytest.approx(1_172_000 * 0.79)
    assert res["collectable_t_low"] == pytest.approx(977_400 * 0.77)
    assert res["collectable_t_high"] == pytest.approx(1_391_800 * 0.81)
    assert "ILLUSTRATIVE" in res["crop_source"]


@pytest.fixture(scope="module")
def county_day_cube():  # type: ignore[no-untyped-def]
    """The county cube of 拜泉县 on 2022-10-07 alone (its four real detections)."""
    frame = autumn_2022()
    day = frame.loc[
        (frame["county_code"] == BAIQUAN)
        & (frame["acq_time_bjt"].dt.strftime("%Y-%m-%d") == "2022-10-07")
    ]
    s = Settings()
    return county_cube(day, season_window(s, year=2022, season="autumn"), settings=s.season)


def test_utilization_of_the_county_day_by_hand(tmp_path: Path, county_day_cube) -> None:  # type: ignore[no-untyped-def]
    crops = read_crop_statistics(
        _csv(tmp_path, HEADER + "2022,230231,拜泉县,corn,1000,8.0,test\n")
    ).frame
    rep = read_reported_rates(
        _csv(
            tmp_path,
            "year,county_code,reported_utilization_pct\n2022,230231,99.5\n",
            name="rep.csv",
        )
    ).frame
    cfg = SeasonSettings()
    report = utilization_report(
        straw_resources(crops, cfg), burned_by_county(county_day_cube), rep, year=2022
    ).loc[BAIQUAN]

    # burned dry matter of the four detections (see test_season_cubes): 78.48 t, and its ends
    fre = sum(
        p * 3600 * hours_by_hand(h, lon, sigma=2.0, base=0.05) / n for h, _, lon, p, n in ROWS
    )
    low = sum(p * 3600 * hours_by_hand(h, lon, sigma=1.5, base=0.0) / n for h, _, lon, p, n in ROWS)
    high = sum(
        p * 3600 * hours_by_hand(h, lon, sigma=3.0, base=0.1) / n for h, _, lon, p, n in ROWS
    )
    burned, burned_lo, burned_hi = fre * 0.368e-3, low * 0.353e-3, high * 0.383e-3
    assert report["burned_dm_t"] == pytest.approx(burned)
    assert report["fire_count"] == 4

    # straw: 1,000 ha * 8 t/ha = 8,000 t grain; x (0.84, 1.0, 1.2) = 6,720 / 8,000 / 9,600 t;
    # collectable x (0.77, 0.79, 0.81) = 5,174.4 / 6,320 / 7,776 t; dry matter at 15 % moisture
    # x 0.85 = 4,398.24 / 5,372 / 6,609.6 t
    share = burned / 5_372.0  # 78.48 / 5,372 = 1.461 %
    assert report["burned_share"] == pytest.approx(share)
    assert report["burned_share"] == pytest.approx(0.01461, abs=1e-5)
    assert report["burned_share_low"] == pytest.approx(burned_lo / 6_609.6)
    assert report["burned_share_high"] == pytest.approx(burned_hi / 4_398.24)
    assert report["max_utilization"] == pytest.approx(1 - share)  # 98.54 %
    assert report["max_utilization_high"] == pytest.approx(1 - burned_lo / 6_609.6)
    # the reported 99.5 % is above even the most generous bound (about 99.2 %)
    assert report["max_utilization_high"] < 0.995
    assert report["verdict"] == "reported rate above what the burned straw allows"
    assert report["target"] == 0.95


def test_verdicts_against_the_target(tmp_path: Path, county_day_cube) -> None:  # type: ignore[no-untyped-def]
    cfg = SeasonSettings()
    burned = burned_by_county(county_day_cube)

    def verdict(area_ha: float) -> str:
        crops = read_crop_statistics(
            _csv(tmp_path, HEADER + f"2022,230231,拜泉县,corn,{area_ha},8.0,test\n")
        ).frame
        return str(
            utilization_report(straw_resources(crops, cfg), burned, year=2022).loc[
                BAIQUAN, "verdict"
            ]
        )

    # 1,000 ha: at most 2.7 % burned even at the high end: no contradiction with 95 %
    assert verdict(1000) == "no contradiction with the target"
    # 50 ha (268.6 t collectable dry matter): 78.48 t is 29 %: 95 % is out of reach
    assert verdict(50) == "target out of reach even at the low burned estimate"
    # 400 ha: burned 52.8-116.9 t of 1,759-2,644 t collectable dry matter (low end x 0.84 x 0.77,
    # high end x 1.2 x 0.81, x 0.85 dry): 2.0-6.6 % burned, so 95 % is possible but not assured
    assert verdict(400) == "target at risk within the range"


def test_report_of_the_real_season_with_the_example_statistics() -> None:
    s = Settings()
    season = season_window(s, year=2022, season="autumn")
    cube = county_cube(autumn_2022(), season, settings=s.season)
    crops = read_crop_statistics(CROPS / "example_crop_statistics.csv").frame
    rep = read_reported_rates(CROPS / "example_reported_utilization.csv").frame
    report = utilization_report(
        straw_resources(crops, s.season), burned_by_county(cube), rep, year=2022
    )
    with_stats = report.loc[report["crops"].notna()]
    assert sorted(with_stats.index) == sorted(set(crops["county_code"]))
    assert (with_stats["crop_source"].str.contains("ILLUSTRATIVE")).all()
    assert (with_stats["burned_share_low"] <= with_stats["burned_share"]).all()
    assert (with_stats["burned_share"] <= with_stats["burned_share_high"]).all()
    assert (with_stats["reported_utilization"] > 0.95).all()
    assert report.loc[BAIQUAN, "fire_count"] == int(cube["fire_count"].sel(county=BAIQUAN).sum())
    others = report.loc[report["crops"].isna()]
    assert len(others) > 0 and (others["verdict"] == "no crop statistics").all()
    assert (report["seasons"] == "autumn 2022").all()
    assert isinstance(report, pd.DataFrame)
