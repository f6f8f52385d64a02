"""The grid file format: four levels, 12-digit codes, datum conversion, synthetic marking."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from firewatch.errors import GridError
from firewatch.spatial.boundaries import load_boundaries
from firewatch.spatial.datum import wgs84_to_gcj02
from firewatch.spatial.grid import GridIndex, load_grid, normalise_code
from tests.grid_support import (
    DEMO,
    REGISTRY_CSV,
    ROOT,
    county_subset,
    demo_layers,
    write_grid,
)


def test_demo_grid_has_four_levels_with_real_townships_and_says_it_is_synthetic() -> None:
    g = load_grid(DEMO)
    assert [len(g.layers[lv]) for lv in ("city", "county", "township")] == [1, 9, 95]
    assert len(g.layers["village"]) > 500
    assert g.synthetic and g.datum == "wgs84"
    assert "合成" in g.metadata["notice"] and "synthetic" in g.metadata["notice"]
    # Real township names and NBS codes, padded to 12 digits.
    town = g.layers["township"].set_index("code")["name"]
    assert town["230302001000"] == "向阳街道"
    assert town["230382100000"] == "密山镇"
    for lv in ("city", "county", "township", "village"):
        assert g.layers[lv]["code"].str.fullmatch(r"\d{12}").all()
    vil = g.layers["village"]
    assert (vil["code"].str[:9] == vil["parent_code"].str[:9]).all()
    assert vil["code"].str[9:].between("201", "299").all()
    assert vil["name"].str.startswith("示例村").all()
    assert vil["synthetic"].all() and not g.layers["county"]["synthetic"].any()


def test_demo_counties_are_the_real_county_boundaries() -> None:
    g = load_grid(DEMO)
    b = load_boundaries(ROOT / "boundaries" / "heilongjiang_counties.gpkg")
    real = b.county.set_index("code").geometry
    for code, geom in zip(g.layers["county"]["code"], g.layers["county"].geometry, strict=True):
        assert shapely.equals_exact(geom.normalize(), real[code[:6]].normalize(), tolerance=1e-9)


def test_codes_in_short_or_excel_form_are_padded(tmp_path: Path) -> None:
    lay = county_subset()
    lay["county"]["code"] = "230302"
    lay["township"]["code"] = lay["township"]["code"].str[:9]
    lay["township"]["parent_code"] = "230302"
    lay["village"]["code"] = lay["village"]["code"] + ".0"
    g = load_grid(write_grid(tmp_path / "g.gpkg", lay))
    assert g.layers["county"]["code"].tolist() == ["230302000000"]
    assert g.layers["township"]["code"].str.fullmatch(r"\d{9}000").all()
    assert g.layers["village"]["code"].str.fullmatch(r"\d{12}").all()
    assert normalise_code("2303") == "230300000000"
    assert normalise_code("23030") is None
    assert normalise_code(None) is None


def test_a_file_without_a_village_layer_is_refused(tmp_path: Path) -> None:
    lay = county_subset()
    del lay["village"]
    with pytest.raises(GridError, match=r"missing layer.*village"):
        load_grid(write_grid(tmp_path / "g.gpkg", lay))


def test_a_cell_without_a_valid_code_is_refused_with_its_feature_number(tmp_path: Path) -> None:
    lay = county_subset()
    lay["village"].loc[lay["village"].index[2], "code"] = "23030X001201"
    with pytest.raises(GridError, match=r"village: features \[3\].*23030X001201"):
        load_grid(write_grid(tmp_path / "g.gpkg", lay))


def test_duplicate_codes_are_refused(tmp_path: Path) -> None:
    lay = county_subset()
    v = lay["village"]
    v.loc[v.index[1], "code"] = v.loc[v.index[0], "code"]
    with pytest.raises(GridError, match="duplicate codes"):
        load_grid(write_grid(tmp_path / "g.gpkg", lay))


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GridError, match="no such grid file"):
        load_grid(tmp_path / "nope.gpkg")
    (tmp_path / "bad.gpkg").write_text("not a geopackage")
    with pytest.raises(GridError, match="not a readable grid file"):
        load_grid(tmp_path / "bad.gpkg")


def _to_gcj02(geoms: np.ndarray) -> np.ndarray:
    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, fn)


def test_a_gcj02_grid_is_converted_to_wgs84(tmp_path: Path) -> None:
    wgs = county_subset()
    gcj = {lv: df.copy() for lv, df in wgs.items()}
    for df in gcj.values():
        df.geometry = _to_gcj02(df.geometry.to_numpy())
    # The GCJ-02 file really is shifted by hundreds of metres in Jixi.
    shift = shapely.hausdorff_distance(
        gcj["village"].geometry.iloc[0], wgs["village"].geometry.iloc[0]
    )
    assert shift > 0.003
    path = write_grid(tmp_path / "gcj.gpkg", gcj, {"datum": "gcj02", "synthetic": "true"})
    g = load_grid(path)
    assert g.datum == "gcj02"
    back = g.layers["village"].geometry.to_numpy()
    dist = shapely.hausdorff_distance(back, wgs["village"].geometry.to_numpy())
    assert float(np.max(dist)) < 1e-7
    # A point near a village border lands in the same village as with the WGS-84 grid.
    wg = load_grid(write_grid(tmp_path / "wgs.gpkg", wgs))
    border = shapely.get_coordinates(wgs["village"].geometry.iloc[0].boundary)[3]
    pts = pd.DataFrame(
        {"longitude": border[0] + np.linspace(-0.002, 0.002, 40), "latitude": border[1] + 1e-5}
    )
    a = GridIndex(g).attribute(pts, footprint=False)["village_code"]
    b = GridIndex(wg).attribute(pts, footprint=False)["village_code"]
    assert a.tolist() == b.tolist()


def test_a_declared_datum_that_contradicts_the_file_is_refused(tmp_path: Path) -> None:
    path = write_grid(tmp_path / "g.gpkg", county_subset(), {"datum": "gcj02"})
    with pytest.raises(GridError, match="metadata says its datum is gcj02, but wgs84"):
        load_grid(path, datum="wgs84")
    path = write_grid(tmp_path / "n.gpkg", county_subset(), {})
    assert load_grid(path, datum="bd09").datum == "bd09"
    with pytest.raises(GridError, match=r"unknown datum .nad27."):
        load_grid(path, datum="nad27")


def test_invalid_geometries_are_repaired_and_reported(tmp_path: Path) -> None:
    lay = county_subset()
    v = lay["village"]
    x0, y0, x1, y1 = v.geometry.iloc[0].bounds
    # A self-intersecting "bow-tie": make_valid splits it; its ring area was not its real area.
    bowtie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)])
    # A zero-width spike on a valid shape: repairing it does not change the area.
    c = v.geometry.iloc[1].representative_point()
    d = 0.002
    spike = shapely.Polygon(
        [
            (c.x - d, c.y - d),
            (c.x + d, c.y - d),
            (c.x + d, c.y),
            (c.x + 3 * d, c.y),
            (c.x + d, c.y),
            (c.x + d, c.y + d),
            (c.x - d, c.y + d),
        ]
    )
    assert not bowtie.is_valid and not spike.is_valid
    v.loc[v.index[0], "geometry"] = bowtie
    v.loc[v.index[1], "geometry"] = spike
    g = load_grid(write_grid(tmp_path / "g.gpkg", lay))
    rep = {r.code: r for r in g.repairs}
    assert set(rep) == {v["code"].iloc[0], v["code"].iloc[1]}
    assert not rep[v["code"].iloc[0]].safe and "Self-intersection" in rep[v["code"].iloc[0]].reason
    assert rep[v["code"].iloc[1]].safe
    assert shapely.is_valid(g.layers["village"].geometry.to_numpy()).all()


def test_the_build_script_reproduces_the_committed_demo_grid(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "build_jixi_demo", ROOT / "grids" / "build_jixi_demo.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "demo.gpkg"
    reg = tmp_path / "chiefs.csv"
    assert mod.main(["--out", str(out), "--registry", str(reg)]) == 0
    new = load_grid(out)
    old = demo_layers()
    for lv in ("township", "village"):
        assert new.layers[lv]["code"].tolist() == old[lv]["code"].tolist()
        same = shapely.equals_exact(
            new.layers[lv].geometry.to_numpy(), old[lv].geometry.to_numpy(), tolerance=0.0
        )
        assert same.all()
    assert reg.read_bytes() == REGISTRY_CSV.read_bytes()
