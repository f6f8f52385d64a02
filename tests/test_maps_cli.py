"""``firewatch map`` and the map stage of ``firewatch daily``, on a store holding real FIRMS rows."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from PIL import Image
from sqlalchemy import Engine
from typer.testing import CliRunner

from firewatch.cli import app
from firewatch.config import Settings
from firewatch.pipeline import daily, ingest_file
from firewatch.store import repo
from tests.maps_support import BOUNDARIES, SAMPLE, SPRING_DAY


@pytest.fixture
def store(engine: Engine, settings: Settings) -> Engine:
    ingest_file(engine, settings, SAMPLE)
    return engine


def _invoke(settings: Settings, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--db", settings.database_url, *args], catch_exceptions=False)


def _count_in_title(page: Path) -> int:
    m = re.search(r"(\d+) 个火点 fire points", page.read_text(encoding="utf-8"))
    assert m is not None
    return int(m.group(1))


def test_map_of_a_day_from_the_store(store: Engine, settings: Settings, tmp_path: Path) -> None:
    result = _invoke(settings, "map", "--date", "2025-04-23", "--offline", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    page = tmp_path / "fire_map_2025-04-23.html"
    snippet = tmp_path / "fire_map_2025-04-23.iframe.html"
    assert page.is_file() and snippet.is_file()
    assert 'src="fire_map_2025-04-23.html"' in snippet.read_text(encoding="utf-8")
    stored = repo.load_detections(store, first=SPRING_DAY, last=SPRING_DAY)
    assert _count_in_title(page) == len(stored) > 200
    assert "cdn.jsdelivr" not in page.read_text(encoding="utf-8")


@pytest.mark.browser
def test_map_png_for_a_bulletin(store: Engine, settings: Settings, tmp_path: Path) -> None:
    result = _invoke(settings, "map", "--date", "2025-04-23", "--png", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    png = tmp_path / "fire_map_2025-04-23.png"
    with Image.open(png) as im:
        cfg = settings.map
        assert im.size == (int(cfg.png_width * cfg.png_scale), int(cfg.png_height * cfg.png_scale))


def test_period_map_public_edition(store: Engine, settings: Settings, tmp_path: Path) -> None:
    result = _invoke(
        settings, "map", "--period", "spring", "--year", "2025", "--public", "--out", str(tmp_path)
    )
    assert result.exit_code == 0, result.output
    page = tmp_path / "fire_map_spring_2025_public.html"
    text = page.read_text(encoding="utf-8")
    stored = repo.load_detections(store, first=dt.date(2025, 3, 10), last=dt.date(2025, 5, 15))
    assert _count_in_title(page) == len(stored)
    assert "公开版 Public edition" in text and "2025-03-10 … 2025-05-15" in text
    assert "new FW.TimeSlider(" in text
    assert '"days":["2025-03-10"' in text and '"2025-05-15"]' in text


def test_grid_map_of_a_county(store: Engine, settings: Settings, tmp_path: Path) -> None:
    stored = repo.load_detections(store, first=SPRING_DAY, last=SPRING_DAY)
    code = stored["county_code"].value_counts().index[0]
    out = tmp_path / "grid.html"
    result = _invoke(settings, "map", "--grid", code, "--date", "2025-04-23", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert _count_in_title(out) == int((stored["county_code"] == code).sum())
    name = stored.loc[stored["county_code"] == code, "county_name"].iloc[0]
    assert name in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grid", "239999", "--date", "2025-04-23"], "no county with code 239999"),
        (["--grid", "230882101203", "--date", "2025-04-23"], "village code"),
        (["--period", "summer", "--year", "2025"], "no ban period 'summer'"),
        (["--period", "spring"], "--year"),
        (["--from", "2025-04-01"], "--to"),
        ([], "exactly one of"),
        (["--date", "2025-04-23", "--assets", "zip"], "--assets"),
    ],
)
def test_bad_map_requests_say_what_is_wrong(
    store: Engine, settings: Settings, tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(
        app, ["--db", settings.database_url, "map", *args, "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert not list(tmp_path.glob("*.html"))


def test_daily_writes_the_days_maps(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    # This test is about the map stage: the classifier (10+ s of scikit-learn import and
    # model loading), dispatch and bulletins have their own tests.
    settings.classify.in_daily = False
    settings.review.dispatch_in_daily = False
    settings.bulletin.in_daily = False
    result = daily(
        engine, settings, day=SPRING_DAY, files=[SAMPLE], fetch_api=False, out_dir=tmp_path
    )
    internal, public = result.outputs["map_internal"], result.outputs["map_public"]
    assert internal == tmp_path / "fire_map_2025-04-23.html" and internal.is_file()
    assert public == tmp_path / "fire_map_2025-04-23_public.html" and public.is_file()
    assert result.outputs["map_internal_iframe"].is_file()
    assert (
        _count_in_title(internal)
        == _count_in_title(public)
        == len(repo.load_detections(engine, first=SPRING_DAY, last=SPRING_DAY))
    )
    # Re-running the day rewrites the same files (idempotent), nothing else appears.
    before = sorted(p.name for p in tmp_path.iterdir())
    daily(engine, settings, day=SPRING_DAY, files=[SAMPLE], fetch_api=False, out_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def _demo_grid(path: Path, county: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A small grid file in the grid format: 4 townships x 4 villages cut from a real county.

    Synthetic geometry (a 2 x 2 split of the county, twice), marked so in a metadata table,
    like the Jixi demo grid.
    """
    code = str(county["code"].iloc[0])
    geom = county.geometry.iloc[0]

    def quarters(g):  # type: ignore[no-untyped-def]
        w, s, e, n = g.bounds
        mx, my = (w + e) / 2, (s + n) / 2
        boxes = [(w, s, mx, my), (mx, s, e, my), (w, my, mx, n), (mx, my, e, n)]
        return [g.intersection(shapely.box(*b)) for b in boxes]

    towns, villages = [], []
    for t, tg in enumerate(quarters(geom), start=1):
        tcode = f"{code}{t:03d}000"
        towns.append({"code": tcode, "name": f"试验镇{t}", "parent_code": code, "geometry": tg})
        for v, vg in enumerate(quarters(tg), start=1):
            villages.append(
                {
                    "code": f"{code}{t:03d}{v:03d}",
                    "name": f"试验村{t}-{v}",
                    "parent_code": tcode,
                    "geometry": vg,
                }
            )
    tgdf = gpd.GeoDataFrame(towns, crs=4326).assign(level="township")
    vgdf = gpd.GeoDataFrame(villages, crs=4326).assign(level="village")
    tgdf.to_file(path, layer="township", driver="GPKG")
    vgdf.to_file(path, layer="village", driver="GPKG")
    pyogrio.write_dataframe(
        pd.DataFrame({"key": ["synthetic", "datum"], "value": ["true", "wgs84"]}),
        path,
        layer="metadata",
    )
    return vgdf


