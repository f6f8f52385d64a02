"""Season against season and year against year, per county, on real FIRMS files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from firewatch.config import BanPeriod, Settings
from firewatch.publish.season.compare import (
    compare_seasons,
    daily_counts,
    plot_daily,
    season_totals,
    write_comparison,
)
from firewatch.publish.season.cubes import county_cube, season_window
from tests.season_data import (
    AUTUMN_2020,
    INBOX,
    SPRING_2017,
    SPRING_2019,
    attributed,
    autumn_2022,
)


def _cube(files: list[Path], year: int, season: str, settings: Settings | None = None):  # type: ignore[no-untyped-def]
    s = settings or Settings()
    frame = attributed(files)
    return county_cube(frame, season_window(s, year=year, season=season), settings=s.season)


def _direct_counts(files: list[Path]) -> pd.Series:
    """Detections per county counted straight from the attributed rows."""
    f = attributed(files)
    return f.loc[f["county_code"].notna()].groupby("county_code").size()


def test_year_on_year_per_county_matches_direct_counts() -> None:
    a = _cube(SPRING_2017, 2017, "spring")
    b = _cube(SPRING_2019, 2019, "spring")
    cmp = compare_seasons(a, b)
    assert (cmp.label_a, cmp.label_b, cmp.kind) == ("spring 2017", "spring 2019", "year vs year")
    assert cmp.comparable  # MODIS on Terra and Aqua both years
    t = cmp.table
    c17, c19 = _direct_counts(SPRING_2017), _direct_counts(SPRING_2019)
    assert t.loc["total", "count_a"] == c17.sum() == 232
    assert t.loc["total", "count_b"] == c19.sum() == 48
    body = t.drop(index="total")
    assert body["count_a"].reindex(c17.index).tolist() == c17.tolist()
    assert body["count_b"].reindex(c19.index).tolist() == c19.tolist()
    assert (body["change"] == body["count_b"] - body["count_a"]).all()
    k = body.index[body["count_a"] > 0][0]
    assert body.loc[k, "change_pct"] == pytest.approx(
        100 * (body.loc[k, "count_b"] - body.loc[k, "count_a"]) / body.loc[k, "count_a"]
    )
    assert np.isnan(body.loc[body["count_a"] == 0, "change_pct"]).all()
    # 2017: detections on 5 Beijing days (04-27 ... 05-02 minus 04-30); 2019: 2 days
    assert any("data on 5 of 67 days vs 2 of 67 days" in n for n in cmp.notes)
    assert t.loc["total", "per_day_a"] == pytest.approx(232 / 5)
    assert t.loc["total", "per_day_b"] == pytest.approx(48 / 2)


def test_different_sensors_are_flagged_not_compared_silently() -> None:
    s = Settings()
    a = _cube(AUTUMN_2020, 2020, "autumn")
    b = county_cube(autumn_2022(), season_window(s, year=2022, season="autumn"), settings=s.season)
    cmp = compare_seasons(a, b)
    assert cmp.kind == "year vs year"
    assert not cmp.comparable
    assert any(
        n.startswith("different sensors (MODIS on Aqua, Terra vs VIIRS on NOAA-20)")
        for n in cmp.notes
    )


def test_season_against_season_in_one_year() -> None:
    # a custom "winter" window as a second season of 2019 (the 2019-02-21 MODIS file)
    s = Settings(
        ban_periods=[
            BanPeriod(name="winter", start="01-15", end="03-09"),
            BanPeriod(name="spring", start="03-10", end="05-15"),
        ]
    )
    winter = _cube(
        [INBOX / "MODIS_C6_NRT_global_24h_2019-02-21_to_2019-02-21.txt"], 2019, "winter", s
    )
    spring = _cube(SPRING_2019, 2019, "spring", s)
    cmp = compare_seasons(winter, spring)
    assert cmp.kind == "season vs season"
    assert cmp.table.loc["total", "count_a"] == 34
    assert cmp.table.loc["total", "count_b"] == 48
    assert any("windows differ in length (54 vs 67 days)" in n for n in cmp.notes)


def test_totals_and_daily_series_leave_days_without_data_blank() -> None:
    b = _cube(SPRING_2019, 2019, "spring")
    totals = season_totals(b)
    assert totals["fire_count"].sum() == 48
    daily = daily_counts(b)
    assert daily.notna().sum() == 2  # 2019-04-05 and 04-06 only
    assert daily.loc["2019-04-05"] + daily.loc["2019-04-06"] == 48


def test_tables_and_charts_are_written(tmp_path: Path) -> None:
    a = _cube(SPRING_2017, 2017, "spring")
    b = _cube(SPRING_2019, 2019, "spring")
    cmp = compare_seasons(a, b)
    out = write_comparison(cmp, tmp_path, stem="spring_2019_vs_2017")
    table = pd.read_csv(out["table"], encoding="utf-8-sig", dtype={"county_code": str})
    assert table["county_code"].iloc[-1] == "total"
    assert table["count_a"].iloc[-1] == 232
    assert out["table"].read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel shows 中文
    png = imread(out["chart"])
    assert png.shape[0] > 200 and png.shape[1] > 600
    assert png[..., :3].std() > 0.05  # not a blank image: bars and labels were drawn
    daily = plot_daily([a, b], tmp_path / "daily.png")
    assert imread(daily)[..., :3].std() > 0.05
