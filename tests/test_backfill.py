"""Backfill on dask.distributed gives the store the single-process path gives, row for row."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from firewatch.cli import app
from firewatch.config import Settings
from firewatch.errors import FirmsFormatError
from firewatch.pipeline import ingest_file
from firewatch.scale import backfill, plan_blocks, read_dataset
from firewatch.store import connect, repo, upgrade
from tests.conftest import DATA, SAMPLES

FIRMS = DATA / "firms"
FILES = [
    SAMPLES / "MODIS_C61_NRT_hlj_2025-04-23_to_2025-04-24.csv",
    FIRMS / "inbox" / "MODIS_C6_NRT_global_24h_2017-04-27_to_2017-04-28.csv",
    FIRMS
    / "inbox"
    / "MODIS_C6_NRT_global_24h_2017-04-28_to_2017-04-29.csv",  # overlaps the one above
    FIRMS / "inbox" / "VIIRS_SNPP_NRT_global_24h_2019-04-07_to_2019-04-07.txt",  # HH:MM times
    FIRMS / "inbox" / "MODIS_C61_NRT_global_7d_2022-05-28_to_2022-06-04_excel-resaved.csv",  # M/D/Y
    FIRMS / "viirs_noaa20_hlj_autumn2022" / "J1_VIIRS_C2_Russia_Asia_24h_saved_2022-10-29.csv",
    FIRMS / "malformed" / "MODIS_NRT_global_2018-09-22_to_2018-09-23_truncated.csv",
]


def _store(tmp_path: Path, name: str) -> Engine:
    eng = connect(f"sqlite:///{tmp_path / name}")
    upgrade(eng)
    return eng


def _single_process(engine: Engine, settings: Settings, files: list[Path]) -> None:
    for f in files:
        try:
            ingest_file(engine, settings, f)
        except FirmsFormatError:
            raise


def _detections(engine: Engine) -> pd.DataFrame:
    det = repo.load_detections(engine, region=None)
    return det.drop(columns=["run_id"]).sort_values("detection_id").reset_index(drop=True)


def test_blocks_cover_the_file_and_count_lines(tmp_path: Path) -> None:
    f = FIRMS / "viirs_noaa20_hlj_autumn2022" / "J1_VIIRS_C2_Russia_Asia_24h_saved_2022-10-29.csv"
    blocks = plan_blocks(f, blocksize=4096)
    data = f.read_bytes()
    assert len(blocks) > 10
    assert blocks[0].start == data.index(b"\n") + 1
    assert blocks[-1].end == len(data)
    for a, b in itertools.pairwise(blocks):
        assert a.end == b.start
        assert data[a.end - 1 : a.end] == b"\n"
        # Independent line count: the block's first line number is 1 + newlines before it.
        assert b.first_line == data[: b.start].count(b"\n") + 1


def test_dask_backfill_matches_single_process_row_for_row(
    tmp_path: Path, settings: Settings
) -> None:
    single = _store(tmp_path, "single.db")
    _single_process(single, settings, FILES)
    dist = _store(tmp_path, "dask.db")
    report = backfill(
        dist,
        settings,
        FILES,
        dataset=tmp_path / "ds",
        engine_name="dask",
        workers=2,
        blocksize=8192,
    )
    assert report.blocks > len(FILES)  # the files really were split
    a, b = _detections(single), _detections(dist)
    assert len(a) > 1000
    pd.testing.assert_frame_equal(a, b)
    qa = repo.load_quarantine(single)[["origin", "line", "reason"]]
    qb = repo.load_quarantine(dist)[["origin", "line", "reason"]]
    assert len(qa) >= 1
    assert sorted(map(tuple, qa.values.tolist())) == sorted(map(tuple, qb.values.tolist()))
    # The GeoParquet dataset holds every row in the region, readable with dask-geopandas.
    ds = read_dataset(tmp_path / "ds").compute()
    assert ds.crs.to_epsg() == 4326
    assert set(ds["detection_id"]) == set(b["detection_id"])
    # Re-running changes nothing in the store.
    again = backfill(
        dist, settings, FILES, dataset=tmp_path / "ds", engine_name="local", blocksize=8192
    )
    assert again.loaded == 0
    pd.testing.assert_frame_equal(_detections(dist), b)


def test_backfill_cli_local_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    res = CliRunner().invoke(
        app,
        [
            "--db",
            url,
            "backfill",
            str(FILES[0]),
            "--engine",
            "local",
            "--dataset",
            str(tmp_path / "ds"),
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    eng = connect(url)
    n = len(repo.load_detections(eng, region=None))
    assert n > 300
    assert f"{n}" in res.output