def test_grid_map_of_a_township_with_its_villages(
    store: Engine, settings: Settings, tmp_path: Path
) -> None:
    stored = repo.load_detections(store, first=SPRING_DAY, last=SPRING_DAY)
    code = stored["county_code"].value_counts().index[0]
    counties = gpd.read_file(BOUNDARIES, layer="county")
    villages = _demo_grid(tmp_path / "grid.gpkg", counties.loc[counties["code"] == code])
    pts = gpd.GeoDataFrame(
        stored, geometry=gpd.points_from_xy(stored.longitude, stored.latitude), crs=4326
    )
    hits = gpd.sjoin(pts, villages[["code", "parent_code", "geometry"]], predicate="within")
    township = hits["parent_code"].value_counts().index[0]
    expected = int((hits["parent_code"] == township).sum())
    env = {"FIREWATCH_GRIDS_PATH": str(tmp_path / "grid.gpkg")}

    out = tmp_path / "township.html"
    result = CliRunner().invoke(
        app,
        ["--db", settings.database_url, "map", "--grid", township, "--date", "2025-04-23",
         "-o", str(out)],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert _count_in_title(out) == expected > 0
    own = villages.loc[villages["parent_code"] == township, "name"]
    assert all(name in text for name in own)  # its four villages are drawn, named
    others = villages.loc[villages["parent_code"] != township, "name"]
    assert not any(f'"{name}"' in text for name in others)
    assert "合成演示数据" in text  # the synthetic grid is said to be synthetic

    # The daily map draws only the villages where the day's fires are.
    result = CliRunner().invoke(
        app,
        ["--db", settings.database_url, "map", "--date", "2025-04-23", "--out", str(tmp_path)],
        env=env,
    )
    assert result.exit_code == 0, result.output
    daily_text = (tmp_path / "fire_map_2025-04-23.html").read_text(encoding="utf-8")
    with_fire = set(hits["code"])
    for v in villages.itertuples():
        assert (f'"{v.name}"' in daily_text) == (v.code in with_fire), v.name
