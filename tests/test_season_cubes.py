"""Season cubes on the real NOAA-20 autumn 2022 series, with a county-day checked by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from firewatch.config import BanPeriod, Settings
from firewatch.errors import ConfigError
from firewatch.publish.season.cubes import (
    build_cubes,
    county_cube,
    grid_cube,
    open_cube,
    save_cube,
    season_window,
)
from tests.season_data import (
    AUTUMN_2022,
    BAIQUAN,
    DAY,
    ROWS,
    autumn_2022,
    hours_by_hand,
    read_files,
)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return autumn_2022()


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="module")
def cubes(frame: pd.DataFrame, settings: Settings):  # type: ignore[no-untyped-def]
    season = season_window(settings, year=2022, season="autumn")
    return build_cubes(frame, season, settings)


def test_season_window_comes_from_the_configured_ban_periods() -> None:
    s = Settings()
    autumn = season_window(s, year=2022, season="autumn")
    assert (autumn.first, autumn.last) == (dt.date(2022, 9, 15), dt.date(2022, 12, 10))
    assert autumn.days == 87
    custom = Settings(
        ban_periods=[
            BanPeriod(name="spring", start="03-16", end="05-15", years=[2023]),
            BanPeriod(name="spring", start="03-10", end="05-15", years=[2022]),
        ]
    )
    assert season_window(custom, year=2023, season="spring").first == dt.date(2023, 3, 16)
    assert season_window(custom, year=2022, season="spring").first == dt.date(2022, 3, 10)
    with pytest.raises(ConfigError, match=r"no ban period named 'autumn' in 2023.*spring"):
        season_window(custom, year=2023, season="autumn")


def test_county_day_counts_frp_fre_and_dry_matter_by_hand(cubes) -> None:  # type: ignore[no-untyped-def]
    cell = cubes.county.sel(county=BAIQUAN, date=DAY)
    assert str(cubes.county["county_name"].sel(county=BAIQUAN).item()) == "拜泉县"
    assert int(cell["fire_count"]) == 4
    # 2.01 + 2.80 + 2.78 + 8.37 = 15.96 MW
    assert float(cell["frp_sum"]) == pytest.approx(15.96, abs=1e-9)

    # Central cycle: peak 13:30 solar, sigma 2 h, baseline 0.05.  Event A was seen once; event
    # B by two overpasses, so each overpass's estimate counts half (their mean, not their sum).
    #   A: 2.01 MW * 3600 s * 7.0701 h          =  51,159 MJ
    #   B: 2.80 * 3600 * 7.0406 / 2             =  35,485 MJ
    #      2.78 * 3600 * 7.0409 / 2             =  35,232 MJ
    #      8.37 * 3600 * 6.0653 / 2             =  91,380 MJ   (05:33 UTC = 13:57 solar)
    #   FRE = 213,257 MJ; dry matter = 213,257 MJ * 0.368 kg/MJ = 78.48 t
    fre = sum(
        p * 3600 * hours_by_hand(h, lon, sigma=2.0, base=0.05) / n for h, _, lon, p, n in ROWS
    )
    assert fre == pytest.approx(213_257, rel=1e-4)
    assert float(cell["fre"]) == pytest.approx(fre, rel=1e-7)
    assert float(cell["dry_matter"]) == pytest.approx(fre * 0.368 / 1000, rel=1e-7)
    assert float(cell["dry_matter"]) == pytest.approx(78.48, abs=0.01)

    # Range: the narrow, baseline-free cycle (sigma 1.5 h) gives the low end near midday, the
    # wide one with night burning (sigma 3 h, baseline 0.1) the high end; with 0.353 and
    # 0.383 kg/MJ (0.368 ± 0.015).
    low = sum(p * 3600 * hours_by_hand(h, lon, sigma=1.5, base=0.0) / n for h, _, lon, p, n in ROWS)
    high = sum(
        p * 3600 * hours_by_hand(h, lon, sigma=3.0, base=0.10) / n for h, _, lon, p, n in ROWS
    )
    assert float(cell["fre_low"]) == pytest.approx(low, rel=1e-7)
    assert float(cell["fre_high"]) == pytest.approx(high, rel=1e-7)
    assert float(cell["dry_matter_low"]) == pytest.approx(low * 0.353 / 1000, rel=1e-7)
    assert float(cell["dry_matter_high"]) == pytest.approx(high * 0.383 / 1000, rel=1e-7)
    assert float(cell["dry_matter_low"]) < 78.48 < float(cell["dry_matter_high"])


def test_grid_cells_of_the_county_day_by_hand(cubes) -> None:  # type: ignore[no-untyped-def]
    g = cubes.grid
    assert g.attrs["resolution_deg"] == 0.05
    # row = floor((lat - 43.3) / 0.05), column = floor((lon - 121.1) / 0.05):
    #   event A: (47.62277 - 43.3) / 0.05 = 86.46 -> 86; (125.86573 - 121.1) / 0.05 = 95.31 -> 95
    #   event B: 91.25, 91.33, 91.28 -> 91;            99.68, 99.64, 99.68 -> 99
    b = g.sel(date=DAY).isel(y=91, x=99)
    a = g.sel(date=DAY).isel(y=86, x=95)
    assert float(b["y"]) == pytest.approx(43.3 + 91.5 * 0.05)  # cell centre 47.875
    assert float(b["x"]) == pytest.approx(121.1 + 99.5 * 0.05)  # cell centre 126.075
    assert int(b["fire_count"]) == 3
    assert float(b["frp_sum"]) == pytest.approx(2.80 + 2.78 + 8.37, abs=1e-4)
    assert int(a["fire_count"]) == 1
    assert float(a["frp_sum"]) == pytest.approx(2.01, abs=1e-5)
    assert float(a["fre"] + b["fre"]) == pytest.approx(213_257, rel=1e-4)


def test_cubes_hold_every_detection_of_the_season(frame, cubes) -> None:  # type: ignore[no-untyped-def]
    province = frame["county_code"].notna()
    assert int(cubes.county["fire_count"].sum()) == int(province.sum())
    assert int(cubes.grid["fire_count"].sum()) == len(frame)
    per_county = frame.loc[province].groupby("county_code").size()
    got = cubes.county["fire_count"].sum("date").to_series()
    assert got[per_county.index].tolist() == per_county.tolist()
    assert cubes.county.attrs["detections_without_county"] == int((~province).sum())


def test_grid_cube_of_the_whole_box_matches_the_published_day_counts() -> None:
    # The series README: 28,285 unique detections; 4,312 on 2022-10-29; 2022-11-19 a true zero
    # and 2022-11-20 missing (both show no overpass with a detection).
    raw = read_files(sorted(AUTUMN_2022.glob("*.csv")))
    s = Settings()
    g = grid_cube(raw, season_window(s, year=2022, season="autumn"), settings=s.season)
    assert int(g["fire_count"].sum()) == 28_285
    assert int(g["detections"].sel(date="2022-10-29")) == 4_312
    assert int(g["fire_count"].sel(date="2022-10-29").sum()) == 4_312
    assert int(g["n_overpasses"].sel(date="2022-10-29")) >= 1
    assert int(g["n_overpasses"].sel(date="2022-11-19")) == 0
    assert int(g["n_overpasses"].sel(date="2022-11-20")) == 0
    assert int(g["fire_count"].sel(date=slice("2022-09-15", "2022-10-03")).sum()) == 0


def test_resolution_is_configurable(frame) -> None:  # type: ignore[no-untyped-def]
    s = Settings(season={"grid_resolution_deg": 0.1})
    season = season_window(s, year=2022, season="autumn")
    g = grid_cube(frame, season, settings=s.season)
    # 14.1 / 0.1 = 141 columns, 10.3 / 0.1 = 103 rows, 87 days
    assert dict(g.sizes) == {"date": 87, "y": 103, "x": 141}
    assert int(g["fire_count"].sum()) == len(frame)


def test_counties_without_fires_appear_as_zeros(frame) -> None:  # type: ignore[no-untyped-def]
    s = Settings()
    season = season_window(s, year=2022, season="autumn")
    counties = pd.DataFrame(
        {
            "county_code": ["230231", "239999"],
            "county_name": ["拜泉县", "无火县"],
            "city_code": ["2302", "2399"],
            "city_name": ["齐齐哈尔市", "测试市"],
        }
    )
    ds = county_cube(frame, season, settings=s.season, counties=counties)
    assert list(ds["county"].values[:2]) == ["230231", "239999"]
    assert int(ds["fire_count"].sel(county="239999").sum()) == 0
    assert ds.sizes["county"] > 2  # counties with detections are added after the given ones


def test_cubes_round_trip_through_netcdf(cubes, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = save_cube(cubes.county, tmp_path / "c" / "autumn_2022_county.nc")
    q = save_cube(cubes.grid, tmp_path / "c" / "autumn_2022_grid.nc")
    assert p.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"  # NetCDF-4 is HDF5
    back = open_cube(p)
    assert back.attrs["season"] == "autumn" and back.attrs["year"] == 2022
    assert back["county_name"].sel(county=BAIQUAN).item() == "拜泉县"
    np.testing.assert_array_equal(back["fire_count"].values, cubes.county["fire_count"].values)
    np.testing.assert_allclose(back["dry_matter"].values, cubes.county["dry_matter"].values)
    grid = open_cube(q)
    assert int(grid["fire_count"].sum()) == int(cubes.grid["fire_count"].sum())
    # written again (a rerun): replaced in place, no temporary files left behind
    save_cube(cubes.county, p)
    assert sorted(f.name for f in p.parent.iterdir()) == [
        "autumn_2022_county.nc",
        "autumn_2022_grid.nc",
    ]


def test_events_table_of_the_county_day(cubes) -> None:  # type: ignore[no-untyped-def]
    det = cubes.detections
    day = det.loc[(det["county_code"] == BAIQUAN) & (det["day"] == DAY)]
    assert day["event_id"].nunique() == 2
    ev = cubes.events.loc[day["event_id"].unique()].sort_values("n_detections")
    assert ev["n_detections"].tolist() == [1, 3]
    assert ev["n_overpasses"].tolist() == [1, 2]
    assert ev["county_name"].tolist() == ["拜泉县", "拜泉县"]
    assert ev["frp_max"].tolist() == [2.01, 8.37]
    assert float(ev["dry_matter_t"].sum()) == pytest.approx(78.48, abs=0.01)
