"""`firewatch grids check` on the real-boundary demo grid and on deliberately broken grids."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from typer.testing import CliRunner

from firewatch.cli import app
from firewatch.spatial.grid import load_grid
from firewatch.spatial.grid_check import GridReport, check_grid
from firewatch.spatial.registry import parse_registry
from tests.grid_support import (
    DEMO,
    REGISTRY_CSV,
    chiefs_for,
    county_subset,
    write_grid,
    write_registry,
)

DAY = dt.date(2022, 10, 29)
UTM = "EPSG:32652"  # UTM zone 52N: an independent metric frame for Jixi


def _check(
    tmp_path: Path,
    layers: dict[str, gpd.GeoDataFrame],
    *,
    rows: list | None = None,
    tolerance_m: float = 50.0,
) -> GridReport:
    grid = load_grid(write_grid(tmp_path / "g.gpkg", layers))
    reg = write_registry(tmp_path / "chiefs.csv", chiefs_for(layers) if rows is None else rows)
    duties = pd.DataFrame([r.__dict__ for r in parse_registry(reg, grid)])
    return check_grid(grid, duties=duties, on=DAY, tolerance_m=tolerance_m)


def _kinds(report: GridReport, code: str | None = None) -> set[str]:
    return {p.kind for p in report.problems if code is None or p.code == code}


def test_the_demo_grid_with_its_registry_passes(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        [
            "--db",
            f"sqlite:///{tmp_path / 'fw.db'}",
            "grids",
            "check",
            "--grid",
            str(DEMO),
            "--registry",
            str(REGISTRY_CSV),
            "--on",
            "2022-10-29",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "OK: no problems found" in res.output
    assert "SYNTHETIC" in res.output


def test_without_a_registry_every_village_lacks_a_chief(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app, ["--db", f"sqlite:///{tmp_path / 'fw.db'}", "grids", "check", "--grid", str(DEMO)]
    )
    assert res.exit_code == 6, res.output
    assert "no field-chief registry" in res.output
    assert "chiefs import" in res.output


def test_a_clean_subset_passes_and_small_misfits_within_tolerance_are_ignored(
    tmp_path: Path,
) -> None:
    lay = county_subset()
    assert _check(tmp_path, lay).problems == []
    # Move one village 10 m east: its slivers of gap/overlap/outside are thinner than 50 m.
    v = lay["village"]
    i = v.index[3]
    v.loc[i, "geometry"] = shapely.affinity.translate(v.loc[i, "geometry"], xoff=0.00013)
    assert _check(tmp_path, lay).problems == []
    # With a 1 m tolerance the same move is reported.
    assert {"gap", "overlap"} <= _kinds(_check(tmp_path, lay, tolerance_m=1.0))


def test_an_unrepairable_bow_tie_blocks_and_is_located(tmp_path: Path) -> None:
    lay = county_subset()
    v = lay["village"]
    x0, y0, x1, y1 = v.geometry.iloc[0].bounds
    v.loc[v.index[0], "geometry"] = shapely.Polygon(
        [(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)]
    )
    rep = _check(tmp_path, lay)
    bad = [p for p in rep.problems if p.kind == "invalid_geometry"]
    assert len(bad) == 1 and bad[0].severity == "blocking"
    assert bad[0].code == v["code"].iloc[0]
    assert "Self-intersection" in bad[0].message and "changed its area" in bad[0].message
    assert x0 <= bad[0].lon <= x1 and y0 <= bad[0].lat <= y1
    assert not rep.ok


def test_a_village_outside_its_township_is_reported_with_its_area(tmp_path: Path) -> None:
    lay = county_subset()
    v, t = lay["village"], lay["township"]
    # A village on the county's edge, moved 2 km outward (east): part of it leaves the county.
    edge = v.geometry.bounds["maxx"].idxmax()
    code = v.loc[edge, "code"]
    moved = shapely.affinity.translate(v.loc[edge, "geometry"], xoff=0.026)
    v.loc[edge, "geometry"] = moved
    rep = _check(tmp_path, lay)
    out = [p for p in rep.problems if p.kind == "outside_parent" and p.code == code]
    assert len(out) == 1 and out[0].severity == "blocking"
    parent = t.loc[t["code"] == v.loc[edge, "parent_code"], "geometry"].iloc[0]
    metric = gpd.GeoSeries([moved, parent], crs=4326).to_crs(UTM)
    outside = metric.iloc[0].difference(metric.iloc[1].buffer(50.0)).area
    assert abs(out[0].area_m2 - outside) / outside < 0.02
    assert "lies outside its parent township" in out[0].message
    assert not shapely.Point(out[0].lon, out[0].lat).within(parent)
    # Where it was is now a gap in its township.
    assert "gap" in _kinds(rep)


def test_a_missing_village_is_a_gap_located_where_it_was(tmp_path: Path) -> None:
    lay = county_subset()
    v = lay["village"]
    gone = v.iloc[5]
    lay["village"] = v.drop(index=v.index[5])
    rows = chiefs_for(lay)
    rep = _check(tmp_path, lay, rows=rows)
    gaps = [p for p in rep.problems if p.kind == "gap"]
    assert len(gaps) == 1
    g = gaps[0]
    assert g.level == "village" and g.code == gone["parent_code"]
    expected = gpd.GeoSeries([gone.geometry], crs=4326).to_crs(UTM).area.iloc[0]
    assert abs(g.area_m2 - expected) / expected < 0.01
    assert shapely.Point(g.lon, g.lat).within(gone.geometry)
    assert "covered by none of its village cells" in g.message
    assert f"{g.lon:.5f}E" in g.line()


def test_overlapping_villages_are_reported(tmp_path: Path) -> None:
    lay = county_subset()
    v = lay["village"]
    code = v["code"].iloc[4]
    before = v.geometry.iloc[4]
    neighbours = set(v.loc[v.geometry.touches(before), "code"])
    assert len(neighbours) >= 2
    v.loc[v.index[4], "geometry"] = before.buffer(0.004)  # grows by ~300-450 m
    rep = _check(tmp_path, lay)
    ov = [p for p in rep.problems if p.kind == "overlap" and code in p.message]
    assert all(p.severity == "blocking" and p.area_m2 > 2500 for p in ov)
    named = {c for p in ov for c in v["code"] if c != code and c in p.message}
    assert neighbours <= named
    for p in ov:  # each located in the ring the village grew into
        assert not shapely.Point(p.lon, p.lat).within(before)
        assert shapely.Point(p.lon, p.lat).within(before.buffer(0.0041))


def test_a_code_that_does_not_match_its_parent_blocks(tmp_path: Path) -> None:
    lay = county_subset()
    v, t = lay["village"], lay["township"]
    other = t["code"].iloc[1]
    i = v.index[v["parent_code"] != other][0]
    code = v.loc[i, "code"]
    v.loc[i, "parent_code"] = other
    rep = _check(tmp_path, lay)
    bad = [p for p in rep.problems if p.kind == "code_mismatch"]
    assert [p.code for p in bad] == [code]
    assert f"does not start with its parent's {other[:9]}" in bad[0].message
    # A parent that does not exist at all.
    v.loc[i, "parent_code"] = "230302999000"
    rep = _check(tmp_path, lay)
    assert "unknown_parent" in _kinds(rep, code)


def test_a_code_of_the_wrong_level_blocks(tmp_path: Path) -> None:
    lay = county_subset()
    v = lay["village"]
    v.loc[v.index[0], "code"] = v["parent_code"].iloc[0][:9] + "000"
    rep = check_grid(load_grid(write_grid(tmp_path / "g.gpkg", lay)), check_chiefs=False)
    assert any(p.kind == "wrong_level" and "denotes a township" in p.message for p in rep.problems)


def test_villages_without_a_chief_on_duty_block(tmp_path: Path) -> None:
    lay = county_subset()
    rows = chiefs_for(lay)
    v = lay["village"]["code"]
    no_one = v.iloc[2]
    left = v.iloc[7]
    rows = [r for r in rows if not (r[0] == no_one and r[2] == "field_chief")]
    for r in rows:  # this one's chief left before the day checked
        if r[0] == left and r[2] == "field_chief":
            r[6] = "2022-10-28"
    rep = _check(tmp_path, lay, rows=rows)
    missing = sorted(p.code for p in rep.problems if p.kind == "no_chief")
    assert missing == sorted([no_one, left])
    assert all(
        "no field chief (田长) on duty on 2022-10-29" in p.message
        for p in rep.problems
        if p.kind == "no_chief"
    )


def test_the_cli_exits_6_and_lists_a_broken_grid(tmp_path: Path) -> None:
    lay = county_subset()
    lay["village"] = lay["village"].drop(index=lay["village"].index[5])
    path = write_grid(tmp_path / "broken.gpkg", lay)
    reg = write_registry(tmp_path / "chiefs.csv", chiefs_for(lay))
    res = CliRunner().invoke(
        app,
        [
            "--db",
            f"sqlite:///{tmp_path / 'fw.db'}",
            "grids",
            "check",
            "--grid",
            str(path),
            "--registry",
            str(reg),
            "--on",
            "2022-10-29",
        ],
    )
    assert res.exit_code == 6, res.output
    assert "BLOCKING gap" in res.output
    assert "km²" in res.output and "around " in res.output
    assert "BLOCKING: 1 blocking problem(s), 0 warning(s)" in res.output
